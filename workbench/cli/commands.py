"""Subcommand bodies: argument plumbing, progress bars and printing only.

What needs torch (rewards, training, export), pyarrow/h5py (datasets), OpenCV, tqdm or a POSIX
terminal is imported inside the commands that use it, so that ``workbench run`` works on a robot
computer that has only numpy, onnxruntime, mujoco and gymnasium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench import config as cfg
from workbench.cli.main import main as cli
from workbench.cli.main import print_json
from workbench.data.workspace import Workspace
from workbench.envs import dm_control_adapter
from workbench.envs.env import make_env, scene_info
from workbench.export.link import load_key
from workbench.export.runner import Terminated, run_in_sim, run_on_robot
from workbench.feedback.labels import teach as answer_queries
from workbench.feedback.teachers import TEACHERS
from workbench.progress import reporting
from workbench.registry import FRONTENDS, SCENES
from workbench.teleop.recorder import random_policy, record_policy_episodes, scripted_policy


def tqdm(*args: Any, **kwargs: Any) -> Any:  # a progress bar, imported only where one shows
    from tqdm import tqdm as bar

    return bar(*args, **kwargs)


def scenes(args: argparse.Namespace) -> int:
    infos = [scene_info(name) for name in SCENES.names()]
    if not args.gallery:  # the gallery shows the workbench's own scenes
        infos += dm_control_adapter.scene_infos()
    if args.gallery:
        from workbench.envs.gallery import render_gallery  # OpenCV writes the PNGs

        for path in render_gallery(args.gallery):
            print(path)
        return 0
    if args.json:
        print_json(infos)
        return 0
    widths = [max(len(str(value)) for value in column) for column in
              zip(*((i["name"], i["id"], ", ".join(i["tags"])) for i in infos), strict=True)]
    for info in infos:
        name, eid, tags = info["name"], info["id"], ", ".join(info["tags"])
        print(f"{name:<{widths[0]}}  {eid:<{widths[1]}}  {tags:<{widths[2]}}  "
              f"{info['description']}")
    return 0


def view(args: argparse.Namespace) -> int:
    if args.out is None:
        return _open_gui(scene=args.scene)
    from workbench.envs.gallery import render_scene_png  # OpenCV writes the PNG

    render_scene_png(args.scene, args.out, args.size, args.camera, args.seed)
    print(args.out)
    return 0


def record(args: argparse.Namespace) -> int:
    env = make_env(args.scene, difficulty=args.difficulty)
    with Workspace.open(args.workspace, create=True) as ws:
        for count, source in ((args.scripted, "scripted"), (args.perturbed, "perturbed"),
                              (args.random, "random")):
            if count:
                policy = (
                    random_policy(env, args.seed)
                    if source == "random"
                    else scripted_policy(env, args.seed, perturbed=source == "perturbed")
                )
                with tqdm(total=count, desc=f"{source} episodes", unit="ep") as bar:
                    ids = record_policy_episodes(
                        env, ws, policy, count, source, seed=args.seed,
                        progress=lambda _: bar.update(1),
                    )
                rows = {r["id"]: r for r in ws.episodes(scene=args.scene)}
                ok = sum(bool(rows[i]["success"]) for i in ids)
                print(f"saved {len(ids)} {source} episodes ({ok} successful) to {ws.root}")
                return 0
        from workbench.cli.terminal_teleop import record_keyboard

        return record_keyboard(env, ws, args.goal, args.seed)


def train_reward(args: argparse.Namespace) -> int:
    from workbench.rewards import workflow

    config, fit = workflow.family_fit(args.family, tuple(args.overrides), args.scene)
    stages: dict[str, Any] = {}

    def on_stage(stage: str, done: int, total: int) -> None:  # rendering, pretraining
        if stage not in stages:
            stages[stage] = tqdm(total=total, desc=stage, leave=False)
        stages[stage].update(done - stages[stage].n)

    with Workspace.open(args.workspace, create=True) as ws, reporting(on_stage), tqdm(
        total=config.epochs, desc=f"fitting {args.family} reward", unit="epoch"
    ) as bar:

        def on_epoch(epoch: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.4f}")
            bar.update(1)

        try:
            _, report = fit(ws, args.scene, config, on_epoch=on_epoch)
        finally:
            for stage_bar in stages.values():
                stage_bar.close()
    print_json(report)
    return 0


def teach(args: argparse.Namespace) -> int:
    import numpy as np

    from workbench.rewards.artifact import load_reward_model

    if args.teacher not in TEACHERS:
        raise ValueError(f"unknown teacher {args.teacher!r}; choose one of {', '.join(TEACHERS)}")
    with Workspace.open(args.workspace, create=True) as ws:
        model = None
        if args.active:
            models = [m for m in ws.models(args.scene) if m["family"] == "preference"]
            if not models:
                raise ValueError("--active needs a preference model; fit one first "
                                 f"(`workbench train-reward {args.scene} --family preference`)")
            model = load_reward_model(models[-1]["path"], device="cpu")
        ids = answer_queries(ws, args.scene, TEACHERS[args.teacher], args.labels,
                             np.random.default_rng(args.seed), args.length, model)
        answers = [p.answer for p in ws.preferences() if p.id in set(ids)]
    print_json({"labels": len(ids), "teacher": args.teacher,
                "answers": {a: answers.count(a) for a in sorted(set(answers))}})
    return 0


def train(args: argparse.Namespace) -> int:
    from workbench.rl.run import RunConfig, train_run

    overrides = [f"scene={args.scene}", f"reward={args.reward}", f"goal={args.goal or ''}",
                 *args.overrides]
    if args.steps is not None:
        overrides.append(f"ppo.total_steps={args.steps}")
    config = cfg.override(RunConfig(), overrides)
    bars: list[Any] = []  # made at the first update: a bad goal or reward is one line

    def on_progress(progress) -> None:
        if not bars:
            bars.append(tqdm(total=progress.total_steps, desc="training PPO", unit="step"))
        bar = bars[0]
        bar.update(progress.step - bar.n)
        bar.set_postfix(
            learned=f"{progress.learned_return:.1f}", success=f"{progress.success_rate:.2f}"
        )

    with Workspace.open(args.workspace, create=True) as ws:
        try:
            if args.resume is not None:
                if not (args.resume / "config.json").is_file():
                    raise ValueError(f"--resume {args.resume}: not a run folder (no config.json)")
                result = train_run(ws, callbacks=(on_progress,), resume_dir=args.resume)
            else:
                result = train_run(ws, config, callbacks=(on_progress,))
        finally:
            for bar in bars:
                bar.close()
    print_json(result)
    return 0


def export(args: argparse.Namespace) -> int:
    from workbench.export.workflow import export_run
    from workbench.rl.run import latest_run

    with Workspace.open(args.workspace, create=True) as ws:
        run = args.run or latest_run(ws, args.scene)
    out = args.out or Path(run) / "bundle"
    bundle = export_run(run, out)
    print_json({"bundle": str(out), "parity": bundle["parity"]})
    return 0


def run(args: argparse.Namespace) -> int:
    if args.robot:
        try:
            report = run_on_robot(args.bundle, args.robot, args.steps, args.log,
                                  key=load_key(args.key_file), listen=args.listen or ("", 0))
        except Terminated:
            print("workbench run: terminated; the robot was sent a stop", file=sys.stderr)
            return 143
        print_json(report)
        return 0
    print_json(run_in_sim(args.bundle, episodes=args.episodes))
    return 0


def dataset(args: argparse.Namespace) -> int:
    from workbench.data.formats import lerobot, robomimic
    fmt = args.format or ("robomimic" if args.path.suffix in (".hdf5", ".h5") else "lerobot")
    with Workspace.open(args.workspace, create=True) as ws:
        if args.action == "export":
            export = lerobot.export_lerobot if fmt == "lerobot" else robomimic.export_robomimic
            path = export(ws, args.path, scene=args.scene)
            print_json({"exported": str(path), "format": fmt})
        else:
            load = lerobot.import_lerobot if fmt == "lerobot" else robomimic.import_robomimic
            print_json({"imported_episodes": load(ws, args.path, scene=args.scene),
                        "format": fmt})
    return 0


def workspace(args: argparse.Namespace) -> int:
    with Workspace.open(args.workspace, create=args.action == "info") as ws:
        if args.action == "recover":
            print_json({"recovered": ws.recover()})
            return 0
        if args.action == "check":
            problems = ws.check()
            print_json({"root": str(ws.root), "problems": problems})
            return 1 if problems else 0
        episodes = ws.episodes(include_incomplete=True)
        print_json({
            "root": str(ws.root),
            "episodes": len(episodes),
            "incomplete": sum(e["status"] != "saved" for e in episodes),
            "goals": len(ws.goals()),
            "preferences": len(ws.preferences()),
            "models": [m["path"] for m in ws.models()],
            "runs": [r["path"] for r in ws.runs()],
        })
    return 0


def episode(args: argparse.Namespace) -> int:
    with Workspace.open(args.workspace) as ws:
        for episode_id in args.ids:
            ws.load_episode(episode_id)  # every id exists before any is deleted
        for episode_id in args.ids:
            ws.delete_episode(episode_id)
    print_json({"deleted": args.ids})
    return 0


def loop(args: argparse.Namespace) -> int:
    """Every stage in turn, as a user new to the workbench would run them."""
    base = ["--workspace", str(args.workspace)]
    steps = [
        ["record", args.scene, "--scripted", str(args.demos), *base],
        ["record", args.scene, "--random", str(args.demos), "--seed", "500", *base],
        ["record", args.scene, "--perturbed", str(args.demos), "--seed", "900", *base],
        ["train-reward", args.scene, *base],
        ["train", args.scene, "--steps", str(args.steps), *base],
        ["export", "--scene", args.scene, *base],
    ]
    for argv in steps:
        print(f"\n$ workbench {' '.join(argv)}")
        code = cli(argv)
        if code:
            return code
    from workbench.rl.run import latest_run

    with Workspace.open(args.workspace) as ws:
        bundle = latest_run(ws, args.scene) / "bundle"
    print(f"\n$ workbench run {bundle}")
    return cli(["run", str(bundle), "--episodes", "10"])


def gui(args: argparse.Namespace) -> int:
    return _open_gui(workspace=args.workspace, scene=args.scene)


def _open_gui(**kwargs) -> int:
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        raise RuntimeError(
            "no screen to open the GUI on (DISPLAY is not set); use `workbench --headless`, a "
            "subcommand such as `workbench view Push --out push.png`, or run under Xvfb"
        )
    return FRONTENDS.load("gui")(**kwargs)

