"""Exchange with standard robot-learning dataset formats.

* LeRobot dataset v3.0 (Parquet + MP4): :mod:`workbench.data.formats.lerobot`
* robomimic HDF5: :mod:`workbench.data.formats.robomimic`

Both carry what the formats have no place for (goals, preferences, the workbench's episode
metadata and initial states) in a JSON sidecar: :mod:`workbench.data.formats.sidecar`.
"""
