"""A policy LeRobot trained (``lerobot-train``'s ``pretrained_model`` folder: ACT, diffusion,
...) run on the simulated robot as ``lerobot-record --policy.path`` runs it on the real one: it
sees the joints in LeRobot's names and units and the cameras it was trained on, and its action
is taken as the joints' position targets. A policy trained on simulated takes (``dataset
export --layout joints``) or on the real arm's own dataset is so tried on the twin, with the
scene's success and reward, before it moves the real arm.

LeRobot pins its own torch, so this runs in the Python that has LeRobot: ``lerobot-eval`` (the
operation) starts this module as a program there (``WORKBENCH_LEROBOT_PYTHON``, as the leader
arm does), which prints one JSON line per episode and one with the result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from workbench.envs.env import make_env
from workbench.sim.render import MODEL_FRAMES, CameraRenderer
from workbench.teleop.leader import LeRobotUnits

IMAGES = "observation.images."


class PolicyError(ValueError):
    """The policy cannot run on this robot (no LeRobot, another robot's joints, a camera the
    scene lacks)."""


def run_policy(policy_dir: str | Path, scene: str, robot: str, episodes: int, seed: int,
               on_episode: Callable[[dict[str, Any]], None] = lambda _: None) -> dict[str, Any]:
    """Run the policy for ``episodes`` episodes (seeds ``seed``, ``seed + 1``, ...); each
    episode's success, return and length, and the success rate."""
    try:
        import torch
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors
        from lerobot.utils.control_utils import predict_action
    except ImportError as exc:
        raise PolicyError(f"a LeRobot policy runs where LeRobot is installed: set "
                          f"WORKBENCH_LEROBOT_PYTHON to a Python that has it ({exc})") from None
    folder = str(policy_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    on = torch.device(device)
    config = PreTrainedConfig.from_pretrained(folder)
    config.device = device
    policy = get_policy_class(config.type).from_pretrained(folder, config=config)
    policy.eval()
    preprocess, postprocess = make_pre_post_processors(
        config, pretrained_path=folder,
        preprocessor_overrides={"device_processor": {"device": device}})
    env = make_env(scene, robot=robot, control_mode="joint_position")
    renderer: CameraRenderer | None = None
    try:
        arm: Any = env.robot
        units = LeRobotUnits.of(env)
        shapes = {key: tuple(feature.shape) for key, feature in config.input_features.items()}
        if shapes.get("observation.state") != (len(units.joints),):
            raise PolicyError(f"the policy's observation.state is {shapes.get('observation.state')}"
                              f", not the {len(units.joints)} joints of {robot}")
        cameras, renderer = cameras_seen(shapes, env)
        controller = env.controller
        results = []
        for episode in range(episodes):
            env.reset(seed=seed + episode)
            policy.reset()
            task = env.task.goal_text()
            total, success, steps, done = 0.0, False, 0, False
            while not done:
                action = predict_action(seen(env, units, cameras, renderer), policy, on,
                                        preprocess, postprocess, use_amp=False, task=task,
                                        robot_type=arm.lerobot_type)
                commanded = dict(zip(units.names,
                                     np.asarray(action, np.float64).ravel().tolist(),
                                     strict=True))
                target = arm.simulated_positions(units.to_radians(commanded))
                command = np.clip(controller.action_for(target), -1.0, 1.0)
                _, reward, terminated, truncated, info = env.step(command)
                total, steps = total + float(reward), steps + 1
                success = success or bool(info["success"])
                done = terminated or truncated
            row = {"episode": episode, "seed": seed + episode, "success": success,
                   "return": round(total, 3), "steps": steps}
            on_episode(row)
            results.append(row)
    finally:
        if renderer is not None:
            renderer.close()
        env.close()
    return {"policy": folder, "type": config.type, "scene": scene, "robot": robot,
            "cameras": sorted(cameras.values()), "device": device,
            "success_rate": sum(r["success"] for r in results) / len(results),
            "mean_return": round(float(np.mean([r["return"] for r in results])), 3),
            "episodes": results}


def seen(env: Any, units: LeRobotUnits, cameras: dict[str, str], renderer: Any
         ) -> dict[str, np.ndarray]:
    """What the policy sees of the simulated robot, as LeRobot's driver and cameras report the
    real one's and a ``--layout joints`` dataset holds it: the joints in LeRobot's units, and
    each camera's RGB frame."""
    observation = {"observation.state": units.vector(env.robot.hardware_positions(env.physics))}
    for key, camera in cameras.items():
        observation[key] = renderer.rgb(env.physics.data, camera)
    return observation


def cameras_seen(shapes: dict[str, tuple[int, ...]], env: Any
                 ) -> tuple[dict[str, str], CameraRenderer | None]:
    """The policy's image inputs (``shapes``: its input features' (C, H, W)), each with the
    scene camera it names (a dataset key flattens "robot/wrist_cam" to "robot_wrist_cam"), and
    a renderer of their size, as the takes were rendered."""
    model = env.physics.model
    by_key = {model.camera(i).name.replace("/", "_"): model.camera(i).name
              for i in range(model.ncam)}
    keys = [key for key in shapes if key.startswith(IMAGES)]
    cameras = {}
    for key in keys:
        flat = key.removeprefix(IMAGES)
        if flat not in by_key:
            raise PolicyError(f"the policy looks through {flat}, which the scene does not have "
                              f"(its cameras: {', '.join(sorted(by_key.values()))})")
        cameras[key] = by_key[flat]
    if not cameras:
        return {}, None
    sizes = {shapes[key] for key in keys}
    if len(sizes) > 1:
        raise PolicyError(f"the policy's cameras differ in size ({sorted(sizes)}); this renders "
                          "one size")
    _, height, width = next(iter(sizes))
    return cameras, CameraRenderer(model, width, height, MODEL_FRAMES)


def main(argv: list[str]) -> int:
    """``python -m workbench.export.lerobot_policy '{"policy_dir": ..., "scene": ...}'``."""
    try:
        result = run_policy(**json.loads(argv[0]),
                            on_episode=lambda row: print(json.dumps(row), flush=True))
    except (PolicyError, OSError, ValueError, KeyError) as exc:
        print(json.dumps({"error": str(exc).splitlines()[0] if str(exc) else repr(exc)}),
              flush=True)
        return 1
    print(json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
