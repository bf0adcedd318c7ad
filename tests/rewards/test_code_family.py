"""Reward code as a family: written from the scene's feature names, stored with its source,
measured against ground truth, trained on with its terms logged, and refused when tampered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cli.main import main
from workbench.data import Workspace
from workbench.envs import make_env
from workbench.registry import SCENES
from workbench.rewards import families, load_reward_model
from workbench.rewards.artifact import ArtifactError
from workbench.rewards.code.model import EXAMPLE, CodeConfig, CodeRewardModel, template
from workbench.rewards.code.sandbox import CodeError
from workbench.session.reward_models import report_text


@pytest.fixture(scope="module")
def push(tmp_path_factory):
    root = tmp_path_factory.mktemp("code") / "ws"
    assert main(["record", "Push", "--scripted", "3", "--failures", "--workspace",
                 str(root)]) == 0
    return root


def test_a_reward_written_from_the_feature_names_rises_along_every_demo(push, tmp_path):
    source = tmp_path / "push_reward.py"
    source.write_text(EXAMPLE)
    with Workspace.open(push) as ws:
        model, report = families.get("code").fit_function()(
            ws, "Push", CodeConfig(source_file=str(source)))
        demos = [ws.load_episode(r["id"]) for r in ws.episodes(scene="Push")
                 if r["source"] == "scripted"]
        stored_row = ws.models("Push")[-1]
    assert report["terms"] == ["push", "reach"] and report["success_vs_failure"] >= 0.5
    assert report_text(stored_row).startswith(
        f"reward code #{stored_row['id']} (terms: push, reach), checked on 3 demos and the "
        "failed takes")
    for demo in demos:
        signal = model.progress_episode(demo)
        assert signal[-1] > signal[0]  # every demo ends nearer its goal than it began

    stored = load_reward_model(report["path"])
    assert stored._sandbox._process is None  # loading ran nothing
    assert np.array_equal(stored.progress_episode(demos[0]), model.progress_episode(demos[0]))
    stored.close()
    model.close()


def test_changed_code_is_refused_on_load(push, tmp_path):
    source = tmp_path / "reward.py"
    source.write_text(EXAMPLE)
    with Workspace.open(push) as ws:
        _, report = families.get("code").fit_function()(ws, "Push",
                                                        CodeConfig(source_file=str(source)))
    stored = report["path"]
    with open(f"{stored}/reward.py", "a") as code:
        code.write("\nimport math\n")
    with pytest.raises(ArtifactError, match="changed since it was stored"):
        load_reward_model(stored)


def test_a_broken_reward_is_one_line_naming_its_line(push, tmp_path, capsys):
    source = tmp_path / "broken.py"
    source.write_text("def reward(f):\n    x = 1\n    return f['hand_to_cub']\n")
    code = main(["train-reward", "Push", "--family", "code", "--source-file", str(source),
                 "--workspace", str(push)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "line 3: KeyError" in err and "\n" not in err
    source.write_text("import os\ndef reward(f):\n    return 0\n")
    with Workspace.open(push) as ws, pytest.raises(CodeError, match="line 1: import os"):
        families.get("code").fit_function()(ws, "Push", CodeConfig(source_file=str(source)))


def test_training_on_reward_code_logs_each_term(push, tmp_path, capsys):
    source = tmp_path / "push_reward.py"
    source.write_text(EXAMPLE)
    ws = ["--workspace", str(push)]
    assert main(["train-reward", "Push", "--family", "code", "--source-file", str(source),
                 *ws]) == 0
    assert main(["train", "Push", "--steps", "2048", "--eval-episodes", "1", *ws]) == 0
    out = capsys.readouterr().out
    run = json.loads(out[out.rindex("\n{") + 1:])
    assert "reward_code-Push" in run["reward"]
    rows = [json.loads(line) for line in open(f"{run['path']}/metrics.jsonl")]
    assert {"reward/reach", "reward/push"} <= set(rows[-1])
    assert all(row["reward/push"] < 0 for row in rows)  # minus a distance


SPEED = '''def reward(f):
    axes, velocity = f["orientation"], f["velocity"]
    speed = axes[:, 0] * velocity[:, 3] + axes[:, 3] * velocity[:, 5]
    return speed, {"speed": speed}
'''


def test_reward_code_needs_no_takes_where_a_scene_has_no_demonstrator(tmp_path, capsys):
    """The legged robots' scenes have no scripted demonstrator: their code is checked on a
    short episode of random actions, and a run trains on it."""
    ws = ["--workspace", str(tmp_path / "ws")]
    source = tmp_path / "speed.py"
    source.write_text(SPEED.replace('f["velocity"]', 'f["speed"]'))
    assert main(["train-reward", "CheetahRun", "--family", "code", "--source-file",
                 str(source), *ws]) == 2
    err = capsys.readouterr().err.strip()
    assert "line 2: KeyError" in err and "\n" not in err  # checked before it is stored

    source.write_text(SPEED)
    with Workspace.open(tmp_path / "ws", create=True) as workspace:
        model, report = families.get("code").fit_function()(
            workspace, "CheetahRun", CodeConfig(source_file=str(source)))
        assert workspace.episodes(scene="CheetahRun") == []  # nothing recorded to check it
        stored = workspace.models("CheetahRun")[-1]
    assert report_text(stored) == (f"reward code #{stored['id']} (terms: speed), checked on "
                                   "random actions (no takes here yet)")
    curve = report["term_curves"]["random actions"]
    assert report["terms"] == ["speed"] and report["held_out"] == 0
    assert len(curve["speed"]) == 101 and np.ptp(curve["speed"]) > 0  # the cheetah moved
    assert "spearman_progress" not in report  # nothing to measure it on
    model.close()

    assert main(["train", "CheetahRun", "--steps", "1024", "--eval-episodes", "1", *ws]) == 0
    out = capsys.readouterr().out
    run = json.loads(out[out.rfind("\n{") + 1:])  # the last JSON object printed
    assert "reward_code-CheetahRun" in run["reward"]
    rows = [json.loads(line) for line in open(f"{run['path']}/metrics.jsonl")]
    assert "reward/speed" in rows[-1]


@pytest.mark.parametrize("scene", SCENES.names())
def test_every_scenes_first_reward_code_runs_and_reads_what_the_scene_measures(scene):
    """The editor's first reward for each scene runs in the sandbox and sums the terms it
    logs; on a scene with a demonstrator it rises along a demo; on a legged robot its readouts
    are the scene's own speed and uprightness (the velocity feature is in the torso's frame,
    so the forward speed is a turn away from one entry of it, not that entry)."""
    env = make_env(scene)
    source = template(scene, env.features, env.feature_notes, env.robot.readouts,
                      env.task.template_terms)
    env.reset(seed=3)
    script = env.task.scripted_policy(np.random.default_rng(3))
    env.action_space.seed(3)
    states, truth = [], []
    for _ in range(env.task.episode_steps if script else 60):
        obs, *_ = env.step(script(env.physics) if script else env.action_space.sample())
        states.append(obs)
        if hasattr(env.robot, "forward_velocity"):
            truth.append((env.robot.forward_velocity(env.physics),
                          env.robot.torso_upright(env.physics), env.task.target_speed))
    model = CodeRewardModel(source, env.features, scene)
    try:
        rewards, terms = model.score_terms(np.array(states))
    finally:
        model.close()
        env.close()
    assert terms and np.isfinite(rewards).all()
    assert np.allclose(rewards, sum(terms.values()))
    if script:
        assert rewards[-10:].mean() > rewards[:10].mean() + 0.25 * np.ptp(rewards)
    if truth:
        speed, upright, target = np.array(truth).T
        assert np.abs(speed).max() > 0.1  # random torques move it: the check is not of rest
        assert np.allclose(terms["upright"], upright, atol=1e-5)
        assert np.allclose(terms["move"], -np.abs(speed - target), atol=1e-5)


def test_a_first_reward_with_nothing_to_go_on_says_so_and_pays_nothing():
    source = template("Blank", {"joint_pos": 2})
    assert "Nothing in the feature names says what a good state is" in source
    model = CodeRewardModel(source, {"joint_pos": 2}, "Blank")
    try:
        assert (model.score(np.ones((4, 2))) == 0).all()
    finally:
        model.close()


def test_a_legged_robots_features_say_what_their_numbers_mean():
    """Its names say little (``velocity``: in which frame, which entry is forward?), so the
    template a person starts from lists what each one holds."""
    env = make_env("CheetahRun")
    assert set(env.feature_notes) == set(env.features)
    first = template("CheetahRun", env.features, env.feature_notes)
    assert "velocity: (6,) the torso's velocity in its own frame" in first
    assert "target_speed: (1,) the forward speed asked for" in first
    env.close()
    walker = make_env("Walk")
    assert "forward (x)" in walker.feature_notes["velocity"]
    walker.close()
