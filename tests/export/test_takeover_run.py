"""A person takes over from a policy the runner drives (workbench/export/takeover.py): their
command replaces the policy's while they steer and shortly after, through the safety filter,
on the runner's own path; the ticks they commanded are counted and logged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.config import ConfigError
from workbench.export.runner import run_in_sim
from workbench.export.takeover import Takeover, gamepad_device
from workbench.operations.base import Progress
from workbench.operations.run import RunBundle


class Recording:
    """The runner's monitor: keeps what the filter was given and what it sent."""

    def __init__(self):
        self.actions, self.commands = [], []

    def __call__(self, observation, action, command) -> bool:
        self.actions.append(np.array(action))
        self.commands.append(np.array(command))
        return False


def test_the_persons_command_replaces_the_policys_while_they_steer(bundle, tmp_path):
    person = np.array([0.9, -0.9, 0.0, 1.0])[: len(json.loads(
        (bundle / "bundle.json").read_text())["action"]["labels"])]
    polls = iter([None] * 10 + [person] * 10 + [None] * 1000)
    takeover = Takeover(lambda: next(polls), log_path=tmp_path / "takeover.jsonl",
                        release_ticks=5)
    seen = Recording()
    result = run_in_sim(bundle, episodes=1, monitor=seen, takeover=takeover)
    assert result["episodes"] == 1
    # ticks 11-20 steered, 21-24 within the release time, then the policy again
    human = [i for i, a in enumerate(seen.actions) if np.array_equal(a, person)]
    assert human == list(range(10, 24)) and result["human_ticks"] == 14
    assert not np.array_equal(seen.actions[24], person)
    # the person's command goes through the safety filter like the policy's
    assert all(np.all(np.abs(c) <= 1.0) for c in seen.commands)
    rows = [json.loads(line) for line in (tmp_path / "takeover.jsonl").read_text().splitlines()]
    assert [r["tick"] for r in rows] == list(range(11, 25))
    assert all(r["person"] == pytest.approx(person.tolist()) for r in rows)
    assert all(r["policy"] != r["person"] for r in rows) and len(rows[0]["observation"]) > 0


def test_a_simulated_run_records_its_episodes_with_the_persons_ticks(bundle, tmp_path):
    """`workbench run BUNDLE --takeover gamepad --record WS`: the takes SAC's --takeovers
    learns from, each step marked as the person's or the policy's."""
    from workbench.data import Workspace
    from workbench.envs.env import make_env
    from workbench.rl.run_config import RunConfig
    from workbench.rl.run_inputs import run_takeovers

    labels = json.loads((bundle / "bundle.json").read_text())["action"]["labels"]
    person = np.array([0.9, -0.9, 0.0, 1.0])[: len(labels)]
    polls = iter([None] * 10 + [person] * 10 + [None] * 10_000)
    seen = Recording()
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = run_in_sim(bundle, episodes=2, monitor=seen,
                            takeover=Takeover(lambda: next(polls), release_ticks=5), record=ws)
        first, second = (ws.load_episode(i) for i in result["recorded_episodes"])
        assert first.meta["source"] == "takeover" and len(first) == len(second) > 24
        assert list(np.flatnonzero(first["human"])) == list(range(10, 24))
        assert not second["human"].any()
        # what was recorded is what the safety filter sent, tick for tick
        sent = np.stack(seen.commands[: len(first)])
        np.testing.assert_allclose(first["action"], np.clip(sent, -1, 1), atol=1e-6)
        found = run_takeovers(ws, RunConfig(scene="Reach", reward="reference",
                                            algorithm="sac", takeovers=True),
                              make_env("Reach"), None)
        assert len(found) == 14
        np.testing.assert_allclose(found.action, first["action"][10:24])


def test_a_recorded_run_without_a_take_over_gives_the_next_reward_fit_its_failures(
        bundle, tmp_path):
    """`workbench run BUNDLE --record WS`: the policy's own episodes (source "policy"); the
    failed ones join the failed takes a reward is fitted against."""
    from workbench.data import Workspace
    from workbench.rewards.workflow import _split_demos
    from workbench.teleop.recorder import record_demo_set

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        record_demo_set(ws, "Reach", 1)  # one demo and its failed takes
        _, before, _, _ = _split_demos(ws, "Reach", 0.0)
        result = run_in_sim(bundle, episodes=2, record=ws)
        recorded = [ws.load_episode(i) for i in result["recorded_episodes"]]
        assert [e.meta["source"] for e in recorded] == ["policy", "policy"]
        assert result["episode_success"] == [False, False]  # an untrained policy
        _, after, _, _ = _split_demos(ws, "Reach", 0.0)
        assert {r["id"] for r in after} - {r["id"] for r in before} == set(
            result["recorded_episodes"])


def test_a_take_over_that_ends_in_success_is_a_demonstration(tmp_path):
    """A person who finishes what the policy began has shown the task: the reward fits use
    the take as a demo; a take-over that still fails is neither demo nor negative."""
    from workbench.data import Workspace
    from workbench.envs.env import make_env
    from workbench.rewards.workflow import _split_demos
    from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy

    env = make_env("Reach")
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        finished = record_policy_episodes(env, ws, scripted_policy(env), 1, "takeover")
        failed = record_policy_episodes(env, ws, random_policy(env), 1, "takeover", seed=5)
        assert ws.load_episode(finished[0]).meta["success"] and not ws.load_episode(
            failed[0]).meta["success"]
        demos, negatives, _, _ = _split_demos(ws, "Reach", 0.0)
        assert [r["id"] for r in demos] == finished and negatives == []
    env.close()


def test_a_policy_episode_a_person_stops_is_not_kept_as_a_failure(bundle, tmp_path):
    """Stopped mid-episode, the policy's take has no verdict: it is dropped, not recorded as
    a failed episode the next reward fit would learn to avoid."""
    from workbench.data import Workspace

    ticks = iter(range(10**6))
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = run_in_sim(bundle, episodes=3, record=ws,
                            monitor=lambda *_: next(ticks) >= 5)  # Stop at the sixth tick
        assert result["halted"] and result["episodes"] == 0
        assert result["recorded_episodes"] == [] and ws.episodes() == []


def test_a_run_without_a_device_is_the_policys_own(bundle):
    result = run_in_sim(bundle, episodes=1)
    assert result["human_ticks"] == 0


def test_a_gamepad_takes_over_while_a_stick_is_out_and_hands_back_when_centred():
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame as pg

    pg.init()
    try:
        pg.event.clear()
        read = gamepad_device(("dx", "dy", "dz", "gripper"), require_device=False)
        assert read() is None  # nothing touched
        pg.event.post(pg.event.Event(pg.JOYAXISMOTION, joy=0, instance_id=0, axis=1, value=-1.0))
        steering = read()
        assert steering is not None and steering[0] > 0  # stick up: away from the base
        assert read() is not None  # still held out
        pg.event.post(pg.event.Event(pg.JOYAXISMOTION, joy=0, instance_id=0, axis=1, value=0.0))
        assert read() is None
        pg.event.post(pg.event.Event(pg.JOYBUTTONDOWN, joy=0, instance_id=0, button=0))
        gripper = read()  # a button alone is steering too: the gripper opens
        assert gripper is not None and gripper[3] == 1.0
    finally:
        pg.quit()


def test_a_takeover_that_cannot_start_is_one_line(bundle, tmp_path):
    with pytest.raises(ConfigError, match=r"^takeover: no gamepad found"):
        RunBundle(bundle=bundle, takeover="gamepad").perform(None)  # type: ignore[arg-type]
    meta = json.loads((bundle / "bundle.json").read_text())
    joints = tmp_path / "joints"
    joints.mkdir()
    for part in bundle.iterdir():
        (joints / part.name).write_bytes(part.read_bytes())
    meta["action"]["labels"] = ["shoulder", "elbow"]
    (joints / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=r"^takeover: gamepad teleop drives end-effector"):
        RunBundle(bundle=joints, takeover="gamepad").perform(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takeover"):
        RunBundle(bundle=bundle, takeover="mouse")

    class App(Progress):
        commands = True

    with pytest.raises(ConfigError, match=r"^takeover: the keyboard steers end-effector"):
        RunBundle(bundle=joints, takeover="keyboard").perform(App())


def test_a_message_device_steers_while_its_messages_are_fresh_and_says_hands_off():
    import time

    from workbench.export.takeover import message_device

    inbox: dict = {}
    device = message_device(lambda: inbox.get("takeover"), max_age_s=0.5)
    assert device() is None  # nothing sent yet
    inbox["takeover"] = {"action": [0.5, 0.0, -0.5, 1.0], "sent": time.monotonic()}
    np.testing.assert_allclose(device(), [0.5, 0.0, -0.5, 1.0])
    inbox["takeover"] = {"action": None, "sent": time.monotonic()}
    assert device() is None  # handed back
    inbox["takeover"] = {"action": [1.0, 0, 0, 1], "sent": time.monotonic() - 2.0}
    assert device() is None  # a front end that went quiet leaves the policy in charge


def test_keys_sent_to_a_running_job_take_over_from_its_policy(bundle):
    """The app's path: the run is a worker process; the person's commands reach it through
    the job's inbox while it drives the simulation at the control rate."""
    import time

    from workbench.session.jobs import Job

    job = Job(RunBundle(bundle=bundle, episodes=2, realtime=True, takeover="keyboard")).start()
    deadline = time.monotonic() + 60
    while not any(e.kind == "telemetry" for e in job.poll()):  # the loop is running
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    for _ in range(10):  # about a second of holding a key
        job.send("takeover", action=[1.0, 0.0, 0.0, 1.0], sent=time.monotonic())
        time.sleep(0.1)
    job.send("takeover", action=None, sent=time.monotonic())
    job.wait(timeout=60)
    assert job.state == "done", job.error
    ticks = job.result["human_ticks"]
    assert 10 <= ticks <= 60 and job.result["episodes"] == 2  # of 120 ticks


def test_keyboard_take_over_needs_a_front_end_that_sends_keys(bundle):
    with pytest.raises(ConfigError, match="takeover: the keyboard takes over from the app"):
        RunBundle(bundle=bundle, takeover="keyboard").perform(Progress())


def test_a_runner_log_becomes_transitions_a_sac_run_learns_from(bundle, tmp_path):
    """A robot's take-overs reach training through the runner's log: each line is a whole
    transition (the observation it led to comes from the next tick), scored by a learned
    reward since a log has no simulator state."""
    from workbench.data import Workspace
    from workbench.envs.env import make_env
    from workbench.rl.run_config import RunConfig
    from workbench.rl.run_inputs import run_takeovers

    person = np.array([0.9, -0.9, 0.0, 1.0])
    polls = iter([None] * 10 + [person] * 10 + [None] * 10_000)
    log = tmp_path / "takeover.jsonl"
    seen = []
    run_in_sim(bundle, episodes=2, takeover=Takeover(lambda: next(polls), log_path=log),
               monitor=lambda observation, action, command: seen.append(observation) and False)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["tick"] for r in rows] == list(range(11, 25)) and {r["episode"] for r in rows} == {0}
    for row in rows:  # tick t's next observation is what tick t+1 saw
        assert row["next_observation"] == pytest.approx(seen[row["tick"]].tolist())

    class Scorer:  # a learned state reward: the first feature
        cameras = ()

        def check_features(self, features):
            pass

        def score(self, states):
            return np.asarray(states, np.float64)[:, 0]

    config = RunConfig(scene="Reach", reward="reference", algorithm="sac", takeovers=True,
                       takeover_logs=(str(log),))
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        found = run_takeovers(ws, config, make_env("Reach"), Scorer())
        assert len(found) == 14
        np.testing.assert_allclose(found.obs[0], seen[10], atol=1e-6)
        assert found.reward == pytest.approx([r["next_observation"][0] for r in rows], abs=1e-6)
        with pytest.raises(ConfigError, match="takeover_logs: a robot's log has no simulator"):
            run_takeovers(ws, config, make_env("Reach"), None)
        log.write_text(log.read_text() + '{"observation": [1, 2], "next_observation": [3]}\n')
        with pytest.raises(ConfigError, match=r"line 15: not a take-over log line"):
            run_takeovers(ws, config, make_env("Reach"), Scorer())
