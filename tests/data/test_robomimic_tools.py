"""robomimic's own ``train.py`` trains on a robomimic export and rolls its policy out in the
workbench scene the file names (robomimic 0.3.0 in the tools' venv, ``.venv-lerobot``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from workbench.data import Workspace
from workbench.data.formats.robomimic import export_robomimic
from workbench.envs import make_env
from workbench.teleop.recorder import record_policy_episodes, scripted_policy

sys.path.insert(0, str(Path(__file__).parents[1] / "export"))
from test_lerobot_driver import LEROBOT_PYTHON, ROOT  # noqa: E402

CONFIG = """
import sys
from robomimic.config import config_factory
config = config_factory("bc")
with config.values_unlocked():
    config.train.data, config.train.output_dir = sys.argv[1], sys.argv[2]
    config.train.num_epochs, config.train.batch_size, config.train.cuda = 1, 16, False
    config.experiment.epoch_every_n_steps = 5
    config.experiment.validate = False
    config.experiment.save.enabled = False
    config.experiment.render_video = False
    config.experiment.logging.log_tb = False
    config.experiment.rollout.enabled = True
    config.experiment.rollout.n, config.experiment.rollout.horizon = 2, 80
    config.experiment.rollout.rate, config.experiment.rollout.warmstart = 1, 0
    config.observation.modalities.obs.low_dim = ["flat"]
    config.observation.modalities.obs.rgb = []
config.dump(sys.argv[3])
"""


@pytest.fixture
def demos(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        env = make_env("Push")
        record_policy_episodes(env, ws, scripted_policy(env, 0), 3, "scripted", 0)
        return export_robomimic(ws, tmp_path / "demos.hdf5")


def test_the_export_names_an_env_robomimic_can_build(demos):
    with h5py.File(demos) as f:
        env_args = json.loads(f["data"].attrs["env_args"])
        assert env_args["type"] == 2  # robomimic's gym environments
        assert env_args["env_name"] == "workbench.envs.robomimic_env:workbench/Push-v0"
        assert "obs/flat" in f["data/demo_0"]  # the key robomimic's gym envs observe under


def test_robomimics_train_script_trains_and_rolls_out_in_the_scene(demos, tmp_path):
    if not LEROBOT_PYTHON.exists():
        pytest.fail(f"the tools' venv is missing ({LEROBOT_PYTHON}): WORKBENCH_LEROBOT=1 "
                    "./setup.sh builds it")
    config = tmp_path / "bc.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([str(LEROBOT_PYTHON), "-c", CONFIG, str(demos), str(tmp_path / "out"),
                    str(config)], check=True, timeout=300, env=env, capture_output=True)
    run = subprocess.run([str(LEROBOT_PYTHON), "-m", "robomimic.scripts.train", "--config",
                          str(config)], capture_output=True, text=True, timeout=600, env=env,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "rollout: env=workbench.envs.robomimic_env:workbench/Push-v0" in run.stdout
    assert '"Success_Rate"' in run.stdout and "finished run successfully!" in run.stdout
