"""The background jobs of the app, one per kind at a time: record scripted demos, fit a reward,
train, score a goal, export and run a bundle. Each runs a function of
:mod:`workbench.session.tasks` in a worker process; :meth:`JobBoard.poll` publishes what they
report."""

from __future__ import annotations

from typing import Any

from workbench.rl.run import RunConfig, resumable_runs
from workbench.sentences import ground
from workbench.session.context import Context
from workbench.session.events import EpisodesChanged, JobUpdate
from workbench.session.jobs import Job, JobEvent
from workbench.session.live import LiveScene

TASKS = "workbench.session.tasks"


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

    def start(self, name: str, function: str, **kwargs: Any) -> Job:
        """Run ``tasks.<function>`` as the ``name`` job on the live scene."""
        if name in self.running():
            raise RuntimeError(f"a {name} job is already running; stop it first")
        job = Job(f"{TASKS}:{function}", workspace=str(self.context.workspace.root),
                  scene=self.context.scene, **kwargs)
        self._jobs[name] = job.start()
        self.context.events.publish(JobUpdate(name, JobEvent("started")))
        return job

    # -- the operations ----------------------------------------------------------------------
    def record_demos(self, episodes: int, with_failures: bool = True) -> Job:
        """Scripted demos and failed takes (``record``): progress, cancellable; the episodes
        saved before a cancel stay."""
        return self.start("record", "record_demos", episodes=episodes,
                          with_failures=with_failures)

    def fit_reward(self, family: str = "progress", config: Any = None) -> Job:
        """Fit a reward of ``family`` with ``config`` (the family's config class; default: its
        defaults for the scene)."""
        return self.start("reward", "fit_reward", family=family, config=config)

    def train(self, config: RunConfig | None = None, resume_dir: str | None = None) -> Job:
        """Train with ``config`` (default: the defaults), or continue the stopped run in
        ``resume_dir``."""
        if config is not None and config.scene != self.context.scene:
            raise ValueError(f"this run is for {config.scene}, the open scene is "
                             f"{self.context.scene}")
        return self.start("train", "train_policy", config=config, resume_dir=resume_dir)

    def train_toward(self, goal: str) -> Job:
        """Train on a goal sentence, refused before a worker starts when the scene cannot show
        what it names ("no blue cube")."""
        task = self.live.env.task
        task.check_colours(ground(goal, task).colours)
        return self.train(RunConfig(scene=self.context.scene, goal=goal))

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
        return self.start("goal", "goal_rewards", goal=goal)

    def export(self) -> Job:
        return self.start("export", "export_latest")

    def run_export(self, bundle: str, episodes: int = 5) -> Job:
        return self.start("run", "run_bundle", bundle=bundle, episodes=episodes)

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
                if name == "record" and event.kind in ("done", "stopped"):
                    events.publish(EpisodesChanged())
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
