"""Scene plugins. Each folder holds a :class:`workbench.task.Task`; its arena MJCF is under
assets/scenes/<scene>/."""
