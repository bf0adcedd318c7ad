"""PushChoice: two pads, green and blue, and the goal sentence says which one the cube goes to.

Push's layout with a second pad: at difficulty 0 the hand starts behind the cube and the pads lie
12 cm ahead of it, one to each side (30 to 50 degrees off the line), sides drawn per episode;
difficulty turns the pair further round the cube. The goal pad's colour is drawn per episode
unless a sentence named it (``env.set_goal("push the cube onto the blue pad")``), so a policy
trained here has seen both choices. Its observation binds the sentence: ``target_pos`` and
``cube_to_target`` are the named pad's, ``other_pad_pos`` the other's. The cube is never green or
blue, so a colour in a sentence always means one thing.
"""

from __future__ import annotations

import mujoco
import numpy as np

from scenes.push import COLOURS, PushTask, ScriptedPush
from workbench.sim.physics import Physics
from workbench.task import ScriptedPolicy

PAD_COLOURS = {"green": (0.15, 0.7, 0.25), "blue": (0.15, 0.3, 0.85)}
PAD_DISTANCE = 0.12


class PushChoiceTask(PushTask):
    name = "PushChoice"
    description = "push the cube onto the pad the goal names: the green one or the blue one"
    goal_colours = {"cube": tuple(c for c in COLOURS if c not in PAD_COLOURS),
                    "pad": tuple(PAD_COLOURS)}
    goal_choices = ("pad",)
    stand_ins = ()  # two pads 12 cm out to either side do not fit a small arm's reach
    goal_examples = ("push the cube onto the green pad", "push the cube onto the blue pad")

    def arena_spec(self, robot) -> mujoco.MjSpec:
        spec = super().arena_spec(robot)
        other = spec.worldbody.add_body(name="other_pad", mocap=True, pos=[0.55, 0.2, 0.0005])
        other.add_geom(name="other_pad", type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                       size=[0.04, 0.0005, 0.0], rgba=[*PAD_COLOURS["blue"], 0.6],
                       contype=0, conaffinity=0)
        return spec

    def bind(self, physics: Physics, robot) -> None:  # type: ignore[override]
        super().bind(physics, robot)
        model = physics.model
        self._other_mocap = model.body("other_pad").mocapid[0]
        self._target_geom = model.geom("target").id
        self._other_geom = model.geom("other_pad").id
        self.pad_colour = "green"

    def initialize_episode(self, physics: Physics, rng: np.random.Generator) -> None:
        super().initialize_episode(physics, rng)  # cube, hand behind it (the pad is redone)
        self.pad_colour = self.draw_colour("pad", rng)
        other_colour = next(c for c in PAD_COLOURS if c != self.pad_colour)
        cube = self.cube_position(physics)[:2].copy()
        turn = rng.uniform(-1, 1) * 0.8 * self.difficulty
        spread = rng.uniform(0.52, 0.87)  # 30-50 degrees to each side
        side = rng.choice([-1.0, 1.0])  # which side the green pad is on
        pads = {}  # the layout does not depend on which pad the goal names
        for colour, angle in zip(PAD_COLOURS, (turn + side * spread, turn - side * spread),
                                 strict=True):
            where = cube + PAD_DISTANCE * np.array([np.cos(angle), np.sin(angle)])
            pads[colour] = np.clip(where, [0.25, -0.35], [0.62, 0.35])
        data, model = physics.data, physics.model
        data.mocap_pos[self._target_mocap] = (*pads[self.pad_colour], 0.0005)
        data.mocap_pos[self._other_mocap] = (*pads[other_colour], 0.0005)
        model.geom_rgba[self._target_geom] = (*PAD_COLOURS[self.pad_colour], 0.6)
        model.geom_rgba[self._other_geom] = (*PAD_COLOURS[other_colour], 0.6)
        self.start_distance = float(np.linalg.norm(pads[self.pad_colour] - cube))

    def other_pad_position(self, physics: Physics) -> np.ndarray:
        return physics.data.mocap_pos[self._other_mocap]

    def features(self) -> dict[str, int]:
        return {**super().features(), "other_pad_pos": 3}

    def observe(self, physics: Physics) -> dict[str, np.ndarray]:
        return {**super().observe(physics), "other_pad_pos": self.other_pad_position(physics)}

    def seen_features(self) -> dict[str, int]:
        # The pads by colour: a frame shows where the green pad is, not which pad was named.
        return {"cube_pos": 3, "green_pad_pos": 3, "blue_pad_pos": 3, "hand_to_cube": 3,
                "cube_to_green_pad": 3, "cube_to_blue_pad": 3}

    def seen_state(self, physics: Physics) -> dict[str, np.ndarray]:
        observed = self.observe(physics)
        cube = observed["cube_pos"]
        named, other = observed["target_pos"], observed["other_pad_pos"]
        pads = {"green": named, "blue": other} if self.pad_colour == "green" else {
            "green": other, "blue": named}
        return {"cube_pos": cube, "hand_to_cube": observed["hand_to_cube"],
                **{f"{c}_pad_pos": p for c, p in pads.items()},
                **{f"cube_to_{c}_pad": p - cube for c, p in pads.items()}}

    def object_colours(self, physics: Physics) -> dict[str, str]:
        return {"cube": self.colour, "pad": self.pad_colour}

    def goal_text(self) -> str:
        return f"push the {self.colour} cube onto the {self.pad_colour} pad"

    def scripted_policy(self, rng: np.random.Generator) -> ScriptedPolicy:
        # Pushed at up to 50 degrees off the hand's start line, the cube slides on a little
        # after the hand stops: stop a few millimetres earlier than on Push (0.95 of 40 seeds
        # succeed at the last step, against 0.90).
        return ScriptedPush(self, rng, stop_within=0.024)
