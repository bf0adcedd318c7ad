"""Compose one MuJoCo model from a scene's arena and a robot with ``mujoco.MjSpec``.

The robot's MJCF is attached at a site of the arena (its mount) under a name prefix, so robot and
scene authors write plain standalone MJCF files and never edit each other's.
"""

from __future__ import annotations

from pathlib import Path

import mujoco


class CompositionError(ValueError):
    pass


def load_spec(path: str | Path) -> mujoco.MjSpec:
    path = Path(path)
    if not path.is_file():
        raise CompositionError(f"MJCF file not found: {path}")
    try:
        return mujoco.MjSpec.from_file(str(path))
    except Exception as exc:  # mujoco raises ValueError with the parser's message
        raise CompositionError(f"cannot parse MJCF {path}: {exc}") from exc


def compose(
    arena: mujoco.MjSpec, robot: mujoco.MjSpec, mount: str = "robot_mount", prefix: str = "robot/",
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> mujoco.MjSpec:
    """Attach ``robot`` to the site ``mount`` of ``arena``, moved by ``offset``; every robot
    name gets ``prefix``.

    Example:
        >>> spec = compose(load_spec("assets/scenes/push/arena.xml"),
        ...                load_spec("assets/robots/arm/arm6.xml"))
        >>> model = spec.compile()
    """
    site = arena.site(mount)
    if site is None:
        names = [s.name for s in arena.sites]
        raise CompositionError(
            f"the arena has no site {mount!r} to mount the robot on; add "
            f'<site name="{mount}" pos="..."/> to its worldbody (sites: {names})'
        )
    # The arena owns the physics options and the render range: say so before MjSpec's attach
    # warns that the two files disagree.
    robot.option.timestep = arena.option.timestep
    robot.visual.map.znear = arena.visual.map.znear
    robot.visual.map.zfar = arena.visual.map.zfar
    site.pos = [p + o for p, o in zip(site.pos, offset, strict=True)]
    arena.attach(robot, prefix=prefix, site=site)
    return arena


def compile_spec(spec: mujoco.MjSpec) -> mujoco.MjModel:
    try:
        return spec.compile()
    except Exception as exc:
        raise CompositionError(f"the composed model does not compile: {exc}") from exc
