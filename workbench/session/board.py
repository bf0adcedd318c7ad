"""The background jobs of the app, one per kind at a time: record scripted demos, fit a reward,
train, score a goal, teach, export and run a bundle, move datasets. Each performs a request of
:mod:`workbench.operations` in a worker process (the CLI performs the same requests in its own
process); :meth:`JobBoard.poll` publishes what they report."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench.envs.env import scene_info
from workbench.operations import Request, WorkspaceRequest
from workbench.operations.authoring import WriteReward
from workbench.operations.bundle import ExportBundle
from workbench.operations.datasets import ExportDataset, ImportDataset
from workbench.operations.recording import Record
from workbench.operations.rewards import FitReward, ScoreGoal, Teach
from workbench.operations.run import RunBundle, SetLimits
from workbench.operations.sim_to_real import LeRobotEval, SimToReal
from workbench.operations.training import Train
from workbench.operations.workspace import FilmEpisodes
from workbench.rewards.code.author import AuthorConfig
from workbench.rewards.code.model import CodeConfig
from workbench.rl.run import resumable_runs
from workbench.rl.run_config import RunConfig
from workbench.sentences import checked_ground
from workbench.session.context import Context
from workbench.session.events import EpisodesChanged, JobUpdate, LabelsChanged
from workbench.session.jobs import Job, JobEvent
from workbench.session.live import LiveScene


class JobBoard:
    def __init__(self, context: Context, live: LiveScene):
        self.context, self.live = context, live
        self._jobs: dict[str, Job] = {}

    # The jobs by kind: board["train"], "train" in board.
    def __getitem__(self, name: str) -> Job:
        return self._jobs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def running(self) -> list[str]:
        return [name for name, job in self._jobs.items() if job.running]

    def submit(self, name: str, request: Request) -> Job:
        """Perform ``request`` in a worker as the ``name`` job."""
        if name in self.running():
            raise RuntimeError(f"a {name} job is already running; stop it first")
        job = Job(request)
        self._jobs[name] = job.start()
        self.context.events.publish(JobUpdate(name, JobEvent("started")))
        return job

    @property
    def _here(self) -> dict[str, Any]:  # the open workspace and scene of every request
        return {"workspace": self.context.workspace.root, "scene": self.context.scene}

    # -- the operations ----------------------------------------------------------------------
    def record_demos(self, episodes: int, with_failures: bool = True) -> Job:
        """Scripted demos and failed takes, or random takes (clips to rank) in a scene with no
        scripted demonstrator, with the live robot at the live difficulty: progress,
        cancellable; the episodes saved before a cancel stay."""
        live: dict[str, Any] = {"robot": self.context.robot,
                                "difficulty": self.context.difficulty, **self._here}
        if not scene_info(self.context.scene)["demonstrator"]:
            return self.submit("record", Record(random=episodes, **live))
        return self.submit("record", Record(scripted=episodes, failures=with_failures, **live))

    def fit_reward(self, family: str = "progress", config: Any = None, cluster: str = "",
                   robot: str = "") -> Job:
        """Fit a reward of ``family`` with ``config`` (the family's config class; default: its
        defaults for the scene), on ``robot``'s takes where given, here or as a task on the
        Ray cluster at ``cluster``."""
        return self.submit("reward", FitReward(family=family, config=config, cluster=cluster,
                                               robot=robot, **self._here))

    def check_code(self, source: str) -> Job:
        """Store reward code as a new version and measure it on the recorded episodes (the
        report carries each term along a demo and a failed take)."""
        return self.submit("code", FitReward(family="code", config=CodeConfig(source=source),
                                             **self._here))

    def write_reward(self, author: AuthorConfig, goal: str = "") -> Job:
        """Let a language model write reward code (``author``: its endpoint and the search),
        each candidate judged by the workspace and kept as a version."""
        return self.submit("author", WriteReward(author=author, goal=goal, **self._here))

    def teach(self, teacher: str, labels: int, active: bool = False) -> Job:
        """Let a synthetic teacher answer ``labels`` ranking queries."""
        return self.submit("teach", Teach(teacher=teacher, labels=labels, active=active,
                                          **self._here))

    def train(self, config: RunConfig | None = None, resume_dir: str | None = None) -> Job:
        """Train with ``config`` (default: the defaults), or continue the stopped run in
        ``resume_dir``."""
        config = config or RunConfig.for_scene(self.context.scene)
        if config.scene != self.context.scene:
            raise ValueError(f"this run is for {config.scene}, the open scene is "
                             f"{self.context.scene}")
        return self.submit("train", Train(config=config, workspace=self.context.workspace.root,
                                          resume=Path(resume_dir) if resume_dir else None))

    def train_toward(self, goal: str) -> Job:
        """Train on a goal sentence, refused before a worker starts when the scene cannot show
        what it names ("no blue cube")."""
        checked_ground(goal, self.live.env.task, shown=True)
        return self.train(RunConfig.for_scene(self.context.scene, goal=goal))

    def past_runs(self) -> list[dict[str, Any]]:
        """The scene's training runs, oldest first, with their status and final metrics."""
        return self.context.workspace.runs(self.context.scene)

    def resumable_run(self) -> dict[str, Any] | None:
        """The scene's newest run that stopped before its budget and kept a checkpoint."""
        runs = resumable_runs(self.context.workspace, self.context.scene)
        return runs[-1] if runs else None

    def continue_training(self) -> Job:
        """Continue the newest stopped run from its checkpoint (also after an app restart)."""
        run = self.resumable_run()
        if run is None:
            raise RuntimeError(f"no stopped {self.context.scene} run with a checkpoint to "
                               "continue")
        return self.train(resume_dir=run["path"])

    def goal_rewards(self, goal: str) -> Job:
        """Score the recorded episodes with a goal sentence (``goal``)."""
        if not goal.strip():
            raise ValueError("type a goal sentence first, e.g. 'push the red cube onto the pad'")
        return self.submit("goal", ScoreGoal(goal=goal, **self._here))

    def export(self, run: Path | None = None) -> Job:
        """Export ``run`` (default: the scene's newest finished run) as a bundle."""
        return self.submit("export", ExportBundle(run=run, **self._here))

    def run_bundle(self, request: RunBundle, keep: bool = False) -> Job:
        """Run a bundle in simulation or on a robot; "telemetry" events carry the observation,
        the policy's action and the filtered command; :meth:`stop` halts the robot. A
        simulated run a person may take over is recorded into the workspace (the takes SAC's
        ``takeovers`` learns from), and so is one with ``keep`` (the policy's failed episodes
        are negatives for the next reward fit)."""
        if (request.takeover or keep) and not request.robot and request.record is None:
            request = replace(request, record=self.context.workspace.root)
        return self.submit("run", request)

    def take_over(self, action: Any) -> None:
        """The person's command for the running bundle (a run with ``takeover="keyboard"``),
        or None to hand back to the policy; it holds for half a second unless sent again."""
        if "run" in self.running():
            self._jobs["run"].send("takeover", sent=time.monotonic(),
                                   action=None if action is None else [float(a) for a in action])

    def sim_to_real(self, dataset: str) -> Job:
        """Replay a real SO-101's LeRobot dataset through the simulated one in the open scene:
        per-joint tracking error."""
        return self.submit("sim-to-real", SimToReal(dataset=Path(dataset),
                                                    scene=self.context.scene))

    def lerobot_eval(self, policy: str, episodes: int = 10) -> Job:
        """Run a policy LeRobot trained on the live robot (else the SO-101): each success."""
        live = self.live.env
        return self.submit("lerobot-eval", LeRobotEval(
            policy=Path(policy), scene=self.context.scene, episodes=episodes,
            robot=live.robot_name if live.robot.lerobot_type else LeRobotEval.robot))

    def save_limits(self, request: SetLimits) -> dict[str, Any]:
        """Check and write a bundle's safety limits (refused ones change nothing)."""
        return self.context.perform(request)

    def exportable_runs(self) -> list[dict[str, Any]]:
        """The scene's runs with a saved policy, newest first, each with its bundle folder
        (None before it is exported)."""
        runs = [r for r in self.past_runs() if r["status"] in ("finished", "stopped")]
        for run in runs:
            bundle = Path(run["path"]) / "bundle"
            run["bundle"] = str(bundle) if (bundle / "bundle.json").exists() else None
        return runs[::-1]

    def export_dataset(self, path: str, scene_only: bool = True, joints: bool = False
                       ) -> Job:
        """Write the episodes (of the open scene, or all) as a LeRobot dataset folder or, for a
        .hdf5 path, a robomimic file; the live robot's where the scene has takes of several
        (a dataset holds one robot's). ``joints``: the live robot's takes of the scene as the
        real robot's LeRobot dataset (``dataset export --layout joints``)."""
        takers = {row["meta"].get("robot") for row in self.context.episodes()}
        live = self.live.env.robot_name
        robot = live if joints or (scene_only and len(takers) > 1) else ""
        return self.submit("dataset", ExportDataset(
            path=Path(path), workspace=self.context.workspace.root,
            scene=self.context.scene if scene_only or joints else None, robot=robot,
            layout="joints" if joints else "workbench"))

    def film_episodes(self, ids: list[int], path: str) -> Job:
        """Film recorded episodes from their stored states into a new MP4."""
        return self.submit("film", FilmEpisodes(ids=tuple(ids), out=Path(path),
                                                workspace=self.context.workspace.root))

    def import_dataset(self, path: str) -> Job:
        return self.submit("dataset", ImportDataset(path=Path(path),
                                                    workspace=self.context.workspace.root))

    # -- control -----------------------------------------------------------------------------
    def pause(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None and job.running:
            job.pause()
            self.context.events.publish(JobUpdate(name, JobEvent("paused")))

    def resume(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None and job.paused:
            job.resume()
            self.context.events.publish(JobUpdate(name, JobEvent("resumed")))

    def stop(self, name: str) -> None:
        if name in self._jobs:
            self._jobs[name].stop()

    def poll(self) -> None:
        """Publish what the jobs reported since the last poll; a training job's policy
        snapshots go to the live scene's preview."""
        events = self.context.events
        for name, job in list(self._jobs.items()):
            for event in job.poll():
                request = job.request
                if event.kind in ("done", "stopped") and (
                        (isinstance(request, WorkspaceRequest) and request.changes_episodes)
                        or event.data.get("recorded_episodes")):  # a recorded bundle run
                    events.publish(EpisodesChanged())
                if event.kind == "done" and isinstance(request, Teach):
                    events.publish(LabelsChanged(len(self.context.workspace.preferences())))
                if event.kind == "snapshot":
                    self.live.show_policy(event.data["policy"])
                if event.kind == "error":
                    events.problem(f"{name} failed: {event.data.get('message')}")
                events.publish(JobUpdate(name, event))

    def forget(self) -> None:
        """Drop finished jobs (another workspace opened)."""
        self._jobs.clear()

    def kill_all(self) -> None:
        for job in self._jobs.values():
            if job.running:
                job.kill()
