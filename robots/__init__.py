"""Robot plugins. Each folder holds one robot's MJCF and its :class:`workbench.robot.Robot`."""
