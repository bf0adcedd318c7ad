"""`workbench run BUNDLE --video FILM.mp4`: a film of the simulated episodes, read back with
OpenCV (its own FFmpeg build, not the PyAV that wrote it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.films import changed, film_frames
from workbench.config import ConfigError
from workbench.data import Workspace
from workbench.envs.env import make_env
from workbench.export.runner import run_in_sim
from workbench.operations.run import RunBundle
from workbench.sim.render import CameraRenderer, viewer_camera


def test_a_film_shows_every_tick_of_every_episode_at_the_control_rate(bundle, tmp_path):
    """Each frame is the state its tick left, as the scene's own camera sees it: the run is
    also recorded, and every recorded state rendered again is compared with its frame."""
    film = tmp_path / "films" / "reach.mp4"  # its folder is made
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        result = run_in_sim(bundle, episodes=2, record=ws, video=film)
        episodes = [ws.load_episode(i) for i in result["recorded_episodes"]]
    frames, fps = film_frames(film)

    env = make_env("Reach")
    steps = env.task.episode_steps
    assert result["episodes"] == 2 and result["video"] == str(film)
    assert len(frames) == result["video_frames"] == 2 * (steps + 1)  # each reset, each tick
    assert frames[0].shape == (480, 640, 3)
    assert fps == pytest.approx(1.0 / env.control_dt, rel=1e-3)
    ticks = (0, steps // 2, steps)
    renders = {}  # (episode, tick) -> the recorded state rendered again
    with CameraRenderer(env.physics.model, 640, 480) as renderer:
        for number, episode in enumerate(episodes):
            env.reset(seed=episode.meta["seed"])  # the episode's colours
            states = [episode.initial()["sim_state"], *episode["sim_state"]]
            assert len(states) == steps + 1
            for tick in ticks:
                env.restore(states[tick])
                view = viewer_camera(env.physics.model, env.viewer)
                renders[number, tick] = renderer.rgb(env.physics.data, view).astype(np.float32)
    env.close()
    # Each frame is its own state's render within the codec's loss (measured: 0.7-1.3e-4 of
    # the pixels), and much closer to it than to the other episode's state at that tick
    # (its marker is elsewhere: 1e-3 at the start).
    for (number, tick), seen in renders.items():
        frame = frames[number * (steps + 1) + tick]
        assert changed(frame, seen) < 1e-3
        assert 3 * changed(frame, seen) < changed(frame, renders[1 - number, tick])
    # The policy moved the arm over the first episode (2.8e-3 from its start).
    assert changed(frames[steps], renders[0, 0]) > 6e-4


def test_a_named_camera_films_from_there(bundle, tmp_path):
    cameras = make_env("Reach").task.cameras
    assert len(cameras) >= 2
    run_in_sim(bundle, episodes=1, video=tmp_path / "a.mp4", camera=cameras[0])
    run_in_sim(bundle, episodes=1, video=tmp_path / "b.mp4", camera=cameras[1])
    (a, _), (b, _) = film_frames(tmp_path / "a.mp4"), film_frames(tmp_path / "b.mp4")
    assert len(a) == len(b) and np.abs(a[0].astype(np.float32) - b[0]).mean() > 10.0


@pytest.mark.parametrize(("options", "message"), [
    ({"video": Path("film.avi")}, "video: give a path ending in .mp4"),
    ({"video": Path("kept.mp4")}, "video: .*kept.mp4 exists"),
    ({"video": Path("film.mp4"), "robot": "10.0.0.2:9870"}, "video: .*in simulation"),
    ({"camera": "front"}, "camera: .*with --video"),
])
def test_what_cannot_be_filmed_is_refused_before_anything_runs(bundle, tmp_path, monkeypatch,
                                                                options, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept.mp4").write_bytes(b"a film made before")
    with pytest.raises(ConfigError, match=message):
        RunBundle(bundle=bundle, **options)
    assert (tmp_path / "kept.mp4").read_bytes() == b"a film made before"
    assert not (tmp_path / "film.mp4").exists() and not (tmp_path / "film.avi").exists()


def test_an_unknown_camera_is_one_line_from_the_command_line(bundle, tmp_path):
    film = tmp_path / "film.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli.main", "run", str(bundle), "--episodes", "1",
         "--video", str(film), "--camera", "ceiling"], capture_output=True, text=True,
        timeout=300)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert last.startswith("workbench run: error: --camera: Reach has the cameras")
    assert "'ceiling'" in last and not film.exists()


def test_the_command_line_reports_the_film(bundle, tmp_path):
    film = tmp_path / "film.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli.main", "run", str(bundle), "--episodes", "1",
         "--video", str(film)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["video_frames"] == len(film_frames(film)[0])


def test_recorded_episodes_are_filmed_from_their_stored_states(tmp_path):
    """`workbench episode film`: every stored state of each take, one after another, as the
    Record panel's timeline shows it."""
    from workbench.envs.replay import EpisodeReplay, env_for
    from workbench.operations.base import Progress
    from workbench.operations.workspace import FilmEpisodes
    from workbench.teleop.recorder import record_demo_set

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        record_demo_set(ws, "Reach", 1)  # a demo and its failed takes
        ids = [row["id"] for row in ws.episodes(scene="Reach")][:2]
        episodes = [ws.load_episode(i) for i in ids]
    film = tmp_path / "takes.mp4"
    result = FilmEpisodes(ids=tuple(ids), out=film, workspace=tmp_path / "ws").perform(
        Progress())
    frames, _ = film_frames(film)
    lengths = [len(e["sim_state"]) for e in episodes]
    assert len(frames) == result["frames"] == sum(lengths) and result["film"] == str(film)
    env = env_for(episodes[0])
    replay = EpisodeReplay(env)
    with CameraRenderer(env.physics.model, 640, 480) as renderer:
        for number, episode in enumerate(episodes):
            for t in (0, lengths[number] - 1):
                replay.show(episode, t)
                view = viewer_camera(env.physics.model, env.viewer)
                seen = renderer.rgb(env.physics.data, view).astype(np.float32)
                assert changed(frames[sum(lengths[:number]) + t], seen) < 1e-3  # 1.3-2e-4
    env.close()
    # the first take's start is not its end: the film moves with the take (1.6e-2)
    assert changed(frames[0], frames[lengths[0] - 1].astype(np.float32)) > 6e-4


def test_what_cannot_be_filmed_from_a_workspace_is_refused_in_one_line(tmp_path):
    from workbench.data.edit import import_video
    from workbench.operations.base import Progress
    from workbench.operations.workspace import FilmEpisodes
    from workbench.teleop.recorder import record_demo_set

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        record_demo_set(ws, "Reach", 1)
        record_demo_set(ws, "Push", 1)
        reach = ws.episodes(scene="Reach")[0]["id"]
        push = ws.episodes(scene="Push")[0]["id"]
    first = tmp_path / "first.mp4"
    FilmEpisodes(ids=(reach,), out=first, workspace=tmp_path / "ws").perform(Progress())
    with Workspace.open(tmp_path / "ws") as ws:  # a person's video of the task: no states
        video = import_video(ws, first, "Reach", "move the gripper to the red marker")
    for ids, message in [((reach, push), "ids: film the episodes of one scene and robot"),
                         ((video,), f"ids: episode {video} has no simulator states"),
                         ((99,), "no episode 99")]:
        with pytest.raises((ValueError, RuntimeError), match=message):  # one-line errors
            FilmEpisodes(ids=ids, out=tmp_path / "new.mp4",
                         workspace=tmp_path / "ws").perform(Progress())
        assert not (tmp_path / "new.mp4").exists()
    with pytest.raises(ConfigError, match="out: .*first.mp4 exists"):
        FilmEpisodes(ids=(reach,), out=first, workspace=tmp_path / "ws")
    with pytest.raises(ConfigError, match="out: give the MP4 to write"):
        FilmEpisodes(ids=(reach,), workspace=tmp_path / "ws")
