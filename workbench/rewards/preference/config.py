from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PreferenceConfig:
    """How a preference reward is fitted. Each field's help is its CLI help and GUI tooltip."""

    members: int = field(default=3, metadata={"help": "ensemble size (disagreement picks queries)"})
    hidden: tuple[int, ...] = field(default=(64, 64), metadata={"help": "MLP hidden sizes"})
    inputs: tuple[str, ...] = field(
        default=(),
        metadata={"help": "named observation features the reward sees (empty: all); e.g. "
                  "hand_to_cube,cube_to_target makes it indifferent to where things stand"})
    epochs: int = field(default=200, metadata={"help": "passes over the labels"})
    lr: float = field(default=3e-3, metadata={"help": "Adam learning rate"})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay"})
    batch_size: int = field(default=64, metadata={"help": "queries per gradient step"})
    label_smoothing: float = field(
        default=0.05, metadata={"help": "pull targets towards 0.5: robustness to wrong labels"}
    )
    bootstrap: bool = field(
        default=True, metadata={"help": "each member sees a bootstrap resample of the labels"}
    )
    seed: int = field(default=0, metadata={"help": "seed of initialisation and batching"})
    device: str = field(default="auto", metadata={"help": "auto (CUDA if present), cpu, cuda"})
