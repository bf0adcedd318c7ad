"""The robotics reward-learning workbench: the Qt-free core.

Importing ``workbench`` registers every installed scene with gymnasium as
``workbench/<Scene>-v0``. Registration is lazy: scene modules are imported only when an env is
made, so this import stays cheap.

Example:
    >>> import gymnasium as gym, workbench
    >>> env = gym.make("workbench/Push-v0")
"""

import os
import sys

# MuJoCo picks its GL backend when it is first imported. EGL renders offscreen with or without a
# screen (through Mesa on a CPU-only machine), so it is the default; set MUJOCO_GL to override.
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])

__version__ = "0.1.0"

from workbench.envs.registration import register_envs  # noqa: E402

register_envs()

__all__ = ["__version__", "register_envs"]
