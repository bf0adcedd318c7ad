"""Training a policy (PPO or SAC) on a learned, given or goal-sentence reward."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.config import ConfigError, validated
from workbench.data.transfer import pack_recordings
from workbench.data.workspace import Workspace
from workbench.operations.base import Progress, Result, WorkspaceRequest
from workbench.progress import interrupt_asks_to_stop
from workbench.registry import SCENES
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import TrainProgress
from workbench.rl.ray_rollouts import check_reachable, connect, described, nodes_without
from workbench.rl.run import train_run
from workbench.rl.run_config import RunConfig
from workbench.rl.run_inputs import resolve_reward, reward_model_folder
from workbench.rl.sweep_grid import NOT_SWEPT
from workbench.rl.sweep_state import SweepPlan
from workbench.sentences import checked_ground

PREVIEW_EVERY = 2  # updates between the policy snapshots a front end's preview shows


def scene_defaults(known: dict[str, Any]) -> dict[str, Any]:
    """What a run or a sweep's trials start from: their scene's defaults
    (``RunConfig.for_scene``), once the command line has named the scene."""
    return {"config": RunConfig.for_scene(known["scene"])} if known.get("scene") else {}


@dataclass(frozen=True, kw_only=True)
@validated
class Train(WorkspaceRequest):
    """Train a policy (PPO, or SAC with --algorithm sac) on a learned reward, the scene's
    reference reward or a goal sentence, evaluated against the scene's ground truth."""

    config: RunConfig = field(default_factory=RunConfig, metadata={
        "help": "the run's settings", "flatten": True, "positional": ("scene",),
        "aliases": {"ppo.total_steps": "--steps"}})
    resume: Path | None = field(default=None, metadata={
        "help": "continue this stopped or killed run folder exactly from its checkpoint, with "
                "the config it was started with (the other settings are ignored)"})

    nested_defaults = staticmethod(scene_defaults)  # the CLI's second read: the scene's

    def check(self) -> None:
        cluster = self.config.cluster
        if self.resume is None and self.config.goal:  # a sentence the scene cannot show
            try:
                checked_ground(self.config.goal, SCENES.load(self.config.scene),
                               shown=True)
            except ValueError as error:
                raise ConfigError(f"goal: {error}") from None
        if self.resume is None and self.config.reward == "model":
            reward_model_folder(Path(self.workspace).expanduser().resolve(), self.config)
        if self.resume is not None:  # a resumed run goes on where it was started
            try:
                cluster = json.loads((Path(self.resume) / "config.json").read_text())["cluster"]
            except (OSError, ValueError, KeyError, TypeError):
                cluster = ""  # not a run folder: perform_in says so
        check_reachable(cluster)

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        if self.resume is not None and not (Path(self.resume) / "config.json").is_file():
            raise ValueError(f"--resume {self.resume}: not a run folder (no config.json)")

        pressed: list[bool] = []  # Ctrl-C in `workbench train`: the app's Stop

        def on_progress(p: TrainProgress) -> bool:
            progress.emit("progress", step=p.step, total_steps=p.total_steps, fps=p.fps,
                          learned_return=p.learned_return, success_rate=p.success_rate,
                          reference_return=p.reference_return, extras=dict(p.extras))
            return not (pressed or progress.should_stop())

        def on_snapshot(policy: GaussianPolicy, p: TrainProgress) -> None:
            if progress.previews and p.update % PREVIEW_EVERY == 0:
                progress.emit("snapshot", step=p.step, policy=policy.actor_snapshot())

        def said() -> None:
            kept = (", keeping a checkpoint to go on from with --resume"
                    if self.resume is not None or self.config.checkpoints else
                    " (this run keeps no checkpoint to go on from)")
            progress.emit("message", text=f"stopping after this update{kept}; Ctrl-C again "
                          "interrupts at once")

        with interrupt_asks_to_stop(pressed, said):
            return train_run(ws, self.config, callbacks=(on_progress,),
                             on_snapshot=on_snapshot, resume_dir=self.resume)


@dataclass(frozen=True, kw_only=True)
@validated
class Sweep(WorkspaceRequest):
    """Train a grid of run settings x seeds on Ray Tune, stop the laggards early (ASHA on true
    success), and rank the settings (report.md, curves.svg, results.json in the sweep folder).
    Every trial is a run in the workspace."""

    config: RunConfig = field(default_factory=RunConfig, metadata={
        "help": "the settings every trial starts from", "flatten": True,
        "positional": ("scene",), "aliases": {"ppo.total_steps": "--steps"},
        "omit": NOT_SWEPT})
    cluster: str = field(default="auto", metadata={
        "help": "the Ray cluster the trials run on: 'auto' (RAY_ADDRESS, else the one running "
                "here, else a new local one), ray://HOST:PORT or HOST:PORT",
        "pattern": r"auto|(ray://)?[^\s:]+:\d{1,5}",
        "pattern_help": "auto, ray://HOST:PORT or HOST:PORT"})
    grid: tuple[str, ...] = field(default=(), metadata={
        "help": "KEY=V1,V2,... per swept setting (ppo.lr=1e-4,3e-4 reward=reference,sparse; "
                "reward= also takes reward model folders); every combination is trained",
        "item_commas": True})
    seeds: int = field(default=2, metadata={"help": "seeds per combination", "min": 1,
                                            "max": 100})
    grace: int = field(default=2, metadata={
        "help": "PPO updates before ASHA may stop a trial", "min": 1})
    reduction: int = field(default=2, metadata={
        "help": "ASHA keeps the best 1/REDUCTION of the trials at each rung", "min": 2})
    resume: Path | None = field(default=None, metadata={
        "help": "go on with this sweep folder's trials stopped by hand (or by the loss of the "
                "sweep's process) and those not started (its grid, seeds and settings are its "
                "own; give only the scene, the cluster and the workspace)"})
    retry_failed: bool = field(default=False, metadata={
        "help": "with --resume: run the trials that failed again, from the start (once their "
                "cause is mended: a reward model made, a folder restored)"})

    nested_defaults = staticmethod(scene_defaults)  # the CLI's second read: the scene's

    def check(self) -> None:
        if self.retry_failed and self.resume is None:
            raise ConfigError("retry_failed: only with --resume SWEEP_FOLDER (the sweep whose "
                              "failed trials run again)")
        if self.resume is not None:
            given = [f"--{name}" for name, default in (("grid", ()), ("seeds", 2), ("grace", 2),
                                                       ("reduction", 2))
                     if getattr(self, name) != default]
            # Given: what differs from the scene's defaults (the CLI's and the app's) and from
            # the plain ones (a library caller's RunConfig(scene=...)).
            scene = self.config.scene
            plain = set(cfg.differences(self.config, RunConfig(scene=scene)))
            given += [d for d in cfg.differences(self.config, RunConfig.for_scene(scene))
                      if d in plain]
            if given:
                raise ConfigError(f"resume: a sweep goes on with its own grid, seeds and "
                                  f"settings; leave out {' '.join(given)}")
        if self.config.cluster:  # a library caller's: the CLI and the app do not offer it
            raise ConfigError("cluster: a sweep's trials each step their envs in their own "
                              "worker; give the cluster they run on as the sweep's cluster, "
                              "not the run's")
        check_reachable(self.cluster)

    def perform_in(self, ws: Workspace, progress: Progress) -> Result:
        from workbench.rl.sweep import run_sweep
        from workbench.rl.sweep_grid import grid_assignments, trial_config

        if self.resume is not None:
            return self._go_on(ws, progress, Path(ws.absolute(str(self.resume))))
        # A bad grid, or a reward one of its settings cannot find, is refused before any folder
        # is made and any trial starts.
        newest = None
        combinations = grid_assignments(self.grid, self.config)
        for assignments in combinations:
            config = trial_config(self.config, assignments)
            swept = [a for a in assignments if a.split("=")[0].strip() == "reward"]
            if swept and config.reward == "model":  # a model folder the grid names
                reward_model_folder(ws.root, config, named=f"grid: {swept[0]}")
            model = None if config.online_feedback else resolve_reward(ws, config)
            if model is not None and not Path(model).is_dir():  # "latest", its folder gone
                raise ConfigError(f"reward: {model} is not a reward model folder")
            if config.reward == "latest":
                newest = model
        address, base = self.cluster, self.config  # where the trials run, from what
        if newest is not None:
            # Every trial trains on the model that is newest now, not on one fitted meanwhile.
            base = replace(base, reward="model", reward_model=newest)
        plan = SweepPlan(base, tuple(combinations), tuple(1000 + i for i in range(self.seeds)),
                         self.grace, self.reduction)
        shipped = self._shipped(ws, plan, progress)  # asked before the sweep's folder is made
        out = ws.new_artifact_dir("sweeps", f"sweep-{base.scene}")
        progress.emit("message", text=f"sweeping {len(plan.trials())} trials into {out} on "
                      f"{described(connect(address), address)}")
        return run_sweep(ws.root, plan, out, address, progress, shipped)

    def _go_on(self, ws: Workspace, progress: Progress, out: Path) -> Result:
        """The trials of the sweep in ``out`` that were stopped by hand or with the sweep's
        process, or had not started."""
        from workbench.rl.sweep import run_sweep
        from workbench.rl.sweep_shipments import bring_back_left
        from workbench.rl.sweep_state import earlier_trials, goes_on, process_lost

        plan = SweepPlan.load(out)
        if plan.base.scene != self.config.scene:
            raise ConfigError(f"resume: {out} is a sweep on {plan.base.scene}, not on "
                              f"{self.config.scene}")
        if process_lost(out):  # its shipped trials' runs are on this disk, not yet indexed
            brought = bring_back_left(ws.root, out)
            if brought:
                progress.emit("message", text=f"{len(brought)} runs the lost sweep's trials "
                              "sent back are in the workspace now")
        earlier = earlier_trials(out, ws.runs(), self.retry_failed)
        _wait_for_their_workers(ws, [t["stopped_run"] for t in earlier if t.get("stopped_run")
                                     and goes_on(t)])
        shipped = self._shipped(ws, plan, progress)
        progress.emit("message", text=f"going on with {sum(map(goes_on, earlier))} of "
                      f"{len(earlier)} trials in {out} on "
                      f"{described(connect(self.cluster), self.cluster)}")
        return run_sweep(ws.root, plan, out, self.cluster, progress, shipped, earlier)

    def _shipped(self, ws: Workspace, plan: SweepPlan, progress: Progress
                 ) -> tuple[bytes, dict[str, str]] | None:
        """What travels with each trial where not every node sees the workspace."""
        from workbench.rl.sweep_grid import trial_config

        if not nodes_without(connect(self.cluster), ws.root):
            return None
        shipped = _shipment(ws, [trial_config(plan.base, a) for a in plan.combinations])
        progress.emit("message", text=(
            f"not every node sees the workspace, so {plan.base.scene}'s recordings "
            f"({len(shipped[0]) / 1e6:.1f} MB) travel with each trial, and each run comes "
            "back into the workspace when the sweep ends"))
        return shipped


def _wait_for_their_workers(ws: Workspace, runs: list[str], patience: float = 30.0) -> None:
    """A sweep's process lost, Ray ends its trials' workers a moment later: the runs that go
    on are resumed once no live process of this machine trains them (refused in one line
    after ``patience`` seconds)."""
    from workbench.rl.sweep_rows import live_writers

    busy = live_writers(ws, runs, patience)
    if busy:
        raise ConfigError(f"resume: {busy[0]['path']} is still trained by process "
                          f"{busy[0]['metrics']['pid']}; stop it first")


def _shipment(ws: Workspace, configs: list[RunConfig]) -> tuple[bytes, dict[str, str]]:
    """The scene's recordings and every reward model the sweep's trial ``configs`` name,
    packed for nodes that do not see the workspace; each model's name as the trials give it ->
    its name in the archive (its own path in the workspace, or under outside/)."""
    folders: dict[str, Path] = {}
    models: dict[str, str] = {}
    for config in configs:
        # The reward a trial learns comes back with its run; its clips and a person's
        # labels would need the workspace while it trains.
        if config.online_feedback and (not config.online_teacher or config.online_clips):
            raise ConfigError("online_feedback: the trials of a sweep whose nodes do not all "
                              "see the workspace show no clip to a person and read no label "
                              "given meanwhile; give a synthetic teacher and no clips "
                              "(--online-teacher oracle --online-clips 0), or sweep where "
                              "every node sees the workspace")
        if config.reward != "model":
            continue
        folder = Path(ws.absolute(config.reward_model)).resolve()
        name = ws.relative(folder)
        if Path(name).is_absolute():  # a model folder outside the workspace
            name = next((n for n, f in folders.items() if f == folder),
                        f"outside/{len(folders)}-{folder.name}")
        folders[name], models[config.reward_model] = folder, name
    return pack_recordings(ws, configs[0].scene, folders), models
