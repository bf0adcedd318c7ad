"""Reward code as a family: written from the scene's feature names, stored with its source,
measured against ground truth, trained on with its terms logged, and refused when tampered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cli.main import main
from workbench.data import Workspace
from workbench.rewards import families, load_reward_model
from workbench.rewards.artifact import ArtifactError
from workbench.rewards.code.model import EXAMPLE, CodeConfig
from workbench.rewards.code.sandbox import CodeError


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
    assert report["terms"] == ["push", "reach"] and report["success_vs_failure"] >= 0.5
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
