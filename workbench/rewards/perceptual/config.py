from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import DEVICE, validated
from workbench.rewards.device import PRECISIONS


@dataclass(frozen=True)
@validated
class PerceptualConfig:
    """How a perceptual progress reward is fitted. Each field's help is its CLI/GUI help."""

    cameras: tuple[str, ...] = field(default=("front", "top"),
                                     metadata={"help": "views fused by the model, in order"})
    image_size: int = field(default=64, metadata={
        "help": "frames are resized to this square", "min": 8, "max": 1024})
    channels: int = field(default=32, metadata={
        "help": "convolution channels per layer", "min": 1, "max": 1024})
    feature_dim: int = field(default=64, metadata={
        "help": "features per view before fusion", "min": 1, "max": 65_536})
    hidden: int = field(default=128, metadata={
        "help": "width of the fusion MLP", "min": 1, "max": 65_536})
    keypoints: bool = field(default=False, metadata={
        "help": "spatial-softmax keypoints (where things are) instead of flattened feature "
                "maps: generalises from fewer demos to unseen layouts"})
    reference_frame: bool = field(default=False, metadata={
        "help": "also see how each view changed since the episode's first frame: progress as "
                "how far the scene has moved from where it started, which carries over to "
                "layouts a single demo never showed"})
    success_head: bool = field(default=False, metadata={
        "help": "a second head that tells succeeded frames (the demos' after success) from the "
                "negatives' (failed rollouts), averaged with the time head; the time head then "
                "learns from demos only, so negatives stop costing progress correlation"})
    hindsight: int = field(default=0, metadata={
        "help": "per demo and failed take, this many of its frames rendered again with the "
                "goal moved onto or away from the hand or object, as success-head examples "
                "(goal-conditioned scenes that can move their goal; needs success_head)", "min": 0})
    pretrain: int = field(default=0, metadata={
        "help": "first render this many random states of the scene (Task.scatter) and teach "
                "the encoder to read the state from them (labels from the simulator, no "
                "demos); progress then sees only distances between things, and one demo "
                "carries over to new layouts (0: learn from the demos' frames alone)", "min": 0})
    pretrain_steps: int = field(default=3000, metadata={
        "help": "gradient steps of that pretraining", "min": 0})
    heights: bool = field(default=True, metadata={
        "help": "with pretrain: progress also sees the height gap of each vector between "
                "things, not only its length (a lift shows in it)"})
    epochs: int = field(default=120, metadata={
        "help": "passes over the training frames", "min": 1, "max": 1_000_000})
    min_steps: int = field(default=0, metadata={
        "help": "at least this many gradient steps, with more passes when the frames are few "
                "(one demo is 1-3 minibatches a pass)", "min": 0})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate", "gt": 0.0, "max": 1.0})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay", "min": 0.0})
    batch_size: int = field(default=64, metadata={"help": "frames per gradient step", "min": 1})
    bins: int = field(default=20, metadata={
        "help": "step-wise discretisation of time", "min": 0, "max": 100_000})
    hold_after_success: bool = field(default=True,
                                     metadata={"help": "label frames after success as 1"})
    negative_weight: float = field(default=0.5,
                                   metadata={
                                       "help": "loss weight of failed-rollout frames", "min": 0.0})
    negative_tail: float = field(default=0.5, metadata={
        "help": "end fraction of failed rollouts used (with a success head: all of them)",
        "min": 0.0, "max": 1.0})
    shift: int = field(default=4, metadata={
        "help": "random-shift augmentation, pixels", "min": 0, "max": 64})
    colour_jitter: float = field(default=0.3, metadata={
        "help": "per-channel gain jitter: object colours vary between episodes, and one demo "
                "shows only one of them", "min": 0.0, "max": 1.0})
    mirror: bool = field(default=False, metadata={
        "help": "random left-right flips of every view: for scenes whose layouts come in "
                "mirror images (objects left or right of the arm), so one demo covers both"})
    seed: int = field(default=0, metadata={
        "help": "seed of initialisation and batching", "min": 0, "max": 2**63 - 1})
    device: str = field(default="auto", metadata={
        "help": "auto (CUDA if present), cpu, cuda", **DEVICE})
    precision: str = field(default="auto", metadata={
        "help": "what the frame encoder's convolutions compute in: auto (bfloat16 on a CUDA "
                "device that has it, float32 elsewhere), float32, bfloat16 (autocast; weights, "
                "heads and losses stay float32)", "choices": PRECISIONS})
