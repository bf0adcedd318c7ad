"""One application layer: every operation is a CLI command generated from its request and an
action of the app, and both front ends hand the operation the same request type."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import pytest

from gui.main_window import MainWindow
from gui.settings import Settings
from workbench.cli import generate
from workbench.cli import main as cli_main
from workbench.cli.generate import Parser, command_line
from workbench.config import ConfigError
from workbench.data.formats.video import read_video
from workbench.data.workspace import Workspace
from workbench.operations import OPERATIONS, named
from workbench.rl.run_config import RunConfig
from workbench.session import Session
from workbench.session.context import Context

NAMES = {operation.name for operation in OPERATIONS}

# How a person asks for each operation on the command line.
CLI = {
    "record": ["record", "Push", "--scripted", "2", "--failures", "--seed", "3"],
    "train-reward": ["train-reward", "Push", "--family", "staged", "--epochs", "3",
                     "--inputs", "hand_to_cube", "cube_to_target"],
    "teach": ["teach", "Push", "--teacher", "mistake", "--labels", "7", "--active"],
    "score-goal": ["score-goal", "Push", "push the cube onto the pad", "--max-episodes", "3"],
    "goal": ["goal", "Push", "push the cube onto the pad", "--baseline", "a cube on a table"],
    "write-reward": ["write-reward", "Push", "--base-url", "http://localhost:11434/v1",
                     "--model", "qwen2.5-coder", "--candidates", "3", "--train-best", "0"],
    "train": ["train", "Push", "--steps", "4096", "--ppo.lr", "0.001", "--no-hacking-guard",
              "--ppo.hidden", "32", "32", "--reward", "reference"],
    "sweep": ["sweep", "Push", "--grid", "ppo.lr=1e-4,3e-4", "reward=reference,sparse",
              "--seeds", "3", "--steps", "4096"],
    "export": ["export", "--scene", "Push", "--out", "bundle"],
    "run": ["run", "bundle", "--episodes", "3", "--robot", "10.0.0.2:9000", "--steps", "50"],
    "limits": ["limits", "bundle", "--max-velocity", "2", "3", "--watchdog-timeout", "0.1"],
    "sim-to-real": ["sim-to-real", "so101_dataset", "--robot", "so101", "--episodes", "2"],
    "lerobot-eval": ["lerobot-eval", "act_policy", "--scene", "Reach", "--episodes", "2",
                     "--seed", "5"],
    "dataset export": ["dataset", "export", "demos.hdf5", "--scene", "Push"],
    "dataset import": ["dataset", "import", "lerobot", "--format", "lerobot"],
    "workspace info": ["workspace", "info"],
    "workspace check": ["workspace", "check"],
    "workspace recover": ["workspace", "recover"],
    "episode delete": ["episode", "delete", "3", "4"],
    "episode film": ["episode", "film", "3", "4", "--out", "takes.mp4", "--camera", "top"],
}


def _parse(argv: list[str]):
    operation = named(" ".join(argv[:2]) if " ".join(argv[:2]) in NAMES else argv[0])
    words = len(operation.name.split())
    parser = Parser(prog="workbench")
    generate.add_arguments(parser, operation.request_class, argv[words:])
    return operation, generate.request_from(operation.request_class,
                                            parser.parse_args(argv[words:]))


def test_every_operation_is_a_cli_command_that_builds_its_request(monkeypatch, tmp_path):
    assert set(CLI) == NAMES
    seen = []
    monkeypatch.setattr(cli_main, "execute", lambda request, progress: seen.append(request) or {})
    for name, argv in CLI.items():
        extra = ([] if name in ("run", "limits", "sim-to-real", "lerobot-eval")
                 else ["--workspace", str(tmp_path)])
        assert cli_main.main([*argv, *extra]) == 0, name
        assert type(seen[-1]) is named(name).request_class, name
    train = seen[list(CLI).index("train")]
    assert (train.config.ppo.total_steps, train.config.ppo.lr) == (4096, 0.001)
    assert train.config.ppo.hidden == (32, 32) and not train.config.hacking_guard
    fit = seen[list(CLI).index("train-reward")]
    assert type(fit.config).__name__ == "StagedConfig" and fit.config.epochs == 3
    assert fit.config.inputs == ("hand_to_cube", "cube_to_target")


@pytest.mark.parametrize("name", sorted(NAMES))
def test_a_request_reads_back_from_the_command_it_prints(name):
    """``command_line`` (what ``workbench loop`` shows) parses back to an equal request."""
    operation, request = _parse(CLI[name])
    again = shlex.split(command_line(operation.name, request))[1:]
    assert _parse(again)[1] == request


def test_a_list_option_takes_commas_as_its_help_writes_them_but_a_grid_keeps_its_own():
    """The help, the app's forms and KEY=VALUE overrides write lists with commas
    (`mirror` 1,-1,-1); the command line reads them so too, and spaces as before."""
    _, fit = _parse(["train-reward", "Push", "--family", "preference", "--inputs",
                     "hand_to_cube,cube_to_target", "--hidden", "32,", "16", "--mirror",
                     "1,-1", "1"])
    assert fit.config.inputs == ("hand_to_cube", "cube_to_target")
    assert (fit.config.hidden, fit.config.mirror) == ((32, 16), (1.0, -1.0, 1.0))
    with pytest.raises(SystemExit):  # each part checked: one sign is 2
        _parse(["train-reward", "Push", "--family", "preference", "--mirror", "1,2"])
    _, sweep = _parse(["sweep", "Push", "--grid", "ppo.lr=1e-4,3e-4", "seed=1,2"])
    assert sweep.grid == ("ppo.lr=1e-4,3e-4", "seed=1,2")  # a grid's values, not items
    _, delete = _parse(["episode", "delete", "3,4", "5"])
    assert delete.ids == (3, 4, 5)


def test_a_request_left_at_its_family_defaults_prints_as_its_command():
    from workbench.operations.rewards import FitReward
    from workbench.rewards import families

    request = FitReward(scene="Push", family="staged")  # config None: the scene's defaults
    line = command_line("train-reward", request)
    assert line == "workbench train-reward Push --family staged"
    assert _parse(shlex.split(line)[1:])[1].config == families.get("staged").default_config(
        "Push")


def test_a_run_printed_as_its_command_leaves_out_what_its_scene_sets_itself():
    """Reach's runs start from its preference inputs (``RunConfig.for_scene``): `workbench
    loop` printed them as if the person had typed them, on a run with no online feedback."""
    from workbench.operations.training import Train

    request = Train(workspace=Path("ws"), config=RunConfig.for_scene("Reach", reward="reference"))
    line = command_line("train", request)
    assert line == "workbench train Reach --workspace ws --reward reference"
    assert _parse(shlex.split(line)[1:])[1] == request
    plain = Train(workspace=Path("ws"), config=RunConfig(scene="Reach", reward="reference"))
    assert _parse(shlex.split(command_line("train", plain))[1:])[1] == plain  # told: all


def test_the_whole_loop_runs_from_the_command_line_as_its_stages_print(tmp_path, capsys):
    """`workbench loop` (what `--headless` runs): each stage through its operation, shown as
    the command that does it alone, down to the bundle run in simulation; here with the
    SO-101 standing in for the scene's arm, as its owner would run it."""
    film = tmp_path / "loop.mp4"  # a headless person's way to see the policy
    assert cli_main.main(["loop", "Push", "--demos", "2", "--steps", "1024", "--workspace",
                          str(tmp_path / "ws"), "--video", str(film), "--robot", "so101"]) == 0
    shown = [line[2:] for line in capsys.readouterr().out.splitlines() if line.startswith("$ ")]
    assert [shlex.split(line)[1] for line in shown] == [
        "record", "record", "record", "train-reward", "train", "export", "run"]
    assert "--ppo.total-steps 1024" in shown[4]
    assert all("--robot so101" in line for line in shown[:5])
    rows = Workspace.open(tmp_path / "ws").episodes(scene="Push")
    assert {row["meta"].get("robot") for row in rows} == {"so101"}
    assert f"--video {film}" in shown[6] and len(read_video(film)) > 10
    for line in shown[:-1]:  # each parses back into its operation's request
        _parse(shlex.split(line)[1:])


def test_a_sweep_takes_the_cluster_its_trials_run_on_apart_from_the_run_settings():
    """--cluster says where a sweep's trials run; each trial steps its envs in its own worker,
    so a trial may use what a run stepping its envs on a cluster may not (a curriculum, online
    feedback: they were refused as one run's settings), and the rollout-actor options are not
    offered."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as head:  # something answers the address
        address = f"127.0.0.1:{head.getsockname()[1]}"
        operation, request = _parse(["sweep", "Push", "--cluster", address, "--curriculum",
                                     "--online-feedback"])
        assert (request.cluster, request.config.cluster) == (address, "")
        assert request.config.curriculum and request.config.online_feedback
        assert _parse(shlex.split(command_line(operation.name, request))[1:])[1] == request
    with pytest.raises(ConfigError, match="^cluster: a sweep's trials each step"):
        type(request)(config=RunConfig(scene="Push", cluster="auto"))  # the run's, in code
    options = {leaf.option for leaf in generate.leaves(operation.request_class, {})}
    assert "--cluster" in options
    assert not options & {"--rollout-actors", "--cluster-retries"}
    train = {leaf.option for leaf in generate.leaves(named("train").request_class, {})}
    assert {"--cluster", "--rollout-actors", "--cluster-retries"} <= train


def test_every_field_of_every_request_is_an_option(tmp_path):
    for operation in OPERATIONS:
        cls = operation.request_class
        known = {"family": "perceptual", "scene": "Push"}
        options = {leaf.dest.partition(generate.SEP)[0] for leaf in generate.leaves(cls, known)}
        assert options == {f.name for f in dataclasses.fields(cls)}, operation.name


# -- the app -----------------------------------------------------------------------------------
class Recorded:
    """Stands in for the worker process: notes the request, performs nothing."""

    seen: list = []

    def __init__(self, request):
        Recorded.seen.append(request)
        self.request, self.state, self.paused, self.running = request, "done", False, False

    def start(self):
        return self

    def poll(self):
        return []

    def stop(self):
        pass

    kill = stop


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, app_settings):
    monkeypatch.setattr("workbench.session.board.Job", Recorded)
    perform = Context.perform
    monkeypatch.setattr(Context, "perform",
                        lambda self, request: Recorded.seen.append(request) or perform(
                            self, request))
    monkeypatch.setattr("gui.workspace_menu.QMessageBox.information", lambda *a: None)
    monkeypatch.setattr("gui.workspace_menu.QMessageBox.warning", lambda *a: None)
    monkeypatch.setattr("gui.workspace_menu.QFileDialog.getSaveFileName",
                        lambda *a: (str(tmp_path / "out.hdf5"), ""))
    monkeypatch.setattr("gui.workspace_menu.QFileDialog.getExistingDirectory",
                        lambda *a: str(tmp_path / "lerobot"))
    monkeypatch.setattr("gui.panels.record.QFileDialog.getSaveFileName",
                        lambda *a: (str(tmp_path / "take.mp4"), ""))
    session = Session(tmp_path / "ws", scene="Push")
    session.recording.record_scripted(1, with_failures=False)
    win = MainWindow(session, Settings())
    qtbot.addWidget(win)
    yield win
    win.close()
    session.close()


def _delete_first_episode(window):
    record = window.panels["Record"]
    record.episodes.setCurrentRow(0)
    record.delete.click()


def _film_first_episode(window):
    record = window.panels["Record"]
    if not record.episodes.count():  # "episode delete" took the fixture's take
        window.session.recording.record_scripted(1, with_failures=False)
        record.refresh()
    record.episodes.setCurrentRow(0)
    record.film.click()


def _sweep(window):
    window.panels["Train"].sweep_toggle.click()
    sweep = window.panels["Train"].sweep
    sweep.grid.setText("ppo.lr=1e-4,3e-4")
    sweep.start.click()


def _export(window):
    export = window.panels["Export"]
    export.run_path = "run"  # as a selected run leaves it
    export.export_button.setEnabled(True)
    export.export_button.click()


def _run_bundle(window):
    export = window.panels["Export"]
    export.bundle = "bundle"  # as a finished export leaves it
    export.run_button.setEnabled(True)
    export.run_button.click()


def _set_limits(window):
    export = window.panels["Export"]
    export.limits.show_bundle("bundle", {"safety": {"low": [-1], "high": [1], "max_velocity": [
        1], "max_acceleration": [2], "watchdog_timeout": 0.1}})
    export.save_limits.setEnabled(True)
    export.save_limits.click()


def _write_reward(window):
    code = window.panels["Code"]
    code.ask_toggle.click()
    code.author.widget("base_url").setText("http://localhost:11434/v1")
    code.author.widget("model").setText("qwen2.5-coder")
    code.ask.click()


def _save_goal(window):
    window.panels["Goal"].goal.setText("push the cube onto the pad")
    window.panels["Goal"].save.click()


def _score_goal(window):
    window.panels["Goal"].goal.setText("push the cube onto the pad")
    window.panels["Goal"].score.click()


APP = {
    "record": lambda w: w.panels["Record"].scripted.click(),
    "train-reward": lambda w: w.panels["Reward"].fit_button.click(),
    "teach": lambda w: w.panels["Rank"].teach_button.click(),
    "score-goal": _score_goal,
    "goal": _save_goal,
    "write-reward": _write_reward,
    "train": lambda w: w.panels["Train"].start.click(),
    "sweep": _sweep,
    "export": _export,
    "run": _run_bundle,
    "limits": _set_limits,
    "sim-to-real": lambda w: w.panels["Export"].replay_button.click(),
    "lerobot-eval": lambda w: w.panels["Export"].lerobot_button.click(),
    "dataset export": lambda w: w.workspace_menu.actions["Export dataset…"].trigger(),
    "dataset import": lambda w: w.workspace_menu.actions["Import LeRobot dataset…"].trigger(),
    "workspace info": lambda w: w.workspace_menu.actions["Summary"].trigger(),
    "workspace check": lambda w: w.workspace_menu.actions["Check files"].trigger(),
    "workspace recover": lambda w: w.workspace_menu.actions["Recover after a crash"].trigger(),
    "episode delete": _delete_first_episode,
    "episode film": _film_first_episode,
}


def test_every_operation_is_an_action_of_the_app(window):
    assert set(APP) == NAMES
    problems = []
    for name, act in APP.items():
        Recorded.seen.clear()
        act(window)
        kinds = [type(request) for request in Recorded.seen]
        if named(name).request_class not in kinds:
            problems.append(f"{name}: the app sent {[k.__name__ for k in kinds]}")
    assert not problems, problems
