"""Reward families are declared once (workbench.rewards.families): no other list of them
exists, and a family registered in a test reaches the CLI, the Reward panel and training."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from workbench.cli.main import main
from workbench.config import validated
from workbench.data.workspace import Workspace
from workbench.rewards import families, load_reward_model
from workbench.rewards.base import StateRewardModel
from workbench.rewards.workflow import store_model

ROOT = Path(__file__).resolve().parents[2]


def _family_words() -> set[str]:
    return {word for f in families.all_families() for word in (f.name, f.artifact)}


def test_no_list_of_reward_families_exists_outside_the_registry():
    words = _family_words()
    offenders = []
    for folder in ("workbench", "gui", "robots", "scenes"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "families.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                items = (node.keys if isinstance(node, ast.Dict)
                         else getattr(node, "elts", []) if isinstance(
                             node, ast.List | ast.Tuple | ast.Set) else [])
                named = {i.value for i in items if isinstance(i, ast.Constant)} & words
                if len(named) >= 2:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(named)}")
    assert not offenders, offenders


def test_the_registry_resolves_every_family_both_ways():
    for family in families.all_families():
        assert families.by_artifact(family.artifact) is family
        assert family.model_class.config_class is family.config_class
    with pytest.raises(ValueError, match="unknown reward family 'nope'"):
        families.get("nope")


# -- a toy family, registered for one test -----------------------------------------------------
@dataclass(frozen=True)
@validated
class ToyConfig:
    scale: float = field(default=1.0, metadata={"help": "reward per metre", "gt": 0.0})
    epochs: int = field(default=1, metadata={"help": "passes (the toy has nothing to fit)",
                                             "min": 1})


class _ToyNet(nn.Module):
    def __init__(self, input_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))


class ToyDistanceModel(StateRewardModel):
    """Pays for the cube's distance from the robot along x: nothing learned, all plumbing."""

    family = "toy_distance"
    config_class = ToyConfig

    def _build_net(self) -> nn.Module:
        return _ToyNet(self.input_dim)

    def score(self, states: np.ndarray) -> np.ndarray:
        names = list(self.features)
        column = sum(list(self.features.values())[: names.index("cube_pos")])
        return self.config.scale * np.asarray(states, np.float32)[:, column]


def fit_toy(workspace, scene, config, on_epoch=None):
    features = workspace.episodes(scene=scene)[0]["meta"]["features"]
    model = ToyDistanceModel(sum(features.values()), features, scene, config, device="cpu")
    if on_epoch is not None:
        on_epoch(0, 0.0)
    return model, store_model(workspace, model, scene, {"train_demos": 0})


@pytest.fixture
def toy_family():
    here = "tests.rewards.test_families"
    family = families.register(families.RewardFamily(
        "toy", "toy — the cube's distance along x", "states", f"{here}:ToyDistanceModel",
        fit=f"{here}:fit_toy"))
    yield family
    families.unregister("toy")


def test_a_scene_names_what_its_progress_reward_starts_from(monkeypatch, tmp_path):
    """Push's progress reward reads the two relative vectors unless told otherwise (every
    feature taught it "the cube moved forward"), Reach's is a kernel regression (its
    preference reward reads the hand-to-target vector); a scene that
    names nothing gets the family's defaults, and a request's own inputs win."""
    from workbench.operations.rewards import FitReward

    progress = families.get("progress")
    assert progress.default_config("Push").inputs == ("hand_to_cube", "cube_to_target")
    assert progress.default_config("PushChoice").inputs == ("hand_to_cube", "cube_to_target")
    assert progress.default_config("Reach").kernel == 0.15  # kernel regression on Reach
    assert progress.default_config("DrawerOpen") == progress.config_class()
    preference = families.get("preference")  # rankings of Reach's clips: the same vector
    assert preference.default_config("Reach").inputs == ("hand_to_target",)
    assert preference.default_config("Push") == preference.config_class()
    assert preference.default_config("QuadrupedWalk").scene_mirror  # its legs swap
    assert FitReward.nested_defaults({"scene": "Push"})["config"].inputs == (
        "hand_to_cube", "cube_to_target")
    from workbench.cli import main as cli_main

    seen: list[FitReward] = []
    monkeypatch.setattr(cli_main, "execute", lambda request, progress: seen.append(request) or {})
    for argv in (["train-reward", "Push"], ["train-reward", "Push", "--inputs"]):
        assert main([*argv, "--workspace", str(tmp_path)]) == 0
    assert [r.config.inputs for r in seen] == [("hand_to_cube", "cube_to_target"), ()]

    # A run that learns its reward online starts from the same scene defaults (the CLI, a
    # sweep); the command line still wins, and a scene naming none keeps the family's.
    seen.clear()
    for argv in (["train", "Reach", "--online-feedback"], ["sweep", "Reach", "--grid", "seed=1"],
                 ["train", "Reach", "--online.preference.inputs"], ["train", "Push"]):
        assert main([*argv, "--workspace", str(tmp_path)]) == 0
    assert [r.config.online.preference.inputs for r in seen] == [
        ("hand_to_target",), ("hand_to_target",), (), ()]
    assert seen[0].config.online.preference.epochs == 100  # the online fit's own defaults
    seen.clear()
    for argv in (["train", "QuadrupedRun"], ["train", "QuadrupedRun",
                                             "--no-online.preference.scene-mirror"]):
        assert main([*argv, "--workspace", str(tmp_path)]) == 0
    assert [r.config.online.preference.scene_mirror for r in seen] == [True, False]


def test_a_registered_family_reaches_the_cli_the_panel_and_training(toy_family, tmp_path,
                                                                    qtbot, capsys):
    from workbench.cli.generate import leaves
    from workbench.operations.rewards import FitReward
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run import train_run
    from workbench.rl.run_config import RunConfig

    options = {leaf.option: leaf for leaf in leaves(FitReward, {"family": "toy"})}
    assert "toy" in options["--family"].meta["choices"]() and "--scale" in options

    workspace = tmp_path / "ws"
    assert main(["record", "Push", "--scripted", "1", "--workspace", str(workspace)]) == 0
    assert main(["train-reward", "Push", "--family", "toy", "--scale", "2.0",
                 "--workspace", str(workspace)]) == 0
    assert '"train_demos": 0' in capsys.readouterr().out

    from workbench.data import Workspace

    with Workspace.open(workspace) as ws:
        (row,) = ws.models("Push")
        assert row["family"] == "toy_distance"
        loaded = load_reward_model(row["path"], device="cpu")
        assert isinstance(loaded, ToyDistanceModel) and loaded.config.scale == 2.0
        config = RunConfig(scene="Push", checkpoint_every=0, tensorboard=False,
                           eval_episodes=1, ppo=PPOConfig(num_envs=2, rollout_steps=16,
                                                          total_steps=64))
        result = train_run(ws, config)  # reward="latest": the toy model, a state family
        assert result["reward"] == row["path"]

    from gui.panels.reward import RewardPanel
    from workbench.session import Session

    session = Session(workspace, scene="Push")
    try:
        panel = RewardPanel(session)
        qtbot.addWidget(panel)
        offered = [panel.family.itemData(i) for i in range(panel.family.count())]
        assert offered == families.fittable() and "toy" in offered
    finally:
        session.close()


def test_a_state_reward_over_two_robots_takes_is_fitted_on_the_one_named(tmp_path, capsys):
    """The SO-101's takes beside arm6's in one scene: their observations differ, so a state
    reward (demonstrations or rankings) names the robots in one line instead of numpy's
    stacking error, and `--robot` fits on one robot's takes (and labels)."""
    from workbench.rewards import load_reward_model

    ws = str(tmp_path / "ws")
    for robot in ("so101", ""):
        assert main(["record", "Push", "--scripted", "2", "--random", "2", "--workspace", ws,
                     *(["--robot", robot] if robot else [])]) == 0
    assert main(["teach", "Push", "--labels", "12", "--workspace", ws]) == 0
    capsys.readouterr()
    for family in ("progress", "preference"):
        assert main(["train-reward", "Push", "--family", family, "--workspace", ws]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("workbench train-reward: error: Push's episodes here come "
                                "from robots whose observations differ (so101: ")
        assert "name one (arm6 or so101) with --robot" in error and "\n" not in error
    out = str(tmp_path / "push.hdf5")  # a dataset too: one robot's, said the same way
    assert main(["dataset", "export", out, "--scene", "Push", "--workspace", ws]) == 2
    assert "observations differ (so101: " in capsys.readouterr().err
    assert main(["dataset", "export", out, "--scene", "Push", "--robot", "so101",
                 "--workspace", ws]) == 0  # the SO-101's takes alone
    assert json.loads(capsys.readouterr().out)["episodes"] == 4
    assert main(["teach", "Push", "--labels", "6", "--robot", "so101", "--workspace", ws]) == 0
    capsys.readouterr()
    robot_of = {row["id"]: row["meta"]["robot"] for row in Workspace.open(ws).episodes()}
    taught = Workspace.open(ws).preferences()[-6:]
    assert {robot_of[s[0]] for p in taught for s in p.segments} == {"so101"}
    # A goal sentence scores every take, each replayed with its own robot.
    assert main(["score-goal", "Push", "push the cube onto the pad", "--workspace", ws]) == 0
    assert len(json.loads(capsys.readouterr().out)["curves"]) == 8
    paths = {}
    for family, robot in (("progress", "so101"), ("preference", "arm6")):
        assert main(["train-reward", "Push", "--family", family, "--robot", robot,
                     "--epochs", "2", "--workspace", ws]) == 0
        paths[robot] = json.loads(capsys.readouterr().out)["path"]
        model = load_reward_model(paths[robot])
        assert model.features["joint_pos"] == (5 if robot == "so101" else 6)
    # Training on the SO-101's reward with the scene's own arm names the robot to train.
    assert main(["train", "Push", "--reward", "model", "--reward-model", paths["so101"],
                 "--steps", "2048", "--workspace", ws]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "the reward model was fitted on so101's takes of Push, not arm6's: train with "
        "--robot so101 (the Train panel's robot), or fit one on arm6's takes")
    assert main(["train-reward", "Push", "--robot", "walker", "--workspace", ws]) == 2
    assert "robot must be a tabletop arm for Push, got 'walker'" in capsys.readouterr().err
