"""Progress bars in the terminal for an operation's progress events (tqdm, imported when the
first bar shows: ``workbench run`` on a robot computer needs none)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from workbench.operations import Progress


class TerminalProgress(Progress):
    """One bar per stage: training steps, fitting epochs, rendering, saved takes. A training
    bar shows the learned return, the scene's reference return and true success of the
    training episodes, and the hacking guard's last check of the mean action (``checked_``)."""

    def __init__(self, label: str = "done") -> None:
        self.label = label  # of a bar for a count of things done (takes, episodes)
        self.bars: dict[str, Any] = {}
        self.checked: dict[str, str] = {}  # the hacking guard's last check of the mean action

    def emit(self, kind: str, **data: Any) -> None:
        if kind == "message":
            print(data.get("text", ""), file=sys.stderr)
        if kind != "progress":
            return
        if "total_steps" in data:
            bar = self._bar("training", data["total_steps"], "step", data["step"])
            bar.update(data["step"] - bar.n)
            extras = data.get("extras", {})
            if "monitor/eval_success" in extras:  # it checks every so many updates
                self.checked = {"checked_success": f"{extras['monitor/eval_success']:.2f}",
                                "checked_reference": f"{extras['monitor/eval_return']:.1f}"}
            bar.set_postfix({"learned": f"{data['learned_return']:.1f}",  # in this order
                             "reference": f"{data.get('reference_return', 0.0):.1f}",
                             "success": f"{data['success_rate']:.2f}", **self.checked})
        elif "epochs" in data:
            bar = self._bar("fitting", data["epochs"], "epoch")
            bar.update(data["epoch"] - bar.n)
            bar.set_postfix(loss=f"{data['loss']:.4f}")
        elif "total" in data:
            bar = self._bar(data.get("stage", self.label), data["total"], "")
            bar.update(data["done"] - bar.n)

    def _bar(self, label: str, total: int, unit: str, initial: int = 0) -> Any:
        if label not in self.bars:
            from tqdm import tqdm

            # A bar first made mid-way (a resumed run, the first update's steps) starts there,
            # so its rate counts only what it saw.
            self.bars[label] = tqdm(total=total, desc=label, unit=unit or "it", initial=initial,
                                    leave=label in ("training", "fitting", self.label))
        return self.bars[label]

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for bar in self.bars.values():
            bar.close()
