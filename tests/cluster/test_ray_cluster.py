"""A real two-node Ray cluster on this machine (a head and a worker node, one CPU each): PPO's
rollouts run on the worker node and learn what they learn in one process, a Ray Tune sweep
ranks 8 settings by 2 seeds, and killing the worker node mid-run ends in a run resumed from
its checkpoint and completed, its policy and metrics in the workspace."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.cluster.drivers import (
    ERROR_AFTER_THE_FIT,
    HOLD_THE_OTHER_NODES,
    NO_NODE_SEES_IT,
    SHIPPED_SWEEP,
    STOPPABLE_SWEEP,
    STOPPED_BY_HAND,
    last_json,
    run_driver,
    start_training,
    sweep_address,
    two_updates_into_a_sweep,
)
from tests.cluster.nodes import a_node_to_lose, lose_node
from workbench.data.workspace import Workspace
from workbench.rewards.artifact import load_reward_model
from workbench.rl.checkpoint import run_checkpoint
from workbench.rl.sweep_state import BY_HAND, state

TOTAL_STEPS = 8 * 256  # 8 updates of 2 envs x 128 steps
# The run whose worker node is killed after its second update: long enough that the kill
# lands mid-run however fast the updates go (Ray notices a dead node within seconds).
SURVIVAL_STEPS = 48 * 256


def test_a_run_on_the_cluster_learns_exactly_what_it_learns_here(cluster, tmp_path):
    """Each actor's envs are seeded as their slice of the local vector env: the same seed,
    the same transitions, the same policy (two actors, so the batch is split and merged)."""
    from workbench.rl.policy import load_policy

    address, _, env = cluster
    runs = {}
    for name, where in (("here", ""), ("cluster", address)):
        training = start_training(where, tmp_path / name, env, 512, "--rollout-actors", "2",
                          "--checkpoint-every", "0")
        _, err = training.communicate(timeout=300)
        assert training.returncode == 0, err[-3000:]
        [folder] = (tmp_path / name).glob("runs/*/policy")
        runs[name] = load_policy(folder)[0].state_dict()
    assert runs["here"].keys() == runs["cluster"].keys()
    for key, value in runs["here"].items():
        assert value.equal(runs["cluster"][key]), key


def test_a_frame_reward_distilled_on_the_cluster_learns_what_it_learns_here(cluster, tmp_path):
    """The distilled frame reward reaches into the sub-envs (which steps render, the frames
    they are in): through the actors as through the local vector env, step for step."""
    import torch

    from workbench.rewards.perceptual import PerceptualConfig, PerceptualProgressModel
    from workbench.rl.policy import load_policy

    address, _, env = cluster
    torch.manual_seed(0)  # untrained: a fixed function of the frames is reward enough here
    model = PerceptualProgressModel("Reach", PerceptualConfig(
        cameras=("front",), image_size=24, channels=4, feature_dim=8, hidden=16, pretrain=0),
        device="cpu")
    folder = model.save(tmp_path / "frame-reward")
    runs, shares = {}, {}
    for name, where in (("here", ""), ("cluster", address)):
        # From the third update on, the student scores and a share of the steps render.
        training = start_training(where, tmp_path / name, env, 4 * 256, "--rollout-actors", "2",
                          "--checkpoint-every", "0", "--reward", "model", "--reward-model",
                          str(folder), "--distill.min-agreement", "-1")
        _, err = training.communicate(timeout=300)
        assert training.returncode == 0, err[-3000:]
        [policy] = (tmp_path / name).glob("runs/*/policy")
        runs[name] = load_policy(policy)[0].state_dict()
        [log] = (tmp_path / name).glob("runs/*/metrics.jsonl")
        rendered = [json.loads(line)["distill/rendered"] for line in log.open()
                    if "distill/rendered" in line]
        assert rendered[0] == 1.0 and 0 < rendered[-1] < 1, rendered
        shares[name] = rendered
    assert shares["here"] == shares["cluster"]
    for key, value in runs["here"].items():
        assert value.equal(runs["cluster"][key]), key


def test_an_app_run_on_the_cluster_pauses_and_resumes_like_a_local_one(cluster, tmp_path,
                                                                       monkeypatch):
    """The app's Pause freezes the learner (SIGSTOP); the actors wait for their next step and
    the run goes on to its budget when resumed."""
    from workbench.rl.ppo import PPOConfig
    from workbench.rl.run_config import RunConfig
    from workbench.session import Session

    address, _, env = cluster
    for name in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE"):  # the job's worker joins it
        monkeypatch.setenv(name, env[name])
    session = Session(tmp_path / "ws", scene="Reach")
    job = session.jobs.train(RunConfig(
        scene="Reach", reward="reference", eval_episodes=2, cluster=address, rollout_actors=2,
        tensorboard=False, ppo=PPOConfig(total_steps=TOTAL_STEPS, num_envs=2,
                                         rollout_steps=128)))
    seen: list = []
    while not [e for e in seen if e.kind == "progress"]:
        seen += job.poll()
        assert job.running, [(e.kind, e.data) for e in seen]
        time.sleep(0.1)
    session.jobs.pause("train")
    time.sleep(0.5)
    seen += job.poll()  # what was in flight when it froze
    time.sleep(3.0)
    assert job.paused and job.poll() == []
    session.jobs.resume("train")
    events = job.wait(timeout=300)
    steps = [e.data["step"] for e in seen + events if e.kind == "progress"]
    assert job.state == "done" and steps[-1] == TOTAL_STEPS, events[-1].data
    with Workspace.open(tmp_path / "ws") as ws:
        [run] = ws.runs("Reach")
    assert run["status"] == "finished"
    session.close()


def test_a_sweep_of_8_settings_by_2_seeds_ranks_them_on_ray_tune(cluster, tmp_path):
    """Tiny budgets: what is checked is the sweep's bookkeeping, not what the runs learn."""
    address, _, env = cluster
    workspace = tmp_path / "ws"
    command = [sys.executable, "-m", "workbench.cli.main", "sweep", "Reach", "--cluster",
               address, "--grid", "ppo.lr=1e-4,3e-4", "ppo.ent-coef=0,0.01",
               "reward=reference,sparse", "--seeds", "2", "--grace", "1", "--steps", "256",
               "--ppo.num-envs", "2", "--ppo.rollout-steps", "128", "--eval-episodes", "1",
               "--no-tensorboard", "--no-hacking-guard", "-w", str(workspace)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["trials"] == 16
    ranking = result["ranking"]
    assert len(ranking) == 8 and all(row["seeds"] == 2 for row in ranking)
    assert len({row["settings"] for row in ranking}) == 8
    means = [row["mean_success"] for row in ranking]
    assert means == sorted(means, reverse=True)
    assert all(row["failed"] == 0 for row in ranking)
    assert all(row["finished"] + row["stopped_early"] == 2 for row in ranking)
    folder = Path(result["report"]).parent
    report = (folder / "report.md").read_text()
    for rank, row in enumerate(ranking, start=1):
        assert f"| {rank} | `{row['settings']}` |" in report
    import xml.etree.ElementTree as ET

    svg = ET.parse(folder / "curves.svg").getroot()
    assert len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 16
    with Workspace.open(workspace) as ws:
        runs = {r["path"]: r for r in ws.runs("Reach")}
    finished = [run for row in ranking for run in row["runs"]]
    assert len(finished) == sum(row["finished"] for row in ranking)
    assert all(runs[path]["status"] == "finished" for path in finished)
    # The trials ASHA stopped leave stopped runs, none left "running", each resumable from
    # the update it stopped at though the run defaults checkpoint every 5 (ASHA's rung: 1).
    stopped = [run for run in runs.values() if run["status"] == "stopped"]
    assert len(stopped) == sum(row["stopped_early"] for row in ranking)
    assert all(run["metrics"]["stopped_by"] == "ASHA early stopping" for run in stopped)
    assert all(run_checkpoint(Path(run["path"])).exists() for run in stopped)
    trials = json.loads((folder / "results.json").read_text())["trials"]
    assert sorted(t["stopped_run"] for t in trials if t["stopped_run"]) == sorted(
        run["path"] for run in stopped)
    assert len(runs) == len(finished) + len(stopped)


@pytest.mark.parametrize("where", ["in place", "in place, SIGTERM", "shipped",
                                   "shipped through Ray Client"])
def test_a_sweep_stopped_by_hand_goes_on_with_the_trials_it_stopped(cluster, tmp_path, where):
    """Stopped two updates into a run, every trial ends: those running keep their runs
    (stopped by hand, resumable), the others had not started (two CPUs, three trials).
    Going on with the sweep finishes all three, each run stopped with a checkpoint in its own
    folder from that checkpoint. In place, every node sees the workspace and the person
    presses Ctrl-C in `workbench sweep` (or a scheduler pre-empting it sends SIGTERM);
    shipped, none does (the Stop of the app): the
    stopped runs travel to the trials that go on and come back into their folders. Through
    Ray Client, Tune's loop runs on the head: the Stop reaches it there, and the sweep's
    process mirrors the trials' copies on its own disk while they train."""
    address, _, env = cluster
    address = sweep_address(where, address)
    workspace = tmp_path / "ws"
    if where.startswith("in place"):
        command = [sys.executable, "-m", "workbench.cli.main", "sweep", "Reach", "--cluster",
                   address, "-w", str(workspace)]
        with two_updates_into_a_sweep([*command, *STOPPABLE_SWEEP], lambda: list(
                workspace.glob("runs/*/metrics.jsonl")), env) as sweep:
            sweep.send_signal(signal.SIGTERM if "SIGTERM" in where else signal.SIGINT)
            out, err = sweep.communicate(timeout=300)
        go_on = lambda folder: subprocess.run(  # noqa: E731
            [*command, "--resume", str(folder)], env=env, capture_output=True, text=True,
            timeout=600)
        assert "stopping every trial, each keeping its run" in err
        printed = json.loads  # the command prints its result alone, indented
    else:
        with run_driver(STOPPED_BY_HAND, address, str(workspace), *STOPPABLE_SWEEP,
                     env=env) as sweep:
            out, err = sweep.communicate(timeout=600)
        go_on = lambda folder: subprocess.run(  # noqa: E731
            [sys.executable, "-c", STOPPED_BY_HAND, address, str(workspace), "--resume",
             str(folder)], env=env, capture_output=True, text=True, timeout=600)
        printed = last_json
    assert sweep.returncode == 0, err[-3000:]
    first = printed(out)
    folder = Path(first["report"]).parent
    if where.startswith("shipped"):  # the trial that logged two updates had sent its copies
        [mirrored] = [json.loads(line)["mirrored"] for line in out.splitlines()
                      if line.startswith('{"mirrored"')]
        assert "sweep.json" in mirrored and any(name.endswith(".tar") for name in mirrored)
    trials = json.loads((folder / "results.json").read_text())["trials"]
    states = [state(t) for t in trials]
    # The first run to log two updates is stopped before any can finish its eight.
    assert set(states) == {BY_HAND, "not started"} and first["going_on"] == 3, states
    stopped = sorted(t["stopped_run"] for t in trials if t["stopped_run"])
    assert stopped, trials  # the run that logged two updates kept its checkpoint
    with Workspace.open(workspace) as ws:
        rows = {run["path"]: run for run in ws.runs("Reach")}
    assert all((rows[path]["status"], rows[path]["metrics"]["stopped_by"]) == (
        "stopped", BY_HAND) for path in stopped)
    report = (folder / "report.md").read_text()
    assert f"`workbench sweep Reach --resume {folder} --workspace {workspace}`" in report

    _all_finish(go_on(folder), printed, stopped, rows, folder)


def _all_finish(went_on, printed, stopped: list[str], rows: dict, folder: Path) -> None:
    """The sweep that went on finished all three trials, each run ``stopped`` in its folder
    from its checkpoint (``rows``: as the workspace listed them before)."""
    assert went_on.returncode == 0, went_on.stderr[-3000:]
    result = printed(went_on.stdout)
    assert (result["trials"], result["going_on"]) == (3, 0)
    assert [row["finished"] for row in result["ranking"]] == [1, 1, 1]
    finished = sorted(run for row in result["ranking"] for run in row["runs"])
    with Workspace.open(folder.parent.parent) as ws:
        runs = {run["path"]: run for run in ws.runs("Reach")}
    assert all(runs[path]["status"] == "finished" for path in finished)
    assert set(stopped) <= set(finished)
    # One run a trial: one stopped before its first update started over in its own folder.
    assert sorted(runs) == finished, runs
    for path in stopped:  # went on from its checkpoint, not again from the start
        steps = [json.loads(line)["step"] for line in (Path(path) / "metrics.jsonl")
                 .read_text().splitlines() if "charts/success_rate" in line]
        assert steps[0] == 256 and steps[-1] == 2048 and steps.count(256) == 1
        assert runs[path]["created"] == rows[path]["created"]
    # Each curve is one sweep's: the earlier updates then the later ones, every one of them
    # (the update whose report Tune's stop interrupted is read from the run's own log).
    for trial in json.loads((folder / "results.json").read_text())["trials"]:
        assert [u for u, _ in trial["by_update"]] == list(range(1, 9)), trial


@pytest.mark.parametrize("where", ["in place", "shipped", "shipped through Ray Client"])
def test_a_sweep_whose_process_is_killed_goes_on_from_the_runs_its_trials_left(cluster,
                                                                               tmp_path, where):
    """The sweep's process killed outright (its machine lost, kill -9): its results still
    say it runs, with every trial to run; going on finds the runs its trials left and
    resumes each from its checkpoint once Ray has ended their workers. In place, the runs
    its trials noted in the workspace; shipped, the copies its trials sent back, kept on the
    sweep's disk and brought into the workspace first. Through Ray Client, Tune's loop and
    the trials live on in the head's session after the process dies: the copies are those
    the process had mirrored on its own disk."""
    address, _, env = cluster
    address = sweep_address(where, address)
    workspace = tmp_path / "ws"
    if where == "in place":
        command = [sys.executable, "-m", "workbench.cli.main", "sweep", "Reach", "--cluster",
                   address, "-w", str(workspace)]
        logs = lambda: list(workspace.glob("runs/*/metrics.jsonl"))  # noqa: E731
        go_on, printed = [*command, "--resume"], json.loads
    else:
        script = STOPPED_BY_HAND.replace("StopOnceARunLoggedTwoUpdates()", "Said()")
        command = [sys.executable, "-c", script, address, str(workspace)]
        before = _scratch_copies()
        # A Ray Client sweep mirrors the copies its trials send every poll of its loop: it is
        # killed once it holds one, else going on would have none to find.
        mirrored = lambda: where != "shipped through Ray Client" or any(  # noqa: E731
            p.name != "sweep.json" for p in workspace.glob("sweeps/*/shipped/*.json"))
        logs = lambda: [log for copy in _scratch_copies() - before  # noqa: E731
                        for log in copy.glob("runs/*/metrics.jsonl")] if mirrored() else []
        go_on, printed = [*command, "--resume"], last_json
    with two_updates_into_a_sweep([*command, *STOPPABLE_SWEEP], logs, env) as sweep:
        sweep.kill()
        sweep.communicate(timeout=60)
    [folder] = list((workspace / "sweeps").iterdir())
    assert json.loads((folder / "results.json").read_text())["running"]["pid"] == sweep.pid
    if where == "in place":
        with Workspace.open(workspace) as ws:
            rows = {run["path"]: run for run in ws.runs("Reach")}
        stopped = [path for path in rows if (Path(path) / "checkpoint.safetensors").exists()]
    else:  # nothing in the workspace yet: the runs are in the sweep's shipped/
        with Workspace.open(workspace) as ws:
            assert ws.runs() == []
        sent = [json.loads(p.read_text())["row"]["created"]
                for p in (folder / "shipped").glob("*.json") if p.name != "sweep.json"]
    went_on = subprocess.run([*go_on, str(folder)], env=env, capture_output=True,
                             text=True, timeout=600)
    if where != "in place":  # each brought back as it was sent, then resumed
        with Workspace.open(workspace) as ws:
            rows = {run["path"]: run for run in ws.runs("Reach") if run["created"] in sent}
        stopped = list(rows)
    assert stopped  # the run that logged two updates
    _all_finish(went_on, printed, stopped, rows, folder)


def test_a_sweep_that_failed_in_a_process_that_lives_on_goes_on_from_it(cluster, tmp_path):
    """A sweep that ends on an error lets go of its results: the process that ran it (the
    app's, which lives on) goes on with it at once, not refused as "still running", and the
    runs its trials left resume from their checkpoints."""
    address, _, env = cluster
    workspace = tmp_path / "ws"
    went_on = subprocess.run([sys.executable, "-c", ERROR_AFTER_THE_FIT, address,
                              str(workspace), *STOPPABLE_SWEEP], env=env, capture_output=True,
                             text=True, timeout=900)
    assert "the sweep failed: a bug after the fit" in went_on.stderr, went_on.stderr[-3000:]
    [rows] = [json.loads(line) for line in went_on.stdout.splitlines()
              if line.startswith('{"') and '"ranking"' not in line]
    stopped = [path for path in rows if (Path(path) / "checkpoint.safetensors").exists()
               and rows[path]["status"] != "finished"]
    assert stopped  # the run that logged two updates
    [folder] = list((workspace / "sweeps").iterdir())
    _all_finish(went_on, last_json, stopped, rows, folder)


def _scratch_copies() -> set[Path]:
    """The trials' scratch workspaces on this machine (the cluster's nodes share its /tmp)."""
    return set(Path(tempfile.gettempdir()).glob("workbench-trial-*"))


def test_trials_that_fail_in_their_workers_are_reported_not_ranked(cluster, tmp_path):
    """A reward folder that exists but holds no model passes the sweep's check and fails in
    every trial of its setting: the sweep still ends, ranks what ran, and names the error.
    Here the trials run where the workspace is not: the reward folder, from outside the
    workspace, travels with them, the good trial's run comes back into the workspace and the
    failed one's traceback into the sweep's folder."""
    address, _, env = cluster
    workspace, broken = tmp_path / "ws", tmp_path / "not-a-model"
    broken.mkdir()
    before = _scratch_copies()
    script = SHIPPED_SWEEP + """
import os
os.environ["RAY_ADDRESS"] = sys.argv[1]  # no cluster given: the sweep's trials run there
print(json.dumps(sweep(sys.argv[2], (f"reward=reference,{sys.argv[3]}",),
                       "ppo.total_steps=256")))
"""
    out = subprocess.run([sys.executable, "-c", script, address, str(workspace), str(broken)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = last_json(out.stdout)
    good, bad = seen["result"]["ranking"]
    assert (good["settings"], good["failed"], good["finished"]) == ("reward=reference", 0, 1)
    assert (bad["settings"], bad["failed"], bad["mean_success"]) == (f"reward={broken}", 1,
                                                                     None)
    assert any("travel with each trial" in line for line in seen["said"]), seen["said"]
    assert any(re.match(r"sweeping 2 trials into .* on the cluster at .* \(\d+ nodes, \d+ CPUs\)$",
                        line) for line in seen["said"]), seen["said"]
    assert any(line.startswith(f"1 of 2 trials failed; first: reward={broken} seed 1000: ")
               for line in seen["said"]), seen["said"]
    folder = Path(seen["result"]["report"]).parent
    report = (folder / "report.md").read_text()
    assert f"- `reward={broken}` seed 1000: " in report and "Traceback" not in report
    assert f"{broken} is not a reward artifact" in report  # as named here, not on the node
    [traceback] = list((folder / "trials").glob("*.txt"))
    assert "Traceback" in traceback.read_text()
    with Workspace.open(workspace) as ws:
        [run] = ws.runs("Reach")
    assert good["runs"] == [run["path"]] and run["status"] == "finished"
    assert Path(run["path"]).parent == workspace.resolve() / "runs"
    assert (Path(run["path"]) / "policy").exists()
    assert "workbench-trial-" not in (folder / "results.json").read_text() + json.dumps(run)
    assert _scratch_copies() == before  # each trial's scratch copy is gone with it

    # The cause mended (a reward model where the folder was empty), the failed trial runs
    # again; the one that finished stays as it was.
    for command in (["record", "Reach", "--scripted", "3"], ["train-reward", "Reach"]):
        made = subprocess.run([sys.executable, "-m", "workbench.cli.main", *command, "-w",
                               str(tmp_path / "demos")], env=env, capture_output=True,
                              text=True, timeout=300, check=True)
    shutil.copytree(json.loads(made.stdout)["path"], broken, dirs_exist_ok=True)
    retry = SHIPPED_SWEEP + """
print(json.dumps(Sweep(config=RunConfig(scene="Reach"), cluster=sys.argv[1], resume=Path(
    sys.argv[3]), retry_failed=True, workspace=Path(sys.argv[2])).perform(Said())))
"""
    out = subprocess.run([sys.executable, "-c", retry, address, str(workspace), str(folder)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    ranking = {row["settings"]: row for row in last_json(out.stdout)["ranking"]}
    assert ranking["reward=reference"]["runs"] == good["runs"]  # not trained again
    assert [(row["finished"], row["failed"]) for row in ranking.values()] == [(1, 0)] * 2
    with Workspace.open(workspace) as ws:
        assert sorted(r["status"] for r in ws.runs("Reach")) == ["finished", "finished"]


def test_a_shipped_online_feedback_trial_brings_back_the_reward_it_learned(cluster, tmp_path):
    """A trial learning its reward from a synthetic teacher where the workspace is not: the
    reward model comes back with its run, indexed in a folder of its own, and the run and its
    policy name it there. With people as the teacher it is refused before any trial starts:
    no person would see the trial's clips, nor the trial the labels given meanwhile."""
    address, _, env = cluster
    workspace = tmp_path / "ws"
    script = SHIPPED_SWEEP + """
from workbench.config import ConfigError
online = ["online_feedback=true", "online.total_labels=4", "ppo.total_steps=512"]
try:
    sweep(sys.argv[2], (), *online)
except ConfigError as error:
    print(error)
print(json.dumps(sweep(sys.argv[2], (), *online, "online_teacher=oracle", "online_clips=0")))
"""
    out = subprocess.run([sys.executable, "-c", script, address, str(workspace)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("online_feedback: the trials of a sweep whose nodes do not all "
                            "see the workspace") == 1
    assert len(list((workspace / "sweeps").iterdir())) == 1  # the refused one made none
    [row] = last_json(out.stdout)["result"]["ranking"]
    assert (row["finished"], row["failed"]) == (1, 0)
    with Workspace.open(workspace) as ws:
        [run], [model] = ws.runs("Reach"), ws.models("Reach")
    assert row["runs"] == [run["path"]] and run["status"] == "finished"
    assert Path(model["path"]).parent == workspace.resolve() / "models"
    assert model["family"] == "preference" and model["metrics"]["online_labels"] >= 4
    assert run["metrics"]["reward"] == model["path"]
    policy = json.loads((Path(run["path"]) / "policy" / "policy.json").read_text())
    assert policy["reward"] == model["path"]
    assert not (Path(run["path"]) / ".made").exists()
    learned = load_reward_model(model["path"], device="cpu")
    assert learned.family == "preference"


def test_a_reward_fit_runs_as_a_task_on_the_cluster_into_the_workspace(cluster, tmp_path):
    address, _, env = cluster
    workspace = tmp_path / "ws"
    fit = [sys.executable, "-m", "workbench.cli.main", "train-reward", "Reach", "--cluster",
           address, "--epochs", "3", "-w", str(workspace)]
    # Refused in the task (no demos yet): the task's own error, in one line.
    out = subprocess.run(fit, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert out.stderr.strip().splitlines()[-1].startswith("workbench train-reward: error: ")
    record = [sys.executable, "-m", "workbench.cli.main", "record", "Reach", "--scripted", "3",
              "-w", str(workspace)]
    subprocess.run(record, env=env, capture_output=True, text=True, timeout=300, check=True)
    out = subprocess.run(fit, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert re.search(rf"running on the cluster at {re.escape(address)} \(\d+ nodes, \d+ CPUs\)",
                     out.stderr), out.stderr[-3000:]
    with Workspace.open(workspace) as ws:
        [model] = ws.models("Reach")
    assert str(model["path"]) == result["path"] and model["family"] == "progress"
    assert (Path(result["path"]) / "config.json").is_file()
    # The task's epochs reach the caller's progress (the CLI's bar, the app's); an MLP fit
    # (Reach's default is a kernel fit, which has no epochs).
    script = """
import json, sys
from dataclasses import replace
from pathlib import Path
from workbench.operations.base import Progress
from workbench.operations.rewards import FitReward
from workbench.rewards.workflow import progress_defaults

class Seen(Progress):
    epochs = []
    def emit(self, kind, **data):
        if "epoch" in data:
            self.epochs.append(data["epoch"])

request = FitReward(scene="Reach", cluster=sys.argv[1], workspace=Path(sys.argv[2]),
                    config=replace(progress_defaults("Reach"), epochs=3, kernel=0.0))
request.perform(Seen())
print(json.dumps(Seen.epochs))
"""
    out = subprocess.run([sys.executable, "-c", script, address, str(workspace)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert last_json(out.stdout) == [1, 2, 3]


def test_a_reward_fit_takes_the_recordings_to_nodes_that_do_not_see_the_workspace(
        cluster, tmp_path):
    """Where a node lacks the workspace's folder (here the nodes' answer is replaced, as both
    nodes of this cluster share one disk), the scene's recordings and labels travel with the
    task and the model comes back: indexed in a folder of its own here, scoring every recorded
    episode exactly as the same fit run here."""
    address, _, env = cluster
    workspace = tmp_path / "ws"
    for command in (["record", "Reach", "--scripted", "3"],
                    ["teach", "Reach", "--labels", "8", "--length", "10"]):
        subprocess.run([sys.executable, "-m", "workbench.cli.main", *command, "-w",
                        str(workspace)], env=env, capture_output=True, text=True, timeout=300,
                       check=True)
    script = NO_NODE_SEES_IT + """
import numpy as np
from workbench.data.workspace import Workspace
from workbench.rl.sweep_state import BY_HAND, state
from workbench.operations.rewards import FitReward
from workbench.rewards.artifact import load_reward_model
from workbench.rl.checkpoint import run_checkpoint

workspace = Path(sys.argv[2])
out = {"said": Said.lines}
for family in ("progress", "preference"):
    fit = FitReward(scene="Reach", family=family, cluster=sys.argv[1], workspace=workspace)
    shipped = fit.perform(Said())
    here = FitReward(scene="Reach", family=family, workspace=workspace).perform(Progress())
    with Workspace.open(workspace) as ws:
        indexed = {m["id"]: m["path"] for m in ws.models("Reach")}
        episodes = [ws.load_episode(e["id"]) for e in ws.episodes("Reach")]
    a, b = (load_reward_model(r["path"], device="cpu") for r in (shipped, here))
    out[family] = {"result": shipped, "indexed": indexed[shipped["model_id"]],
                   "same": all(np.array_equal(a.progress_episode(e), b.progress_episode(e))
                               for e in episodes)}
print(json.dumps(out))
"""
    out = subprocess.run([sys.executable, "-c", script, address, str(workspace)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = last_json(out.stdout)
    assert len(seen["said"]) == 2 and all("travel with the task" in s for s in seen["said"])
    for family in ("progress", "preference"):
        result = seen[family]["result"]
        path = Path(result["path"])
        assert path.parent == workspace.resolve() / "models" and path.name.startswith(family)
        assert seen[family]["indexed"] == result["path"] and (path / "config.json").is_file()
        assert seen[family]["same"], family
        assert "workbench-task-" not in json.dumps(result)  # no path of the node's scratch copy


def test_benchmark_seeds_run_as_tune_trials_and_come_back_in_order(cluster):
    """What benchmarks/ppo_vs_sb3.py and preference_vs_imitation.py run their seeds through
    with --cluster; a trial that fails is named."""
    address, _, env = cluster
    script = """
import json, sys
from workbench.rl.sweep import map_trials

def run(config):
    if config["seed"] == 13:
        raise ValueError("unlucky")
    return {"seed": config["seed"], "square": config["seed"] ** 2}

print(json.dumps(map_trials(run, [{"seed": s} for s in (3, 1, 2)], sys.argv[1])))
try:
    map_trials(run, [{"seed": 1}, {"seed": 13}], sys.argv[1])
except RuntimeError as error:
    print(error)
"""
    out = subprocess.run([sys.executable, "-c", script, address], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    first, second = out.stdout.strip().splitlines()[-2:]
    assert json.loads(first) == [{"seed": 3, "square": 9}, {"seed": 1, "square": 1},
                                 {"seed": 2, "square": 4}]
    assert second == "trial {'seed': 13} failed: ValueError: unlucky"


def test_every_node_is_asked_whether_it_sees_the_workspace(cluster, tmp_path):
    """Each node answers for itself (a task pinned to it): where none has the folder, both
    nodes are named; where all have it, none is."""
    address, _, env = cluster
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "workspace.json").write_text("{}")
    probe = ("import json, sys; from pathlib import Path; "
             "from workbench.rl.ray_rollouts import connect, nodes_without; "
             "print(json.dumps(nodes_without(connect(sys.argv[1]), Path(sys.argv[2]))))")
    blind = {}
    for folder in ("ws", "elsewhere"):
        out = subprocess.run([sys.executable, "-c", probe, address, str(tmp_path / folder)],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        blind[folder] = last_json(out.stdout)
    assert blind["ws"] == []
    assert len(blind["elsewhere"]) == 2 and all("(node " in n for n in blind["elsewhere"])


def test_rollouts_on_the_worker_node_survive_its_death(cluster, tmp_path):
    address, worker, env = cluster
    workspace = tmp_path / "ws"
    training = start_training(address, workspace, env, SURVIVAL_STEPS, "--rollout-actors", "1",
                      "--checkpoint-every", "1")
    try:
        # Once the run has checkpointed twice, the worker node dies with its rollout worker.
        deadline = time.monotonic() + 240
        log = None
        while time.monotonic() < deadline and training.poll() is None:
            logs = list(workspace.glob("runs/*/metrics.jsonl"))
            if logs and sum('"charts/success_rate"' in line
                            for line in logs[0].read_text().splitlines()) >= 2:
                log = logs[0]
                break
            time.sleep(0.2)
        assert log is not None, training.stderr.read() if training.poll() is not None else ""
        os.killpg(worker.pid, signal.SIGKILL)
        out, err = training.communicate(timeout=400)
    finally:
        if training.poll() is None:
            training.kill()
    assert training.returncode == 0, err[-3000:]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    events = [r for r in records if "event" in r]
    # First on the worker node, then (that node gone) on the head, the only node left.
    assert events[0]["rollout_workers"] and not events[0]["rollout_workers"][0]["head"]
    assert "a rollout worker was lost" in events[1]["event"]
    assert "the last checkpoint" in events[1]["event"]
    assert events[1]["rollout_workers"][0]["head"]
    steps = [r["step"] for r in records if "charts/success_rate" in r]
    assert steps[-1] == SURVIVAL_STEPS  # completed
    lost_at = events[1]["step"]
    resumed = [s for s in steps if s > lost_at]
    assert resumed and resumed[0] <= lost_at + 256  # continued from the last checkpoint
    with Workspace.open(workspace) as ws:
        [run] = ws.runs("Reach")
    assert run["status"] == "finished" and run["metrics"]["rollout_workers_lost"] == 1
    assert (Path(run["path"]) / "policy").exists()


def test_a_reward_fit_whose_node_dies_starts_again_on_another(cluster, tmp_path):
    """Ray runs the fit again when its node dies (a task is retried on a lost node, never on
    its own error). The other nodes' CPUs are held until then, so that the first try lands on
    a node this test starts and kills."""
    address, _, env = cluster
    workspace = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "workbench.cli.main", "record", "Reach", "--scripted",
                    "3", "-w", str(workspace)], env=env, capture_output=True, timeout=300,
                   check=True)
    script = HOLD_THE_OTHER_NODES + """
import json
from dataclasses import replace
from pathlib import Path
from workbench.operations.base import Progress
from workbench.operations.rewards import FitReward
from workbench.rewards.workflow import progress_defaults

class Said(Progress):
    def emit(self, kind, **data):
        print(json.dumps([kind, data]), flush=True)

config = replace(progress_defaults("Reach"), epochs=3000, kernel=0.0)
result = FitReward(scene="Reach", cluster=sys.argv[1], workspace=Path(sys.argv[2]),
                   config=config).perform(Said())
print(json.dumps(["result", result]), flush=True)
"""
    seen = []
    with a_node_to_lose(address, env) as (node, others), run_driver(
            script, address, str(workspace), others, env=env) as fit:
        for line in fit.stdout:  # its node dies at its first epoch (of seconds' worth)
            if not line.startswith("["):  # Ray's own notice of the retry
                continue
            seen.append(json.loads(line))
            if "epoch" in seen[-1][1]:
                break
        out, err = lose_node(node, fit)
    assert fit.returncode == 0, err[-3000:]
    seen += [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    said = [data["text"] for kind, data in seen if kind == "message"]
    assert any("was lost; Ray started it again on node" in text for text in said), said
    epochs = [data["epoch"] for kind, data in seen if "epoch" in data]
    restart = next(i for i in range(1, len(epochs)) if epochs[i] < epochs[i - 1])
    assert epochs[restart] == 1 and epochs[-1] == 3000  # from the start, to the end
    result = seen[-1][1]
    with Workspace.open(workspace) as ws:
        [model] = ws.models("Reach")
    assert model["path"] == result["path"] and (Path(result["path"]) / "config.json").is_file()


@pytest.mark.parametrize("where", ["in place", "shipped"])
def test_a_sweep_trial_whose_node_dies_resumes_its_run_from_the_checkpoint(cluster, tmp_path,
                                                                           where):
    """Tune starts the trial again on another node (the other nodes' CPUs held until the node
    this test starts is killed); the trial goes on with its own run from that run's last
    checkpoint: one run, finished, and the sweep counts no failure. In place, every node sees
    the workspace; shipped, none does: the trial trains on a reward model from outside the
    workspace that travels with it, its restart resumes from the copy of the run it sent
    back, and the run comes back into the workspace naming that model."""
    address, _, env = cluster
    workspace, demos = tmp_path / "ws", tmp_path / "demos"
    steps = 16 * 256  # any budget the kill lands in, two updates in
    settings = ["ppo.total_steps=" + str(steps)]  # checkpoint_every: the default, 5
    if where == "shipped":
        for command in (["record", "Reach", "--scripted", "3"], ["train-reward", "Reach"]):
            made = subprocess.run([sys.executable, "-m", "workbench.cli.main", *command, "-w",
                                   str(demos)], env=env, capture_output=True, text=True,
                                  timeout=300, check=True)
        model = json.loads(made.stdout)["path"]
        grid = (f"reward={model}",)
        script = HOLD_THE_OTHER_NODES + SHIPPED_SWEEP
        before = _scratch_copies()  # a node killed by an earlier test left its copy behind
        logs = lambda: [log for copy in _scratch_copies() - before  # noqa: E731
                        for log in copy.glob("runs/*/metrics.jsonl")]
    else:
        grid = ("reward=reference",)
        script = HOLD_THE_OTHER_NODES + SHIPPED_SWEEP.replace(
            "cluster.nodes_without = training.nodes_without = ", "every_node_sees_it = ")
        logs = lambda: list(workspace.glob("runs/*/metrics.jsonl"))  # noqa: E731
    script += f"""
print(json.dumps(sweep(sys.argv[2], {grid!r}, *{settings!r})["result"]["ranking"]))
"""
    with a_node_to_lose(address, env) as (node, others), run_driver(
            script, address, str(workspace), others, env=env) as sweep:
        deadline, logged = time.monotonic() + 240, 0
        while time.monotonic() < deadline and sweep.poll() is None:
            found = logs()
            logged = sum('"charts/success_rate"' in line for line in found[0].read_text(
                ).splitlines()) if found else 0
            # Two updates in: its node dies. A shipped trial sends its run back once each
            # update's checkpoint is written, so the copy sent after update 1 (done before
            # update 2 logs) can be resumed.
            if logged >= 2:
                break
            time.sleep(0.2)
        assert logged >= 2, sweep.stderr.read() if sweep.poll() is not None else ""
        lost_at = time.time()
        out, err = lose_node(node, sweep)
    assert sweep.returncode == 0, err[-3000:]
    [row] = last_json(out)
    assert (row["failed"], row["finished"]) == (0, 1), row
    with Workspace.open(workspace) as ws:
        [run] = ws.runs("Reach")
    assert run["status"] == "finished" and (Path(run["path"]) / "policy").exists()
    assert row["runs"] == [run["path"]]
    assert run["created"] < lost_at  # the same run went on, not a second one from scratch
    logged = [json.loads(line)["step"] for line in (Path(run["path"]) / "metrics.jsonl")
              .read_text().splitlines() if "charts/success_rate" in line]
    assert logged[0] == 256 and logged[-1] == steps and logged.count(256) == 1
    if where == "shipped":
        saved = json.loads((Path(run["path"]) / "config.json").read_text())
        assert saved["reward_model"] == model and run["metrics"]["reward"] == model
        policy = json.loads((Path(run["path"]) / "policy" / "policy.json").read_text())
        assert policy["reward"] == model  # what a bundle exported from it records
        # The killed node's copy: cleared by a trial started after its worker had exited, a
        # race here, where the restarted trial starts at once on the same machine.
        for copy in _scratch_copies() - before:
            shutil.rmtree(copy, ignore_errors=True)
