"""Robot plugins. Each folder holds one robot's :class:`workbench.robot.Robot`; its MJCF is under
assets/robots/ (or, for the dm_control bodies, in the installed dm_control)."""
