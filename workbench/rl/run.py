"""A training run in a Workspace: env + (learned) reward + PPO -> policy checkpoint + metrics.

This is what ``workbench train``, the Train panel's worker process and the tests call.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from workbench import config as cfg
from workbench.config import ConfigError
from workbench.data.processes import alive_here, running_here
from workbench.data.workspace import Workspace
from workbench.envs.env import make_env
from workbench.envs.goal import GoalEnv
from workbench.rewards.preference.config import mirror_note
from workbench.rewards.workflow import store_model
from workbench.rl.checkpoint import CHECKPOINT, can_go_on, run_checkpoint, stored_updates
from workbench.rl.curriculum import Curriculum, CurriculumConfig
from workbench.rl.films import FINAL, Filming
from workbench.rl.monitor import RewardHackingMonitor
from workbench.rl.policy import GaussianPolicy
from workbench.rl.ppo import Callback, TrainProgress, evaluate_policy, planned_steps, train_ppo
from workbench.rl.ray_rollouts import RolloutWorkerLost
from workbench.rl.run_config import RunConfig
from workbench.rl.run_inputs import (
    TrainingEnvs,
    online_feedback,
    resolve_reward,
    run_envs,
    run_reward_model,
    run_takeovers,
)
from workbench.rl.sac import OneEnv, SACConfig, train_sac
from workbench.rl.takeover import Interventions

# What a run's row says when its process was told to stop mid-update (Ctrl-C, or a sweep's
# trial that ASHA or the person stopped: Tune ends it with SystemExit in its report).
INTERRUPTED = "its process was interrupted"


def train_run(
    workspace: Workspace,
    config: RunConfig = RunConfig(),
    callbacks: tuple[Callback, ...] = (),
    on_snapshot: Callable[[GaussianPolicy, TrainProgress], None] | None = None,
    resume_dir: str | Path | None = None,
    on_run_dir: Callable[[Path], None] | None = None,
    after_update: Callback | None = None,
) -> dict[str, Any]:
    """Train, evaluate against ground truth, save the policy, record the run.

    The run folder keeps an exact checkpoint (``checkpoint.safetensors``); ``resume_dir``
    continues a killed or stopped run from it, with the config it was started with (one that
    ended before it stored an update starts over in its folder, keeping its row).
    ``on_run_dir`` hears the run's folder as soon as it is made (a sweep's trial keeps it, to
    resume there if its node is lost). ``after_update`` hears each update after the run has
    stored it, its log line and (PPO) its checkpoint: what it sends elsewhere can be resumed.
    """
    resume_dir = Path(resume_dir) if resume_dir is not None else None
    config = _checked(config, resume_dir, workspace)
    torch.set_num_threads(config.torch_threads)
    sac = config.algorithm == "sac"
    gamma, budget = ((config.sac.gamma, config.sac.total_steps) if sac
                     else (config.ppo.gamma, planned_steps(config.ppo)))
    reward_path = None if config.online_feedback else resolve_reward(workspace, config)
    env_kwargs, eval_env = run_envs(config)
    model = run_reward_model(reward_path, config, eval_env) if reward_path is not None else None
    demos = run_takeovers(workspace, config, eval_env, model) if config.takeovers else None
    if demos is not None and not len(demos):
        raise ConfigError(f"takeovers: no step of {config.scene}'s recorded episodes was taken "
                          "over by a person; record some (`workbench run BUNDLE --takeover "
                          "gamepad --record WORKSPACE`) or train without --takeovers")

    training = TrainingEnvs(config, env_kwargs, model, gamma, eval_env.features)
    her = sac and config.sac.her  # the goal-conditioned view, its own sparse reward
    envs: Any = GoalEnv(make_env(config.scene, **env_kwargs)) if her else training.make()
    schedule = (Curriculum(envs, CurriculumConfig(final=config.difficulty))
                if config.curriculum and config.difficulty > 0 else None)
    learners: tuple[Callback, ...] = ()  # what refits the reward between updates
    learner = None
    if config.online_feedback:
        envs, learners, learner = online_feedback(workspace, config, envs, eval_env)
    elif not her:
        envs, learners = training.rewarded(envs)

    run_dir, run_id = _open_run(workspace, config, reward_path, resume_dir)
    if on_run_dir is not None:
        on_run_dir(run_dir)
    log = _RunLog(run_dir, budget, config.tensorboard, on_snapshot)
    # after the log: a film costs the run its rendering, never its logged update
    filming = (Filming(eval_env, run_dir, config.film_every),) if config.film_every else ()
    monitor = None
    if config.hacking_guard and (reward_path or config.online_feedback):
        # callbacks come every update (PPO), every log_every steps (SAC)
        monitor = _guard_on_evaluations(eval_env, config.sac.log_every if sac else
                                        config.ppo.num_envs * config.ppo.rollout_steps)

    def guarded(learners: tuple[Callback, ...]) -> tuple[Callback, ...]:
        """The curriculum, the feedback rounds (or the student's refit), reward code's terms
        and the monitor: they annotate each update before it is logged."""
        if model is not None and hasattr(model, "drain_terms"):  # reward code names its terms
            learners = (*learners, _log_terms(model))
        return tuple(g for g in (schedule, *learners, monitor) if g is not None)

    status = "failed"
    checkpoint = run_checkpoint(run_dir) if config.checkpoints else None
    resume = resume_dir is not None and checkpoint is not None and checkpoint.exists()
    lost, lost_nodes = 0, frozenset[str]()
    if resume_dir is not None and not resume:
        log.event("it had stored no update when it ended: starting it over", envs)
    if config.cluster:
        log.event(f"rollout workers on the Ray cluster at {config.cluster}", envs)
    extra: dict[str, Any] = {}
    try:
        if sac:  # one env, off-policy; the person's take-over steps beside its replay
            if demos is not None:
                extra["takeover_steps"] = len(demos)
                log.event(f"{len(demos)} take-over steps from the workspace", envs)
            last = (after_update,) if after_update is not None else ()
            policy = learn_sac(envs, config.sac,
                               (*guarded(learners), log, *filming, *callbacks, *last), demos)
        else:  # PPO; a lost rollout worker resumes from the last checkpoint
            while True:
                try:
                    policy = train_ppo(
                        envs, config.ppo, callbacks=(*guarded(learners), log, *filming,
                                                     *callbacks),
                        checkpoint=checkpoint, checkpoint_every=max(config.checkpoint_every, 1),
                        resume=resume, after_update=after_update,
                    )
                    break
                except RolloutWorkerLost as exc:  # a node died: fresh workers, the last checkpoint
                    lost += 1
                    if lost > config.cluster_retries:
                        raise
                    envs.close()
                    lost_nodes |= exc.nodes  # fresh workers go elsewhere
                    # A distilled reward's refit follows its new envs.
                    envs, learners = training.rewarded(training.make(lost_nodes))
                    resume = checkpoint is not None and checkpoint.exists()
                    log.event(f"{exc}; resuming from "
                              f"{'the last checkpoint' if resume else 'the start'}", envs)
        status = "finished" if log.step >= log.planned else "stopped"
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or Ray Tune ending a trial it stopped
        status = "interrupted"
        raise
    finally:
        log.close()
        envs.close()
        if status == "failed":
            workspace.update_run(run_id, "failed", {})
        elif status == "interrupted":  # it keeps its checkpoint: resumable, not broken
            workspace.update_run(run_id, "stopped", {"stopped_by": INTERRUPTED})

    if monitor is not None and monitor.alarm is not None and monitor.roll_back(policy):
        extra.update(hacking_alarm=str(monitor.alarm), rolled_back_to_step=monitor.best_step)
        status = "finished"  # stopped on purpose: nothing to continue
    if learner is not None and learner.model is not None:  # the reward learned on the way
        reward_path = store_model(workspace, learner.model, config.scene,
                                  {"online_labels": len(learner.queries),
                                   **mirror_note(learner.model.config)})["path"]
    if training.refits_probe and model is not None:  # the reward as the run last read it
        extra["reward_as_read"] = workspace.relative(model.save(run_dir / "reward"))
    if lost:
        extra["rollout_workers_lost"] = lost
    if schedule is not None:
        extra["final_difficulty"] = schedule.difficulty
    metrics = _evaluated(policy, eval_env, config, run_dir, reward_path)
    if filming:  # the policy the run saves (the guard's roll-back included)
        metrics["films"] = workspace.relative(filming[0].film(policy, FINAL).parent)
    metrics.update(extra)
    workspace.update_run(run_id, status, metrics)
    eval_env.close()
    return {"run_id": run_id, "path": str(run_dir), **metrics}


def _checked(config: RunConfig, resume_dir: Path | None, workspace: Workspace) -> RunConfig:
    """The config the run trains with (a resumed run's own), refused in one line where it
    cannot train."""
    if resume_dir is not None:
        # Its row says it is a run: another folder's config.json (a reward model's) would
        # read as a run's defaults, and its folder would fill with a run.
        if workspace.run_at(resume_dir) is None:
            raise ValueError(f"--resume {resume_dir}: not a run of the workspace "
                             f"{workspace.root} (its runs are in {workspace.root / 'runs'}; "
                             "`workbench workspace recover` indexes the run folders its "
                             "index lost)")
        config = RunConfig.saved(json.loads((resume_dir / "config.json").read_text()))
        if not can_go_on(resume_dir):  # a run that stored no update starts over in its folder
            why = ("a SAC run keeps no checkpoint to continue from" if config.algorithm == "sac"
                   else "it kept no checkpoint to continue from (--checkpoint-every 0)")
            logged = stored_updates(resume_dir)
            raise ValueError(f"--resume {resume_dir}: {why}, and starting it over would lose "
                             f"the {logged} update{'s' * (logged != 1)} it logged; start a new "
                             "run")
    if config.goal and config.reward == "latest":  # a sentence alone: its grounded reward
        config = replace(config, reward="grounded")
    if config.reward == "grounded" and not config.goal:
        raise ValueError("reward=grounded needs a goal sentence (--goal)")
    return config


def _open_run(workspace: Workspace, config: RunConfig, reward_path: str | None,
              resume_dir: Path | None) -> tuple[Path, int]:
    """The run's folder (a new one with its config, or the resumed run's) and its row,
    marked as running in this process."""
    if resume_dir is None:
        run_dir = workspace.new_artifact_dir("runs", f"{config.algorithm}-{config.scene}")
        # The saved config names the model itself, not "latest": a resumed run goes on with
        # the reward it started with, whatever was fitted since.
        pinned = (replace(config, reward="model", reward_model=workspace.relative(reward_path))
                  if reward_path else config)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(pinned), indent=1))
    else:
        run_dir = resume_dir
    earlier = workspace.run_at(run_dir)
    if earlier and earlier["status"] == "running" and alive_here(earlier["metrics"]):
        # Two processes writing one run would mix their checkpoints and logs.
        raise ValueError(f"--resume {run_dir}: it is still running (process "
                         f"{earlier['metrics']['pid']}); stop it first")
    alive = running_here()  # lets recovery tell a killed run from a live one
    if earlier:  # a resumed run keeps its row
        workspace.update_run(earlier["id"], "running", alive)
        return run_dir, earlier["id"]
    return run_dir, workspace.add_run(f"{config.algorithm}-{config.scene}", config.scene,
                                      run_dir, "running", alive)


def _last_step(log: Path) -> int:
    """The step of a run log's last whole line (0 for a new run)."""
    if not log.is_file():
        return 0
    for line in reversed(log.read_text().splitlines()):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):  # a line cut short by a kill
            continue
    return 0


class _RunLog:
    """The run's ``metrics.jsonl`` (and TensorBoard): a line per update (PPO) or log interval
    (SAC), as a training callback, and a line per event (a lost node, take-over steps)."""

    def __init__(self, run_dir: Path, budget: int, tensorboard: bool,
                 on_snapshot: Callable[[GaussianPolicy, TrainProgress], None] | None):
        path = run_dir / "metrics.jsonl"
        # A resumed run starts where its log ends: one killed after its last checkpoint but
        # before its row said so has no update left to log, and is finished all the same.
        self.step, self.planned = _last_step(path), budget
        self.file = path.open("a")
        self.board = tensorboard_writer(run_dir / "tb") if tensorboard else None
        self.on_snapshot = on_snapshot

    def __call__(self, progress: TrainProgress) -> None:
        self.step = progress.step
        record = {
            "step": progress.step,
            "charts/learned_return": progress.learned_return,
            "charts/success_rate": progress.success_rate,
            "charts/reference_return": progress.reference_return,
            "charts/fps": progress.fps,
            **progress.losses,
            **progress.extras,
        }
        self._write(record)
        if self.board is not None:
            for key, value in record.items():
                if key != "step":
                    self.board.add_scalar(key, value, progress.step)
        if self.on_snapshot is not None and progress.policy is not None:
            self.on_snapshot(progress.policy, progress)

    def event(self, text: str, envs: Any) -> None:
        """A line saying what happened, and where the rollout workers are (on a cluster)."""
        record: dict[str, Any] = {"step": self.step, "event": text}
        placement = getattr(envs.unwrapped, "placement", None)
        if placement is not None:
            record["rollout_workers"] = placement()
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
        if self.board is not None:
            self.board.close()


def _evaluated(policy: GaussianPolicy, eval_env: Any, config: RunConfig, run_dir: Path,
               reward_path: str | None) -> dict[str, Any]:
    """The policy's true success over deterministic episodes (each choice of the goal's too),
    saved into the run with the contract a runner checks and the reward it trained on."""
    evaluation: dict[str, Any] = evaluate_policy(policy, eval_env, config.eval_episodes)
    if config.goal and eval_env.task.goal_choices:
        evaluation["goal_success"] = each_choice(policy, eval_env, config.eval_episodes)
    policy.save(run_dir / "policy", {"contract": eval_env.contract(), "reward": reward_path})
    return {**evaluation, "reward": reward_path or config.reward}


def learn_sac(envs: gym.vector.VectorEnv | GoalEnv, config: SACConfig,
              callbacks: tuple[Callback, ...], demos: Interventions | None = None
              ) -> GaussianPolicy:
    """SAC on a run's rewarded one-env vector env, or with hindsight relabelling on a
    scene's goal-conditioned view. The callbacks (the run's log, the monitor, a front end's
    preview) see the actor as the GaussianPolicy over flat states that the run saves and
    exports."""
    env: gym.Env = envs if isinstance(envs, GoalEnv) else OneEnv(envs)
    inputs = (envs.flat_inputs, envs.flat_dim) if isinstance(envs, GoalEnv) else (None, 0)

    def as_policy(progress: TrainProgress) -> None:
        progress.policy = progress.policy.as_policy(*inputs)

    agent = train_sac(env, config, callbacks=(as_policy, *callbacks), demos=demos)
    return agent.as_policy(*inputs)


GUARD_EPISODES = 10  # evaluation episodes per check of the reward-hacking guard
GUARD_SEED = 20_000  # its episodes' seeds: apart from the final evaluation's (10,000 on)
CONFIRM_EPISODES = 20  # fresh episodes (seeds 30,000 on) that confirm a suspicion
CONFIRM_SEED = 30_000


def _guard_on_evaluations(eval_env, steps_per_callback: int) -> RewardHackingMonitor:
    """The guard watching the policy's mean action on fixed episodes, checked every so many
    training callbacks that those episodes cost at most a tenth of the training steps; its
    second witness, the reference return, on the scale of the most an episode of it pays; a
    suspicion confirmed on other episodes before it rings."""
    task = eval_env.task
    guard_steps = GUARD_EPISODES * task.episode_steps  # at most, per check
    every = max(1, -(-guard_steps * 10 // steps_per_callback))
    return RewardHackingMonitor(
        evaluate=lambda policy: evaluate_policy(policy, eval_env, GUARD_EPISODES, GUARD_SEED),
        confirm=lambda policy: evaluate_policy(policy, eval_env, CONFIRM_EPISODES, CONFIRM_SEED),
        eval_every=every, return_scale=task.most_reference_return)


def each_choice(policy: GaussianPolicy, env, episodes: int) -> dict[str, float]:
    """True success with each choice the scene offers named instead (``pad=blue``): one
    goal-conditioned policy should follow every sentence, not only the one it was run for."""
    task = env.task
    named = dict(task.requested_colours)
    rates = {}
    try:
        for role in task.goal_choices:
            for colour in task.goal_colours[role]:
                task.request_colours({**named, role: colour})
                rates[f"{role}={colour}"] = evaluate_policy(policy, env, episodes)["success_rate"]
    finally:
        task.request_colours(named)
    return rates


def tensorboard_writer(folder: Path):
    """A TensorBoard SummaryWriter, or None (with a warning) when tensorboard is missing: the
    JSON-lines log beside it has the same numbers."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("tensorboard is not installed (pip install tensorboard); the run is "
                      "logged to metrics.jsonl only", stacklevel=2)
        return None
    return SummaryWriter(str(folder))


def _log_terms(model: Any) -> Callback:
    """Each named term of the reward, averaged over the update's steps, into its log."""

    def log(progress: TrainProgress) -> None:
        progress.extras.update({f"reward/{name}": value
                                for name, value in model.drain_terms().items()})

    return log


def resumable_runs(workspace: Workspace, scene: str | None = None) -> list[dict[str, Any]]:
    """Runs that ended before their budget (stopped, failed, or killed while running) and kept
    an exact checkpoint to continue from."""
    return [r for r in workspace.runs(scene) if r["status"] in ("stopped", "failed", "running")
            and (Path(r["path"]) / CHECKPOINT).exists()]


def latest_run(workspace: Workspace, scene: str | None = None) -> Path:
    """The newest run with a saved policy (finished, or stopped early by the user)."""
    runs = [r for r in workspace.runs(scene) if r["status"] in ("finished", "stopped")]
    if not runs:
        raise ValueError(f"no finished training run in {workspace.root}; train one first")
    return Path(runs[-1]["path"])
