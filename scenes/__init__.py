"""Scene plugins. Each folder holds an arena MJCF and its :class:`workbench.task.Task`."""
