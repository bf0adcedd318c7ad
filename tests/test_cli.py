"""The command line: each subcommand in-process through ``main``, as a user types it."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from workbench.cli.main import main
from workbench.envs.env import make_env
from workbench.registry import SCENES


def _last_json(capsys) -> dict:
    """The last JSON document a command printed (each prints one)."""
    out = capsys.readouterr().out
    start = out.rindex("\n{") + 1 if "\n{" in out else out.index("{")
    return json.loads(out[start:])


def test_scenes_json_lists_names_ids_and_tags(capsys):
    assert main(["scenes", "--json"]) == 0
    scenes = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert scenes["Push"]["id"] == "workbench/Push-v0"
    assert "manipulation" in scenes["Push"]["tags"]
    assert "locomotion" in scenes["Walk"]["tags"]
    # Whether a scene has a scripted demonstrator is read from its class, without a model:
    # it must agree with what the built scene's task hands out.
    for name in SCENES.names():
        env = make_env(name)
        has_one = env.task.scripted_policy(np.random.default_rng(0)) is not None
        env.close()
        assert scenes[name]["demonstrator"] == has_one, name
    assert scenes["Push"]["demonstrator"] and not scenes["Walk"]["demonstrator"]
    # The other robots a scene is laid out for, as `--robot` takes them; the listing says so.
    assert scenes["DrawerOpen"]["stand_ins"] == ["arm7", "panda", "so101"]
    assert scenes["Walk"]["stand_ins"] == [] == scenes["dmc-cheetah-run"]["stand_ins"]
    assert main(["scenes"]) == 0
    drawer = next(line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("DrawerOpen "))
    assert drawer.endswith("open the drawer  (also arm7, panda, so101)")


def test_view_writes_a_rendered_png(tmp_path, capsys):
    out = tmp_path / "push.png"
    assert main(["view", "Push", "--out", str(out), "--size", "320x240"]) == 0
    image = cv2.imread(str(out))
    assert image.shape == (240, 320, 3) and image.std() > 10
    so101 = tmp_path / "push-so101.png"  # another robot of the scene's kind stands in
    assert main(["view", "Push", "--out", str(so101), "--size", "320x240",
                 "--robot", "so101"]) == 0
    assert np.abs(cv2.imread(str(so101)).astype(int) - image).mean() > 1
    # --scripted: where the scene's scripted take ends (the drawer out), not where it starts.
    shut, opened = tmp_path / "shut.png", tmp_path / "opened.png"
    for out, extra in ((shut, []), (opened, ["--scripted"])):
        assert main(["view", "DrawerOpen", "--out", str(out), "--size", "160x120", *extra]) == 0
    assert np.abs(cv2.imread(str(opened)).astype(int) - cv2.imread(str(shut))).mean() > 1


def test_gallery_renders_every_scene_and_its_stand_in_robots(tmp_path, capsys):
    from workbench.registry import SCENES

    assert main(["scenes", "--gallery", str(tmp_path)]) == 0
    expected = [f"{n}.png" for n in SCENES.names()]
    expected += [f"{n}-{r}.png" for n in SCENES.names() for r in SCENES.load(n).stand_ins]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(expected)
    assert {"Push-so101.png", "PickPlace-panda.png"} <= set(expected)
    assert {"Push", "Reach", "Walk"} <= set(SCENES.names())


def test_record_train_reward_and_workspace_info(tmp_path, capsys):
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main(["record", "Push", "--scripted", "6", *ws]) == 0
    assert main(["record", "Push", "--random", "3", "--seed", "50", *ws]) == 0
    assert _last_json(capsys)["episodes"] == [7, 8, 9]
    assert main(["train-reward", "Push", "--epochs", "40", *ws]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["train_demos"] >= 4 and report["model_id"] == 1
    assert main(["workspace", "info", *ws]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 9 and len(info["models"]) == 1
    # The staged family, restricted to two named inputs, on the same takes.
    assert main(["train-reward", "Push", "--family", "staged", "--epochs", "20",
                 "--inputs", "hand_to_cube", "cube_to_target", *ws]) == 0
    capsys.readouterr()
    assert main(["workspace", "info", *ws]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert "staged_progress-Push" in models[-1]


@pytest.mark.parametrize("command", [
    ["record", "Juggle", "--scripted", "1"], ["train-reward", "Juggle"], ["teach", "Juggle"],
    ["goal", "Juggle", "juggle three balls"], ["score-goal", "Juggle", "juggle"],
    ["train", "Juggle", "--reward", "reference"], ["write-reward", "Juggle"],
    ["train", "dmc-cheetah-run", "--reward", "reference"]])
def test_every_command_refuses_an_unknown_scene_before_touching_the_workspace(
        command, tmp_path, capsys):
    ws = tmp_path / "ws"
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--workspace", str(ws)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "argument SCENE: must be one of 'AcrobotSwingup'" in err and f"got '{command[1]}'" in err
    assert not ws.exists()  # no goal saved for it, no workspace made


def test_scenes_says_which_the_commands_take(capsys):
    assert main(["scenes"]) == 0
    own, _, suite = capsys.readouterr().out.partition("dm_control suite tasks")
    assert "Push " in own and "dmc-" not in own
    assert "gymnasium envs only" in suite and "dmc-cheetah-run" in suite
    assert main(["scenes", "--json"]) == 0
    scenes = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert scenes["Push"]["commands"] and not scenes["dmc-cheetah-run"]["commands"]


def test_errors_are_one_clear_line_and_exit_2(tmp_path, capsys):
    assert main(["train-reward", "Push", "--workspace", str(tmp_path / "new")]) == 2
    assert "record some first" in capsys.readouterr().err
    # Where no scripted demonstrator exists the way there is another: ranked clips.
    assert main(["train-reward", "CheetahRun", "--workspace", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert "no scripted demonstrator" in err and "--family preference" in err
    assert "--scripted" not in err and len(err.strip().splitlines()) == 1
    assert main(["train", "Push", "--workspace", str(tmp_path / "new"), "--steps", "10"]) == 2
    assert "fit one first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train-reward", "Push", "--epochz", "3", "--workspace", str(tmp_path / "new")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    # Named by the subcommand it was given to, with the option meant.
    assert err.startswith("workbench train-reward: error: unrecognized arguments: --epochz")
    assert "did you mean --epochs?" in err and "`workbench train-reward --help`" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["--family", "code"], "error: --source-file: give the file of your reward code"),
    (["--family", "clip"], "error: --weights: give the folder of a CLIP checkpoint"),
    (["--cluster", "not an address"], "error: --cluster: 'not an address' is not an address"),
])
def test_a_setting_named_in_an_error_is_the_option_typed(argv, says, tmp_path, capsys):
    """The core and the app name a setting by its field (source_file); the command line names
    the option the person typed (--source-file)."""
    assert main(["record", "Push", "--scripted", "1", "--workspace", str(tmp_path / "ws")]) == 0
    capsys.readouterr()
    assert main(["train-reward", "Push", *argv, "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err


def test_standard_output_carries_the_result_alone(tmp_path, capsys, monkeypatch):
    """What a library prints while an operation runs (Ray's notice that it retries a task)
    goes to standard error: `workbench ... | jq` reads the result's JSON only."""
    import workbench.cli.main as cli

    def noisy(request, progress):
        print("(raylet) Task _perform failed. There are 3 retries remaining")
        return {"scene": request.scene}

    monkeypatch.setattr(cli, "execute", noisy)
    assert main(["train-reward", "Push", "--workspace", str(tmp_path / "ws")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"scene": "Push"} and "retries remaining" in err


def test_gui_without_a_screen_says_what_to_do(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["gui"]) == 2
    assert "--headless" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["scenes", "view", "teleop", "record", "train-reward",
                                     "teach", "score-goal", "train", "export", "run", "gui",
                                     "loop", "workspace", "dataset", "episode"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: workbench" in capsys.readouterr().out


def test_train_export_and_run_from_the_command_line(tmp_path, capsys):
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main(["record", "Push", "--scripted", "3", *ws]) == 0
    assert main(["train-reward", "Push", "--epochs", "10", *ws]) == 0
    assert main(["train", "Push", "--steps", "2048", "--eval-episodes", "2", *ws]) == 0
    capsys.readouterr()
    assert main(["export", *ws, "--out", str(tmp_path / "bundle")]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["parity"]["passed"]
    assert main(["run", str(tmp_path / "bundle"), "--episodes", "2"]) == 0
    assert 0.0 <= json.loads(capsys.readouterr().out)["success_rate"] <= 1.0


def test_teach_then_fit_a_preference_reward(tmp_path, capsys):
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main(["record", "Push", "--scripted", "3", *ws]) == 0
    assert main(["record", "Push", "--random", "3", "--seed", "9", *ws]) == 0
    assert main(["teach", "Push", "--teacher", "equal", "--labels", "30", *ws]) == 0
    capsys.readouterr()
    assert main(["train-reward", "Push", "--family", "preference", "--epochs", "20",
                 "--members", "4", *ws]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["members"] == 4 and report["train_labels"] + report.get(
        "held_out_labels", 0) <= 30
    assert main(["teach", "Push", "--labels", "5", "--active", *ws]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == 5
    with pytest.raises(SystemExit):
        main(["teach", "Push", "--teacher", "sloppy", *ws])
    assert "--teacher: must be one of 'oracle'" in capsys.readouterr().err


def test_dataset_export_and_import_from_the_command_line(tmp_path, capsys):
    src, dst = ["--workspace", str(tmp_path / "a")], ["--workspace", str(tmp_path / "b")]
    assert main(["record", "Push", "--scripted", "2", *src]) == 0
    for path in (tmp_path / "lerobot", tmp_path / "demos.hdf5"):
        assert main(["dataset", "export", str(path), *src]) == 0
        assert main(["dataset", "import", str(path), *dst]) == 0
    capsys.readouterr()
    assert main(["workspace", "info", *dst]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 4
    assert main(["dataset", "export", str(tmp_path / "lerobot"), *src]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err


def test_the_training_bar_shows_truth_beside_the_learned_return_and_the_guards_last_check():
    """Where success stays 0 (a hopper that never stands) the scene's reference return is the
    truth a person can follow; the guard's check of the mean action stays on the bar until the
    next one (it checks every so many updates)."""
    from workbench.cli.progress import TerminalProgress

    def update(step, extras):
        bars.emit("progress", step=step, total_steps=4096, fps=1000.0, learned_return=812.4,
                  success_rate=0.0, reference_return=57.25, extras=extras)
        return bars.bars["training"]

    with TerminalProgress() as bars:
        bar = update(1024, {})
        assert bar.postfix == "learned=812.4, reference=57.2, success=0.00"
        update(2048, {"monitor/eval_success": 0.0, "monitor/eval_return": 161.5})
        bar = update(3072, {})
        assert bar.postfix.endswith("checked_success=0.00, checked_reference=161.5")
