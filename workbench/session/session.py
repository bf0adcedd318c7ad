"""The application state behind the GUI, with no Qt in it: small models that views observe.

``Session`` holds one of each and the workspace they share:

* ``live`` (:class:`LiveScene`): the viewport's env, the policy preview, dragged objects;
* ``recording`` (:class:`Recording`): takes from the keyboard, devices or the pointer;
* ``browser`` (:class:`EpisodeBrowser`): recorded episodes, replayed, pictured, edited;
* ``feedback`` (:class:`Feedback`): clips to rank, continuations to compare, goal sentences;
* ``rewards`` (:class:`RewardModels`): the scene's stored reward models and their reports;
* ``jobs`` (:class:`JobBoard`): fitting, training, export in worker processes;
* ``events`` (:class:`EventBus`): what changed, one typed event per fact
  (:mod:`workbench.session.events`).

A GUI timer calls :meth:`tick` and ``jobs.poll``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.data.workspace import Workspace
from workbench.envs.env import scene_info
from workbench.operations.workspace import CheckWorkspace, RecoverWorkspace, WorkspaceInfo
from workbench.registry import SCENES, stand_ins
from workbench.session.board import JobBoard
from workbench.session.browser import EpisodeBrowser
from workbench.session.context import Context
from workbench.session.events import (
    EpisodesChanged,
    EventBus,
    Frame,
    SceneChanged,
    WorkspaceChanged,
)
from workbench.session.feedback import Feedback
from workbench.session.live import LiveScene
from workbench.session.recording import Recording
from workbench.session.reward_models import RewardModels
from workbench.teleop.pointer import CameraPose

# Where a new workspace opens: an arm the keyboard drives, a task a person can show in seconds.
FIRST_SCENE = "Push"


class Session:
    def __init__(self, workspace: str | Path, scene: str | None = None):
        self.events = EventBus()
        self.context = Context(Workspace.open(workspace, create=True), self.events)
        newest = self.workspace.newest_scene()
        first = scene or (newest if newest in self.scene_names() else FIRST_SCENE)
        self.rewards = RewardModels(self.context)
        self.live = LiveScene(self.context, self.rewards, first)
        self.recording = Recording(self.context, self.live)
        self.browser = EpisodeBrowser(self.context, self.live, self.recording, self.rewards)
        self.feedback = Feedback(self.context, self.rewards, self.live)
        self.jobs = JobBoard(self.context, self.live)

    @property
    def workspace(self) -> Workspace:
        return self.context.workspace

    @property
    def scene(self) -> str:
        return self.context.scene

    @property
    def robot(self) -> str:
        """The live robot where it stands in for the scene's own, "" where not."""
        return self.context.robot

    @property
    def difficulty(self) -> float:
        """The live scene's difficulty, which takes and scripted demos are recorded at."""
        return self.context.difficulty

    def goal_example(self) -> str:
        """A goal sentence of the live scene, as its episode is laid out (what the app offers
        to edit, and scores or trains on when nothing was typed)."""
        return self.live.env.task.goal_text()

    def lerobot_type(self) -> str:
        """LeRobot's type of the real robot the live one models ("so101_follower"), whose
        dataset its takes can be exported as; "" where LeRobot drives none."""
        return self.live.env.robot.lerobot_type

    def robots(self) -> tuple[str, ...]:
        """The robots to offer for the live scene: those it is laid out for, its own first,
        and the live one where a device put it there (a leader arm's SO-101 on any arm's
        scene)."""
        offered = stand_ins(self.scene)
        return offered if self.robot in ("", *offered) else (*offered, self.robot)

    def open_workspace(self, path: str | Path) -> None:
        """Switch to another workspace folder (created if empty). Refused while a job runs; the
        current workspace stays open if the new one cannot be opened."""
        running = self.jobs.running()
        if running:
            raise RuntimeError(f"{', '.join(running)} still running; stop it before switching "
                               "workspaces")
        workspace = Workspace.open(path, create=True)  # raises before anything changes
        self.recording.stop(save=False)
        self.browser.release()
        self.context.workspace.close()
        self.context.workspace = workspace
        self.rewards.clear()
        self.jobs.forget()
        self.events.publish(WorkspaceChanged(str(workspace.root)))
        self.events.publish(SceneChanged(self.scene))
        self.events.publish(EpisodesChanged())

    # -- looking after the workspace (quick operations, here and now) ------------------------
    def workspace_summary(self) -> dict[str, Any]:
        """What the workspace holds: counts of episodes, goals, labels; models and runs."""
        return self.context.perform(WorkspaceInfo(workspace=self.workspace.root))

    def check_workspace(self) -> list[str]:
        """The workspace's problems (changed or missing files); empty when all is well."""
        return list(self.context.perform(CheckWorkspace(workspace=self.workspace.root))
                    ["problems"])

    def recover_workspace(self) -> dict[str, Any]:
        """Index the takes and folders a crash left behind: the episode ids recovered, and
        the model and run folders indexed."""
        return self.context.perform(RecoverWorkspace(workspace=self.workspace.root))

    # -- scenes ------------------------------------------------------------------------------
    @staticmethod
    def scene_names() -> list[str]:
        return SCENES.names()

    def scene_infos(self) -> list[dict[str, Any]]:
        return [scene_info(name) for name in self.scene_names()]

    @property
    def scene_info(self) -> dict[str, Any]:
        """The live scene's (``workbench.envs.env.scene_info``)."""
        return scene_info(self.scene)

    def set_scene(self, name: str, robot: str = "") -> None:
        """Make ``name`` the live scene, with ``robot`` standing in for its own where given;
        a take in progress is discarded, a replay left."""
        self.recording.stop(save=False)
        self.browser.episode = None
        self.live.load(name, robot=robot or None)

    def set_difficulty(self, difficulty: float) -> None:
        """Lay the live scene out at ``difficulty`` from 0 to 1 (a replay on the timeline gives
        way to it); refused during a take, which keeps the layout it started with."""
        if self.recording.active:
            raise RuntimeError("difficulty: save or discard the take first")
        self.live.set_difficulty(difficulty)  # first: a bad value is refused, nothing changes
        self.browser.close()

    # -- the live loop -----------------------------------------------------------------------
    def tick(self) -> dict[str, Any] | None:
        """Advance one control step: the take while recording, else a replayed episode, else
        the live scene (the preview policy, or an object being dragged)."""
        self.live.perturbation.apply(self.live.physics)
        if self.browser.episode is not None and not self.recording.active:
            self.browser.advance()
            return None
        info = self.recording.step() if self.recording.active else self.live.step()
        if info is None:
            return None
        info = {**info, **self.live.live_reward()}
        self.events.publish(Frame(info))
        return info

    def grab_object(self, camera: CameraPose, x: float, y: float, width: int,
                    height: int) -> int | None:
        """Grab the movable body under a viewport pixel; None when there is none there, or
        when the viewport shows a replayed frame (history, not a live scene)."""
        if self.browser.episode is not None:
            return None
        return self.live.grab_object(camera, x, y, width, height)

    def close(self) -> None:
        self.jobs.kill_all()
        self.recording.stop(save=False)
        self.browser.release()
        self.live.close()
        self.context.workspace.close()
