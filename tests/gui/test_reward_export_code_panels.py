"""The Reward, Export and Code panels running real jobs: fits of every kind, exports, and reward
code checked and searched."""

from __future__ import annotations

import json
from pathlib import Path

from PyQt6.QtCore import Qt

from workbench.data.formats.video import read_video
from workbench.session.events import Problem


def test_reward_train_and_export_panels_run_real_jobs(window, qtbot, tmp_path):
    session = window.session
    session.recording.record_scripted(5)
    reward = window.panels["Reward"]
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not session.jobs["reward"].running and (session.jobs.poll() or True)
                    and "Spearman" in reward.report.text(), timeout=180_000)
    assert len(reward.learned_curve.getData()[0]) > 0

    # The viewport's overlay now carries the learned reward of whatever it shows.
    session.browser.open(session.browser.episodes()[0]["id"], 10)
    assert "learned_reward" in session.live.live_reward() and "progress" in window.viewport.overlay
    session.browser.close()
    train = window.panels["Train"]
    train.steps.setValue(5_000)
    train.difficulty.setValue(1.0)
    train.curriculum.setChecked(True)
    qtbot.mouseClick(train.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or bool(train.history), timeout=300_000)
    qtbot.mouseClick(train.pause, Qt.MouseButton.LeftButton)
    assert session.jobs["train"].paused and train.pause.text() == "Resume"
    qtbot.mouseClick(train.pause, Qt.MouseButton.LeftButton)
    assert not session.jobs["train"].paused
    qtbot.waitUntil(lambda: session.jobs.poll() or session.jobs["train"].state != "running",
                    timeout=300_000)
    session.jobs.poll()
    assert "evaluation success" in train.status.text(), train.status.text()
    assert len(train.success_curve.getData()[0]) >= 1
    assert len(train.difficulty_curve.getData()[0]) >= 1  # the curriculum's stage, live
    assert session.live.preview_policy is not None  # snapshots reached the viewport
    # The panel lists the stored model with its report, and the run with its success curve.
    labels = [train.reward.itemText(i) for i in range(train.reward.count())]
    assert any("progress" in label and "Spearman" in label for label in labels), labels
    train.reward.setCurrentIndex(next(i for i, label in enumerate(labels) if "Spearman" in label))
    chosen = train.run_config()  # a stored model: named by its own field, not in `reward`
    assert chosen.reward == "model" and "progress" in chosen.reward_model
    assert train.runs.rowCount() == 1 and train.runs.item(0, 2).text().endswith("%")
    train.runs.selectRow(0)
    assert len(train.past_curve.getData()[0]) >= 1

    export = window.panels["Export"]
    export.refresh()
    assert export.runs.rowCount() == 1 and export.runs.item(0, 3).text() == "—"
    assert not export.run_button.isEnabled()  # nothing to run before the export
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or export.run_button.isEnabled(),
                    timeout=180_000)
    assert "parity passed" in export.status.text()
    assert export.runs.item(0, 3).text() == "exported"

    # Limits: one refused (nothing written), one saved into bundle.json.
    saved = Path(export.bundle) / "bundle.json"
    before = saved.read_bytes()
    assert export.limits.rowCount() == len(json.loads(before)["safety"]["low"])
    export.limits.item(0, 0).setText("0.9")  # low above high
    export.limits.item(0, 1).setText("0.1")
    qtbot.mouseClick(export.save_limits, Qt.MouseButton.LeftButton)
    assert "not saved" in export.status.text() and "below" in export.status.text()
    assert saved.read_bytes() == before
    export.limits.item(0, 0).setText("-1")
    export.limits.item(0, 1).setText("1")
    export.limits.item(0, 2).setText("0.5")
    qtbot.mouseClick(export.save_limits, Qt.MouseButton.LeftButton)
    assert "limits saved" in export.status.text()
    assert json.loads(saved.read_bytes())["safety"]["max_velocity"][0] == 0.5

    # Every driver offers a person's take-over; the request carries it as the CLI's does.
    robot = export.robot
    for driver in range(robot.driver.count()):
        robot.driver.setCurrentIndex(driver)
        assert robot.form.isRowVisible(robot.fields["takeover"])
    robot.driver.setCurrentIndex(0)
    robot.fields["takeover"].setCurrentIndex(1)
    assert robot.request(export.bundle).takeover == "gamepad"
    robot.fields["takeover"].setCurrentIndex(0)
    assert robot.request(export.bundle).takeover == ""

    # A simulated run keeps its episodes in the workspace (on by default): the failed ones
    # are negatives for the next reward fit; other drivers record nothing.
    assert robot.keep()
    robot.driver.setCurrentIndex(2)
    assert not robot.keep() and not robot.form.isRowVisible(robot.fields["keep"])
    robot.driver.setCurrentIndex(0)
    robot.fields["episodes"].setValue(2)
    robot.fields["realtime"].setCurrentIndex(1)
    robot.fields["video"].setText(str(tmp_path / "policy.mp4"))  # and filmed
    before = len(session.context.episodes())
    qtbot.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or "runner finished" in export.status.text(),
                    timeout=120_000)
    assert "2 recorded in the workspace" in export.status.text(), export.status.text()
    assert f"filmed into {tmp_path / 'policy.mp4'}" in export.status.text()
    steps = session.live.env.task.episode_steps  # the bundle's scene, Push
    assert len(read_video(tmp_path / "policy.mp4")) == 2 * (steps + 1)
    robot.fields["video"].setText("")
    kept = session.context.episodes()[before:]
    assert [row["source"] for row in kept] == ["policy", "policy"]
    assert window.panels["Record"].episodes.count() == before + 2  # the list reloaded

    # A run at the control rate shows what it sends; Stop halts it mid-episode.
    robot.fields["realtime"].setCurrentIndex(0)
    export.robot.fields["episodes"].setValue(50)
    qtbot.mouseClick(export.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or export.live.rowCount() > 0, timeout=120_000)
    assert export.live.item(0, 1) is not None and "tick" in export.live.observation.text()
    qtbot.mouseClick(export.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.jobs.poll() or "stopped by you" in export.status.text(),
                    timeout=60_000)


def test_reward_panel_fits_a_clip_reward_from_a_local_checkpoint_folder(window, qtbot, tmp_path):
    from tests.rewards.test_clip import saved_tiny_clip

    session = window.session
    session.set_scene("Reach")
    session.recording.record_scripted(1)
    session.feedback.add_goal("reach the target")
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("clip"))
    assert reward.folder.isVisibleTo(reward)
    assert "nothing is downloaded" in reward.folder_note.text()
    errors = []
    session.events.subscribe(Problem, lambda e: errors.append(e.message))
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert errors and "choose the folder" in errors[-1] and "reward" not in session.jobs
    reward.folder.setText(str(saved_tiny_clip(tmp_path / "clip")))
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (session.jobs.poll() or True) and not session.jobs["reward"].running
                    and session.jobs["reward"].state != "running", timeout=400_000)
    session.jobs.poll()
    assert "clip goal model" in reward.report.text() and "Spearman" in reward.report.text(), \
        reward.report.text()
    assert session.workspace.models("Reach")[-1]["family"] == "clip_goal"
    train = window.panels["Train"]
    train.refresh()
    labels = [train.reward.itemText(i) for i in range(train.reward.count())]
    assert any("clip_goal" in label for label in labels), labels
    reward.family.setCurrentIndex(reward.family.findData("progress"))
    assert not reward.folder.isVisibleTo(reward)


def test_reward_panel_fits_on_the_cluster_it_names(window, qtbot, monkeypatch):
    """The address goes with the request; one where nothing answers is refused in seconds
    (a fit on a live cluster: tests/cluster/test_ray_cluster.py)."""
    session, reward = window.session, window.panels["Reward"]
    errors, submitted = [], []
    session.events.subscribe(Problem, lambda e: errors.append(e.message))
    reward.cluster.setText(" 127.0.0.1:1 ")
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert errors and errors[-1].startswith("cluster: nothing answers at 127.0.0.1:1")
    assert "reward" not in session.jobs
    monkeypatch.setattr(session.jobs, "submit", lambda name, request: submitted.append(request))
    reward.cluster.setText("auto")
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    assert [request.cluster for request in submitted] == ["auto"]


def test_reward_panel_fits_a_vision_language_model_with_the_settings_it_shows(window, qtbot):
    """The family's settings come from its config class, start at the scene's defaults and
    reach the worker as a config object (here: a short fit on small frames)."""
    import json
    from pathlib import Path

    session = window.session
    session.set_scene("Push")
    session.recording.record_scripted(2, with_failures=False)
    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("vision_language"))
    qtbot.mouseClick(reward.settings_toggle, Qt.MouseButton.LeftButton)
    assert reward.settings_box.isVisibleTo(reward)
    form = reward.settings
    form.widget("frames.epochs").setValue(2)
    form.widget("frames.image_size").setValue(32)
    form.widget("counterfactuals").setValue(1)
    qtbot.mouseClick(reward.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (session.jobs.poll() or True) and not session.jobs["reward"].running
                    and session.jobs["reward"].state != "running", timeout=400_000)
    session.jobs.poll()
    stored = session.workspace.models("Push")[-1]
    assert stored["family"] == "vision_language_progress", session.jobs["reward"].error
    assert "vision language progress model" in reward.report.text(), reward.report.text()
    saved = json.loads((Path(stored["path"]) / "config.json").read_text())["config"]
    assert saved["frames"]["epochs"] == 2 and saved["frames"]["image_size"] == 32
    assert saved["counterfactuals"] == 1


def test_code_panel_checks_reward_code_plots_its_terms_and_points_at_errors(window, qtbot):
    window.session.recording.record_scripted(2)
    code = window.panels["Code"]
    names = [code.features.item(i).text().split()[0] for i in range(code.features.count())]
    assert "hand_to_cube" in names and 'f["hand_to_cube"]' in code.editor.toPlainText()
    code.check.click()
    qtbot.waitUntil(lambda: code.checked is not None, timeout=120_000)
    assert "stored as version" in code.report.text() and code.train.isEnabled()
    titles = [code.plots.itemAt(i).widget().plotItem.titleLabel.text
              for i in range(code.plots.count())]
    assert [t.split()[0] for t in titles] == ["reward", "cube_to_target", "hand_to_cube"]
    assert all("demo" in t and "failure" in t for t in titles)  # the key to the curves
    assert all(code.plots.itemAt(i).widget().listDataItems() for i in range(len(titles)))
    code.editor.setPlainText("def reward(f):\n    x = 1\n    return f['nope']\n")
    assert not code.train.isEnabled()  # the checked code is not this code
    code.check.click()
    qtbot.waitUntil(lambda: "KeyError" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 2  # the cursor is on line 3
    # Hostile code is refused; the app goes on (its viewport still renders, a check still runs).
    code.editor.setPlainText("import numpy as np\ndef reward(f):\n    return np.ones(10**10)\n")
    code.check.click()
    qtbot.waitUntil(lambda: "MemoryError" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 2
    code.editor.setPlainText("import os\ndef reward(f):\n    return os.system('true')\n")
    code.check.click()
    qtbot.waitUntil(lambda: "import os" in code.report.text(), timeout=120_000)
    assert code.editor.textCursor().blockNumber() == 0
    assert window.viewport.render_frame().std() > 10


def test_code_panel_follows_a_language_model_search_and_shows_its_candidates(window):
    from workbench.rewards.code.model import EXAMPLE
    from workbench.session.events import JobUpdate
    from workbench.session.jobs import JobEvent

    code, events = window.panels["Code"], window.session.events
    events.publish(JobUpdate("author", JobEvent("started")))
    assert code.stop_asking.isVisibleTo(code)
    events.publish(JobUpdate("author", JobEvent("progress", {
        "stage": "judging candidates", "done": 1, "total": 4})))
    assert code.report.text() == "judging candidates: 2 of 4"
    events.publish(JobUpdate("author", JobEvent("stopped", {"candidates": [
        {"round": 0, "merit": 0.9, "scores": {}, "error": "", "model": "models/a",
         "training": {"success_rate": 0.5, "reference_return": 41.7}, "source": EXAMPLE},
        {"round": 0, "merit": None, "scores": {}, "error": "line 1: import os: only numpy "
         "and math may be imported", "model": "", "training": {}, "source": "import os"}]})))
    assert not code.stop_asking.isVisibleTo(code)
    assert code.editor.toPlainText() == EXAMPLE and code.train.isEnabled()
    assert "merit 0.90, PPO success 50%, reference return 42" in code.report.text()
    assert "refused: line 1: import os" in code.report.text()
