from __future__ import annotations

from dataclasses import dataclass, field, replace

from workbench.config import DEVICE, ConfigError, validated
from workbench.sim.mirror import Mirror


@dataclass(frozen=True)
@validated
class PreferenceConfig:
    """How a preference reward is fitted. Each field's help is its CLI help and GUI tooltip."""

    members: int = field(default=3, metadata={
        "help": "ensemble size (disagreement picks queries)", "min": 1, "max": 64})
    hidden: tuple[int, ...] = field(default=(64, 64), metadata={
        "help": "MLP hidden sizes", "min": 1, "max": 65_536})
    inputs: tuple[str, ...] = field(
        default=(),
        metadata={"help": "named observation features the reward sees (empty: all); e.g. "
                  "hand_to_cube,cube_to_target makes it indifferent to where things stand"})
    mirror: tuple[float, ...] = field(default=(), metadata={
        "help": "a mirror symmetry the task has: one sign per input, -1 where the mirror image "
                "negates it (Pendulum's cos,sin,speed: 1,-1,-1); the reward then pays a state "
                "and its mirror image the same (empty: no symmetry)", "choices": (-1.0, 1.0)})
    mirror_order: tuple[int, ...] = field(default=(), metadata={
        "help": "with mirror: which input each input's mirror image reads, counting from 0 "
                "(a left hip's angle from the right hip's; empty: each input its own)",
        "min": 0})
    scene_mirror: bool = field(default=False, metadata={
        "help": "take mirror from the scene and its robot, where they declare one (tabletop "
                "scenes laid out alike to either side of a symmetric arm; legged robots, whose "
                "left and right legs swap)"})
    epochs: int = field(default=200, metadata={
        "help": "passes over the labels", "min": 1, "max": 1_000_000})
    lr: float = field(default=3e-3, metadata={"help": "Adam learning rate", "gt": 0.0, "max": 1.0})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay", "min": 0.0})
    batch_size: int = field(default=64, metadata={"help": "queries per gradient step", "min": 1})
    label_smoothing: float = field(
        default=0.05, metadata={
            "help": "pull targets towards 0.5: robustness to wrong labels", "min": 0.0, "lt": 0.5}
    )
    crop: float = field(default=1.0, metadata={
        "help": "temporal cropping (SURF, Park et al. 2022): each step compares windows of "
                "a random share in [crop, 1] of the segments, at random places (1: whole "
                "segments)", "gt": 0.0, "max": 1.0})
    bootstrap: bool = field(
        default=True, metadata={"help": "each member sees a bootstrap resample of the labels"}
    )
    seed: int = field(default=0, metadata={
        "help": "seed of initialisation and batching", "min": 0, "max": 2**63 - 1})
    device: str = field(default="auto", metadata={
        "help": "auto (CUDA if present), cpu, cuda", **DEVICE})


def with_scene_options(config: PreferenceConfig, scene: str) -> PreferenceConfig:
    """``config`` with the fields ``scene`` names in its ``preference_options`` put in (what a
    preference reward of the scene starts from, fitted or learnt while training)."""
    from workbench.registry import SCENES

    return replace(config, **SCENES.load(scene).preference_options)


def mirror_note(config: PreferenceConfig) -> dict[str, str]:
    """What a stored reward's report says of the mirror it was told (nothing where none)."""
    if not config.mirror:
        return {}
    source = "the scene's" if config.scene_mirror else "given"
    return {"mirror": source + (", entries swapped" if config.mirror_order else "")}


def with_scene_mirror(config: PreferenceConfig, declared: Mirror | None,
                      where: str) -> PreferenceConfig:
    """``config`` with ``scene_mirror`` resolved into ``mirror`` and ``mirror_order``: what
    ``where`` (a scene and robot) declares; refused where it declares none, or where
    ``mirror`` says otherwise."""
    if not config.scene_mirror:
        return config
    if declared is None:
        raise ConfigError(f"scene_mirror: {where} declares no mirror symmetry; give mirror's "
                          "signs instead, or leave it off")
    given = (tuple(config.mirror), tuple(config.mirror_order))
    if any(given) and given != (declared.signs, declared.order):
        swapped = ", entries swapped" if declared.order else ""
        raise ConfigError(f"mirror and scene_mirror disagree ({where} declares its own: "
                          f"{len(declared)} signs{swapped}; scene_mirror alone uses it): "
                          "give one of them")
    return replace(config, mirror=declared.signs, mirror_order=declared.order)
