from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import DEVICE, validated


@dataclass(frozen=True)
@validated
class StagedConfig:
    """How a stage-aware progress reward is fitted. Each field's help is its CLI/GUI help."""

    stages: tuple[str, ...] = field(default=(), metadata={
        "help": "stage names, in order (empty: the scene's; discovered when it names none)"})
    discover: int = field(default=0, metadata={
        "help": "discover this many steps from the demos instead of using named stages "
                "(0: use the scene's stage names when it has them)", "min": 0, "max": 64})
    hidden: tuple[int, ...] = field(default=(128, 128), metadata={
        "help": "MLP hidden sizes", "min": 1, "max": 65_536})
    inputs: tuple[str, ...] = field(default=(), metadata={
        "help": "named observation features the reward sees (empty: all)"})
    epochs: int = field(default=200, metadata={
        "help": "passes over the training frames", "min": 1, "max": 1_000_000})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate", "gt": 0.0, "max": 1.0})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay", "min": 0.0})
    batch_size: int = field(default=256, metadata={"help": "frames per gradient step", "min": 1})
    negative_weight: float = field(default=0.5, metadata={
        "help": "loss weight of failed rollouts' frames (their progress: the stages they did)",
        "min": 0.0})
    gate: bool = field(default=True, metadata={
        "help": "cap progress at the start of the stage after the ones the discriminators "
                "see done: progress cannot run ahead of the stages"})
    seed: int = field(default=0, metadata={
        "help": "seed of initialisation and batching", "min": 0, "max": 2**63 - 1})
    device: str = field(default="auto", metadata={
        "help": "auto (CUDA if present), cpu, cuda", **DEVICE})
