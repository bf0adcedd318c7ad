"""The Train panel: its settings, its plots and bars, the runs it starts and follows, and the
settings forms."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from workbench.config import ConfigError
from workbench.rl.run_config import RunConfig


def test_the_train_panels_settings_start_from_the_shown_scenes(window):
    """A Reach run learns its online reward from the hand-to-target vector (the scene's
    preference defaults); back on Push, from every feature."""
    train = window.panels["Train"]
    assert train.run_config().online.preference.inputs == ()
    window.session.set_scene("Reach")
    assert train.run_config().online.preference.inputs == ("hand_to_target",)
    assert train.more.widget().widget("online.preference.inputs").text() == "hand_to_target"
    window.session.set_scene("Push")
    assert train.run_config().online == RunConfig.for_scene("Push").online


def test_a_scene_change_keeps_the_settings_the_person_changed(window):
    """Edits survive choosing another scene, except where the new scene sets the value itself
    (Reach's preference inputs); a reward family shown again keeps its edits too."""
    train = window.panels["Train"]
    train.more.widget().widget("eval_episodes").setValue(7)
    train.more.widget().widget("online.preference.inputs").setText("cube_to_pad")
    window.session.set_scene("Reach")
    config = train.run_config()
    assert config.scene == "Reach" and config.eval_episodes == 7
    assert config.online.preference.inputs == ("hand_to_target",)  # Reach's own
    window.session.set_scene("Push")
    assert train.run_config().eval_episodes == 7
    assert train.run_config().online.preference.inputs == ()  # the Push edit went with Push

    reward = window.panels["Reward"]
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    reward.settings.widget("members").setValue(5)
    reward.family.setCurrentIndex(reward.family.findData("progress"))
    reward.family.setCurrentIndex(reward.family.findData("preference"))
    window.session.set_scene("Reach")
    fitted = reward.settings.config()
    assert fitted.members == 5 and fitted.inputs == ("hand_to_target",)
    assert reward.settings_box.widget() is reward.settings


def test_train_panel_scrolls_instead_of_squeezing_its_plot(window, qtbot):
    """With its settings and the sweep open the Train panel is taller than the window: it
    scrolls, the window keeps its size and the plot keeps its height (it was squeezed to
    about 50 pixels and the window grew past the screen)."""
    train = window.panels["Train"]
    window.tabs.setCurrentWidget(train)
    height = window.height()
    train.more_toggle.click()
    train.sweep_toggle.click()
    qtbot.wait(100)  # the layout settles
    assert window.height() == height
    assert train.plot.height() >= 180 and train.more.height() >= 200
    assert train.sweep.plot.height() >= 160


def test_a_run_ended_before_its_budget_says_who_ended_it_on_its_bar(window):
    """The hacking guard's stop (or the person's) leaves the bar part way: it says so, and
    the next run's bar is a plain percentage again."""
    from workbench.session.jobs import JobEvent

    train = window.panels["Train"]
    step = {"step": 30_000, "total_steps": 60_000, "learned_return": 63.0, "fps": 900.0,
            "success_rate": 0.1}
    train._on_job("train", JobEvent("progress", step))
    assert train.bar.text() == "50%"
    train._on_job("train", JobEvent("done", {
        "success_rate": 0.1, "run_id": 1, "rolled_back_to_step": 8192,
        "hacking_alarm": "reward hacking suspected at step 24576"}))
    assert train.bar.text() == "stopped by the hacking guard at 50% of its steps"
    assert not train.alarm.isHidden() and "rolled back to step 8192" in train.alarm.text()
    train._launch(lambda: None)  # a new run (its job started elsewhere)
    assert train.bar.text() == "50%" and train.alarm.isHidden()
    train._on_job("train", JobEvent("stopped", {"success_rate": 0.1, "run_id": 2}))
    assert train.bar.text() == "stopped at 50% of its steps"
    assert "films" not in train.status.text()
    train._on_job("train", JobEvent("done", {"success_rate": 0.9, "run_id": 3,
                                             "films": "runs/ppo-Push-3/films"}))
    assert train.status.text().endswith(" · films in runs/ppo-Push-3/films")


def test_plot_keys_sit_under_the_plots_and_name_every_curve(window):
    """A legend drawn inside a panel's short plot covered the curves it named: every plot's key
    is a label of its own, with one entry per curve the plot draws."""
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QLabel

    plots = window.findChildren(pg.PlotWidget)
    assert len(plots) >= 4
    for plot in plots:
        assert plot.getPlotItem().legend is None, plot.getPlotItem().titleLabel.text
    train = window.panels["Train"]
    layout = train.plot.parentWidget().layout()
    key = layout.itemAt(layout.indexOf(train.plot) + 1).widget()
    assert isinstance(key, QLabel) and len(train.plot.listDataItems()) == 6

    def named() -> list[str]:
        return [name for _, _, name in train.curves.values()
                if name.replace(" ", "&nbsp;") in key.text()]

    # Before a run: the two curves every run draws; the others join the key as they are drawn.
    assert named() == ["learned return / max", "true success, training episodes"]
    extras = {"curriculum/difficulty": 0.25, "monitor/eval_success": 0.5}
    train._show_progress({"step": 512, "total_steps": 1024, "fps": 100.0, "learned_return": 1.0,
                          "success_rate": 0.5, "extras": extras})
    assert key.text().count("<span") == 4 and "curriculum difficulty" in named()
    # The guard's second witness: the reference return of its episodes, on the learned
    # return's scale (per step of an episode; Push's are 80 steps long).
    extras = {"monitor/eval_success": 0.0, "monitor/eval_return": 40.0}
    train._show_progress({"step": 1024, "total_steps": 1024, "fps": 100.0, "learned_return": 2.0,
                          "success_rate": 0.0, "extras": extras})
    assert "reference return / max, mean action" in named()
    assert list(train.checked_return_curve.getData()[1]) == [40.0 / 80]
    assert "(mean action 0%, reference return 50% of its most)" in train.status.text()


def test_train_panel_offers_a_reward_learned_from_rankings_while_training(window):
    from gui.panels.train import ONLINE

    train = window.panels["Train"]
    train.reward.setCurrentText(ONLINE)
    config = train.run_config()  # what the worker will run
    assert config.online_feedback and config.reward == "latest"
    train._show_progress({"step": 2048, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.0, "success_rate": 0.25,
                          "extras": {"feedback/labels": 14.0}})
    train._show_progress({"step": 3072, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.5, "success_rate": 0.25, "extras": {}})
    assert "reward refitted on 14 labels" in train.status.text()
    assert len(train.evaluated_curve.getData()[0] or ()) == 0  # no guard check yet
    train._show_progress({"step": 4096, "total_steps": 8192, "fps": 900.0,
                          "learned_return": 3.6, "success_rate": 0.0,
                          "extras": {"monitor/eval_success": 0.6}})
    assert list(train.evaluated_curve.getData()[1]) == [0.6]
    assert "success 0% (mean action 60%)" in train.status.text()
    train.reward.setCurrentIndex(train.reward.findText("reference", Qt.MatchFlag.MatchStartsWith))
    config = train.run_config()
    assert not config.online_feedback and config.reward == "reference"


def test_train_panel_chooses_sac_with_its_budget_and_the_persons_take_overs(window):
    train = window.panels["Train"]
    train.reward.setCurrentIndex(train.reward.findText("reference", Qt.MatchFlag.MatchStartsWith))
    train.algorithm.setCurrentText("SAC")
    train.steps.setValue(30_000)
    train.more.widget().widget("takeovers").setChecked(True)  # under "More settings"
    config = train.run_config()
    assert config.algorithm == "sac" and config.takeovers
    assert config.sac.total_steps == 30_000 and config.ppo == RunConfig().ppo
    train.algorithm.setCurrentText("PPO")  # take-overs are SAC's: refused in one line
    with pytest.raises(ConfigError, match="takeovers"):
        train.run_config()
    train.more.widget().widget("takeovers").setChecked(False)
    assert train.run_config().ppo.total_steps == 30_000


def test_train_on_this_goal_starts_a_run_that_the_train_panel_follows(window, qtbot):
    session, goal, train = window.session, window.panels["Goal"], window.panels["Train"]
    goal.goal.setText("push the purple cube onto the yellow pad")
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)  # Push has only a green pad
    assert "train" not in session.jobs
    goal.goal.setText("make coffee")  # a sentence of no scene's: refused, not the scene's reward
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)
    assert "train" not in session.jobs and "names nothing in Push" in window.status.text()
    goal.goal.setText("push the purple cube onto the green pad")
    qtbot.mouseClick(goal.train, Qt.MouseButton.LeftButton)
    assert "training toward" in goal.status.text()
    qtbot.waitUntil(lambda: session.jobs.poll() or bool(train.history), timeout=300_000)
    assert train.history and session.jobs["train"].state == "running"
    session.jobs.stop("train")  # stops after the update, evaluates and saves the policy
    qtbot.waitUntil(lambda: session.jobs.poll() or not session.jobs["train"].running,
                    timeout=300_000)
    run = session.workspace.runs("Push")[-1]
    assert run["status"] == "stopped"


@pytest.mark.parametrize("scene", ["Push", "DrawerOpen", "CheetahRun"])
def test_settings_forms_show_every_config_exactly(qtbot, scene):
    """Each family's scene defaults and the run config read back from their forms unchanged,
    and a value the config refuses is refused with its field named."""
    from gui.panels.config_form import ConfigForm
    from workbench.config import ConfigError
    from workbench.rewards import families
    from workbench.rl.run_config import RunConfig

    configs = [f.default_config(scene) for f in families.all_families() if f.fit is not None]
    for config in [*configs, RunConfig(scene=scene)]:
        form = ConfigForm(config)
        qtbot.addWidget(form)
        assert form.config() == config
    form = ConfigForm(RunConfig(scene=scene))
    qtbot.addWidget(form)
    form.widget("ppo.gamma_final").setText("0.98")  # an optional number: empty is None
    assert form.config().ppo.gamma_final == 0.98
    form.widget("ppo.gamma_final").setText("soon")
    with pytest.raises(ConfigError, match="ppo.gamma_final must be a float or empty"):
        form.config()
    form.widget("ppo.gamma_final").setText("")
    form.widget("ppo.lr").setValue(0.0)  # nested fields are reachable by their dotted names
    with pytest.raises(ConfigError, match="ppo.lr must be in"):
        form.config()
    preference = ConfigForm(families.get("preference").default_config(scene))
    qtbot.addWidget(preference)
    preference.widget("mirror").setText("1, -1, -1")  # a tuple whose entries have choices
    assert preference.config().mirror == (1.0, -1.0, -1.0)
    preference.widget("mirror").setText("1, 2")
    with pytest.raises(ConfigError, match="mirror entries must be one of -1.0, 1.0"):
        preference.config()
