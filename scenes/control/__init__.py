"""dm_control's classic control tasks as workbench scenes: the cart-pole, acrobot, pendulum,
reacher, finger and point mass, each as the suite defines it.

The domain's MJCF is the arena, loaded from the installed dm_control package (its world, its
cameras, its names), and a suite task object reads and starts it through a dm_control
``Physics`` that shares the env's ``MjData``: its observations are the scene's features, its
``initialize_episode`` draws each start (seeded from the episode's seed) and its reward is the
ground truth, so a scene's reference return is the suite's episode return. The suite has no
success notion: its rewards are bounded shaped terms in [0, 1], and success (the one stage,
``plateau``) is a reward on its upper plateau, as in ``workbench.envs.dm_control_adapter``.
The suite draws its own variations: ``difficulty`` changes nothing here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np

from workbench.envs.dm_control_adapter import SUCCESS_REWARD
from workbench.robot import Robot
from workbench.sim.physics import Physics
from workbench.task import Task, Vocabulary


class SuiteControlTask(Task):
    tags = ("control", "dm_control")
    robot = "suite_domain"
    default_control_mode = "joint_torque"
    episode_steps = 1000  # the suite's: 10 s of the cart-pole and acrobot, 20 s of the rest
    reference_weights = {"reward": 1.0}
    stage_names = ("plateau",)
    # SB3's defaults' shape: one env of 2,048 steps an update, in 32 minibatches of 64 (PPO's
    # defaults: 8 envs of 128 in 4). On CartpoleSwingup's tuning seeds 100-103, 500k steps:
    # 819-864 and 500 within 100-225k steps, where 8 envs of 256 in 32 minibatches ended at
    # 467-863 and took 176-450k (docs/BENCHMARKS.md).
    ppo_options = {"num_envs": 1, "rollout_steps": 2048, "minibatches": 32}
    domain: ClassVar[str]  # dm_control.suite's module
    suite_task: ClassVar[str]  # the task's name in suite.load

    def arena_spec(self, robot: Robot) -> mujoco.MjSpec:
        from dm_control import suite

        xml, includes = getattr(suite, self.domain).get_model_and_assets()
        spec = mujoco.MjSpec.from_string(xml.decode(), include=includes)
        spec.worldbody.add_site(name="robot_mount")  # the empty robot attaches here
        return spec

    def bind(self, physics: Physics, robot: Robot) -> None:
        from dm_control import suite
        from dm_control.mujoco import wrapper

        # The task object of a suite env; the env's own physics is dropped, and the task reads
        # this scene's MjData through a domain Physics of its own (the same memory).
        self._task = suite.load(self.domain, self.suite_task).task
        domain_physics = getattr(suite, self.domain).Physics
        self._physics = domain_physics(wrapper.MjData(physics.data))
        self._features = {name: int(np.size(value)) for name, value
                          in self._task.get_observation(self._physics).items()}

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        # The suite task draws from its own RandomState: seeded from the episode's generator,
        # so a reset seed replays the same start.
        self._task._random = np.random.RandomState(int(rng.integers(2**32)))
        with self._physics.reset_context():
            self._task.initialize_episode(self._physics)

    def features(self) -> dict[str, int]:
        return dict(self._features)

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {name: np.ravel(value) for name, value
                in self._task.get_observation(self._physics).items()}

    def after_step(self, physics: Physics) -> None:
        self._task.after_step(self._physics)

    def should_terminate(self, physics: Physics) -> bool:
        return self._task.get_termination(self._physics) is not None

    def evaluate(self, physics: Physics) -> dict[str, Any]:
        reward = float(self._task.get_reward(self._physics))
        plateau = reward >= SUCCESS_REWARD
        return {"success": plateau, "progress": reward, "stages": {"plateau": plateau},
                "terms": {"reward": reward}}


def words(noun: str, *synonyms: str, relations: tuple[str, ...]) -> Vocabulary:
    return Vocabulary(objects={noun: (noun, *synonyms)}, relations=relations)


CART_POLE_NOTES = {
    "position": "the cart's position along its rail (m; 0 in the middle), then the cosine and "
                "sine of the pole's angle from upright",
    "velocity": "the cart's velocity (m/s), then the pole's angular velocity (rad/s)",
}


class CartpoleBalanceTask(SuiteControlTask):
    name = "CartpoleBalance"
    domain, suite_task = "cartpole", "balance"
    description = "keep the pole upright by moving the cart"
    control_dt = 0.01
    cameras = ("fixed", "lookatcart")
    viewer = {"lookat": (0.0, 0.0, 1.0), "distance": 4.5, "azimuth": 90, "elevation": -5}
    vocabulary = words("pole", "stick", "cart", relations=("balance", "upright", "up"))
    feature_notes = CART_POLE_NOTES
    template_terms = {"upright": 'f["position"][:, 1]',
                      "centred": '-0.1 * np.abs(f["position"][:, 0])'}


class CartpoleSwingupTask(CartpoleBalanceTask):
    name = "CartpoleSwingup"
    suite_task = "swingup"
    description = "swing the pole up from hanging and balance it by moving the cart"
    vocabulary = words("pole", "stick", "cart", relations=("swing", "balance", "upright", "up"))


class AcrobotSwingupTask(SuiteControlTask):
    name = "AcrobotSwingup"
    domain, suite_task = "acrobot", "swingup"
    description = "swing the two-link acrobot up by its elbow until its tip points straight up"
    control_dt = 0.01
    cameras = ("fixed", "lookat")
    viewer = {"lookat": (0.0, 0.0, 1.0), "distance": 5.0, "azimuth": 90, "elevation": -5}
    vocabulary = words("acrobot", "arm", "links", "pendulum",
                       relations=("swing", "upright", "up", "vertical"))
    feature_notes = {
        "orientations": "for the upper arm, then the lower: the sine of its angle from upright, "
                        "then (entries 2 and 3) the cosine (1 pointing up)",
        "velocity": "the shoulder's and the elbow's angular velocity (rad/s)",
    }
    template_terms = {"height": 'f["orientations"][:, 2] + f["orientations"][:, 3]'}


class PendulumSwingupTask(SuiteControlTask):
    name = "PendulumSwingup"
    domain, suite_task = "pendulum", "swingup"
    description = "swing the pendulum up with too little torque to lift it directly, and hold it"
    control_dt = 0.02
    cameras = ("fixed", "lookat")
    viewer = {"lookat": (0.0, 0.0, 0.6), "distance": 3.0, "azimuth": 90, "elevation": -5}
    vocabulary = words("pendulum", "pole", relations=("swing", "upright", "up", "hold"))
    feature_notes = {
        "orientation": "the cosine (1 upright) and the sine of the pole's angle from upright",
        "velocity": "the pole's angular velocity (rad/s)",
    }
    template_terms = {"upright": 'f["orientation"][:, 0]'}


class ReacherEasyTask(SuiteControlTask):
    name = "ReacherEasy"
    domain, suite_task = "reacher", "easy"
    description = "move the two-link arm's fingertip onto the target (a large one)"
    control_dt = 0.02
    cameras = ("fixed", "hand")
    viewer = {"lookat": (0.0, 0.0, 0.0), "distance": 1.0, "azimuth": 90, "elevation": -90}
    vocabulary = words("arm", "reacher", "finger", relations=("reach", "touch", "move"))
    feature_notes = {
        "position": "the shoulder's and the wrist's angles (rad)",
        "to_target": "from the fingertip to the target, in the table's plane (m)",
        "velocity": "the two joints' angular velocities (rad/s)",
    }
    template_terms = {"reach": '-np.linalg.norm(f["to_target"], axis=1)'}


class ReacherHardTask(ReacherEasyTask):
    name = "ReacherHard"
    suite_task = "hard"
    description = "move the two-link arm's fingertip onto the target (a small one)"


FINGER_NOTES = {
    "position": "the finger's two joint angles (rad), then the spinner's tip relative to its "
                "axis (x, z; m)",
    "velocity": "the finger's two joint velocities, then the spinner's (rad/s; negative "
                "turns it the way spinning is asked)",
    "touch": "log(1 + force) on the fingertip's two touch sensors",
}


class FingerSpinTask(SuiteControlTask):
    name = "FingerSpin"
    domain, suite_task = "finger", "spin"
    description = "flick the spinner with the two-joint finger so that it keeps turning"
    control_dt = 0.02
    cameras = ("cam0", "cam1")
    viewer = {"lookat": (0.0, 0.0, 0.25), "distance": 1.2, "azimuth": 90, "elevation": -5}
    vocabulary = words("spinner", "wheel", "finger", relations=("spin", "turn", "flick"))
    feature_notes = FINGER_NOTES
    template_terms = {"spin": '-f["velocity"][:, 2]'}


class FingerTurnEasyTask(FingerSpinTask):
    name = "FingerTurnEasy"
    suite_task = "turn_easy"
    description = "turn the spinner with the two-joint finger until its tip is on the target"
    vocabulary = words("spinner", "wheel", "finger", relations=("turn", "rotate", "point"))
    feature_notes = {
        **FINGER_NOTES,
        "target_position": "the target relative to the spinner's axis (x, z; m)",
        "dist_to_target": "from the spinner's tip to the target's edge (m; negative inside)",
    }
    template_terms = {"turn": '-f["dist_to_target"][:, 0]'}


class PointMassEasyTask(SuiteControlTask):
    name = "PointMassEasy"
    domain, suite_task = "point_mass", "easy"
    description = "push the point mass to the target in the middle of the plane"
    control_dt = 0.02
    cameras = ("fixed", "cam0")
    viewer = {"lookat": (0.0, 0.0, 0.0), "distance": 0.9, "azimuth": 90, "elevation": -90}
    vocabulary = words("mass", "point", "ball", relations=("move", "push", "centre"))
    feature_notes = {
        "position": "the mass's x and y on the plane (m); the target is at 0, 0",
        "velocity": "its velocity (m/s)",
    }
    template_terms = {"reach": '-np.linalg.norm(f["position"], axis=1)'}
