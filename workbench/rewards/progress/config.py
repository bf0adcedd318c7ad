from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import DEVICE, validated


@dataclass(frozen=True)
@validated
class ProgressConfig:
    """How a progress reward is fitted. Each field's help is its CLI help and GUI tooltip."""

    hidden: tuple[int, ...] = field(default=(128, 128), metadata={
        "help": "MLP hidden sizes", "min": 1, "max": 65_536})
    inputs: tuple[str, ...] = field(
        default=(),
        metadata={"help": "named observation features the reward sees (empty: all); e.g. "
                  "hand_to_cube,cube_to_target makes it indifferent to where things stand"})
    epochs: int = field(default=200, metadata={
        "help": "passes over the training frames", "min": 1, "max": 1_000_000})
    lr: float = field(default=2e-3, metadata={"help": "Adam learning rate", "gt": 0.0, "max": 1.0})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay", "min": 0.0})
    batch_size: int = field(default=256, metadata={"help": "frames per gradient step", "min": 1})
    bins: int = field(
        default=20,
        metadata={
            "help": "step-wise discretisation of normalised time (0 = continuous)",
            "min": 0, "max": 100_000},
    )
    negative_weight: float = field(
        default=0.5,
        metadata={
            "help": "loss weight of frames from failed rollouts, labelled 0 progress", "min": 0.0},
    )
    negative_tail: float = field(
        default=0.5,
        metadata={"help": "fraction at the end of each failed rollout used as negatives "
                  "(its start may look like a demo; its end shows the failure)",
                  "min": 0.0, "max": 1.0},
    )
    hold_after_success: bool = field(
        default=True,
        metadata={"help": "label frames after a demo's first success as progress 1"},
    )
    kernel: float = field(
        default=0.0,
        metadata={"help": "0: an MLP fits the targets; > 0: progress is the targets of the "
                  "fitted states near the state, weighted by a gaussian of this width (in "
                  "standard deviations of the inputs), and 0 away from all of them: precise "
                  "near the goal and nothing to exploit where the demos never went",
                  "min": 0.0, "max": 100.0},
    )
    seed: int = field(default=0, metadata={
        "help": "seed of initialisation and batching", "min": 0, "max": 2**63 - 1})
    device: str = field(default="auto", metadata={
        "help": "auto (CUDA if present), cpu, cuda", **DEVICE})
