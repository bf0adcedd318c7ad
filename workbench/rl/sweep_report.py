"""A sweep's results: its settings ranked by mean score over their seeds, the report a person
reads (``report.md``), the results the app and a continued sweep read (``results.json``) and
every trial's learning curve (``curves.svg``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from workbench import config as cfg
from workbench.rl.films import FINAL, film_of
from workbench.rl.run_config import RunConfig
from workbench.rl.sweep_state import SweepPlan, goes_on, state, trial_key


def rank(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settings by mean score over their seeds, best first."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for trial in trials:
        groups.setdefault(tuple(trial["assignments"]), []).append(trial)
    rows = []
    for assignments, group in groups.items():
        states = [state(t) for t in group]
        # A failed trial has no score, nor one that never started (or whose sweep was lost
        # before it reported): they are counted apart, not averaged in as zeros.
        scores = [t["score"] for t, s in zip(group, states, strict=True)
                  if s not in ("failed", "not started") and t["score"] is not None]
        ended = ("finished", "failed", "not started")
        rows.append({"settings": " ".join(assignments) or "(base)",
                     "mean_success": float(np.mean(scores)) if scores else None,
                     "std": float(np.std(scores)) if scores else None,
                     "seeds": len(group), "finished": states.count("finished"),
                     "stopped_early": sum(s not in ended for s in states),
                     "failed": states.count("failed"),
                     "not_started": states.count("not started"),
                     "runs": [t["run"] for t in group if t["run"]]})
    # Settings whose every trial failed (or none started) go last.
    return sorted(rows, key=lambda r: (r["mean_success"] is None, -(r["mean_success"] or 0.0),
                                       r["settings"]))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def going_on_command(scene: str, out: Path, workspace: Path | None) -> str:
    """The command that goes on with a sweep's trials from the runs they left."""
    where = f" --workspace {workspace}" if workspace is not None else ""
    return f"workbench sweep {scene} --resume {out}{where}"


def write_report(out: Path, base: RunConfig, ranking: list[dict[str, Any]],
                 trials: list[dict[str, Any]], workspace: Path | None = None,
                 running: dict[str, Any] | None = None) -> None:
    """``running``: the sweep's process (``running_here``), while its trials run: what the
    report says until the sweep rewrites it at its end, and how a sweep whose process was
    lost is told from one that still runs."""
    changed = cfg.differences(base, RunConfig(scene=base.scene))
    lines = [f"# Sweep on {base.scene}", ""]
    where = f" --workspace {workspace}" if workspace is not None else ""
    if running is not None and running.get("ended"):
        lines += [f"Ended on an error (process {running['pid']} on {running['host']}) before "
                  f"this report was rewritten: `{going_on_command(base.scene, out, workspace)}` "
                  "goes on with its trials from the runs they left.", ""]
    elif running is not None:
        lines += [f"Running (process {running['pid']} on {running['host']}): this report is "
                  "rewritten when the sweep ends.", ""]
    lines += [
             f"{base.ppo.total_steps} steps a trial; ASHA on the true success rate; score: "
             "the final policy's evaluation success (a trial stopped early: its last rate).",
             "", "Every trial starts from the run defaults"
             + (" with " + " ".join(f"`{a}`" for a in changed) if changed else "")
             + ", and its grid point and seed change them.",
             "", "| rank | settings | mean success | std | seeds | finished | stopped early "
             "| failed | not started |", "|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(ranking, start=1):
        lines.append(f"| {i} | `{row['settings']}` | {_score(row['mean_success'])} | "
                     f"{_score(row['std'])} | {row['seeds']} | {row['finished']} | "
                     f"{row['stopped_early']} | {row['failed']} | {row['not_started']} |")
    lines += ["", "![learning curves](curves.svg)", ""]
    failed = [t for t in trials if t["error"]]
    if failed:
        lines += ["## Failed trials", "", "(whole tracebacks: `trials/`, one file a trial; "
                  "a trial whose worker was lost: `error.txt` in its folder under `tune/`)",
                  ""]
        lines += [f"- `{' '.join(t['assignments'])}` seed {t['seed']}: {t['error']}"
                  for t in failed]
        lines.append("")
    later = [t for t in trials if goes_on(t)]
    if later and running is None:
        lines += ["## Going on with this sweep", "",
                  f"{len(later)} of {len(trials)} trials were stopped by hand or had not "
                  f"started: `{going_on_command(base.scene, out, workspace)}` goes on with "
                  "them, each run from its last checkpoint, ASHA from the scores its rungs "
                  "had (the Sweep box's Continue sweep).", ""]
    filmed = [(i, row, film) for i, row in enumerate(ranking, 1) for run in row["runs"]
              if (film := film_of(Path(run), FINAL)).is_file()]
    if filmed:
        lines += ["## Films", "", "The final policy of each trial that filmed it "
                  "(`film_every`), best settings first:", ""]
        lines += [f"- {i}. `{row['settings']}`: [{film.parent.parent.name}]"
                  f"({os.path.relpath(film, out)})" for i, row, film in filmed]
        lines.append("")
    stopped = [t for t in trials if t.get("stopped_run")]
    if stopped:
        lines += ["## Runs stopped early", "",
                  "Stopped by ASHA or by hand, each keeps its checkpoint (or, stopped before "
                  "its first update, starts over in its folder): continue one alone with "
                  f"`workbench train {base.scene} --resume RUN{where}` (the newest with a "
                  "checkpoint: the Train panel's Continue stopped run).", ""]
        lines += [f"- `{' '.join(t['assignments'])}` seed {t['seed']} ({state(t)}): "
                  f"{t['stopped_run']}" for t in stopped]
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    (out / "results.json").write_text(json.dumps(
        {"ranking": ranking, "trials": trials, "going_on": len(later), "running": running},
        indent=1))
    curves = {trial_key(t): t["curve"] for t in trials}
    (out / "curves.svg").write_text(curves_svg(curves))


def let_go(out: Path, workspace: Path) -> None:
    """Say in the sweep's results and report that this process no longer runs it: it ended
    on an error before it rewrote them (in the app, whose process lives on), so that it goes
    on as a sweep whose process was lost."""
    results = json.loads((out / "results.json").read_text())
    if results.get("running") is not None:
        write_report(out, SweepPlan.load(out).base, results["ranking"], results["trials"],
                     workspace, {**results["running"], "ended": True})


def curves_svg(curves: dict[str, list[tuple[float, float]]], width: int = 720,
               height: int = 360, x_label: str = "steps", y_label: str = "true success",
               y_range: tuple[float, float] | None = (0.0, 1.0)) -> str:
    """One polyline a curve (success against steps by default), as a standalone SVG;
    ``y_range=None`` fits the axis to the curves."""
    pad = 40
    steps = [s for curve in curves.values() for s, _ in curve] or [1]
    right = max(steps) or 1
    values = [v for curve in curves.values() for _, v in curve] or [0.0, 1.0]
    bottom, top = y_range or (min(values), max(values))
    span = (top - bottom) or 1.0

    def x(step: float) -> float:
        return pad + (width - 2 * pad) * step / right

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * (value - bottom) / span

    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{y(bottom)}" x2="{width - pad}" y2="{y(bottom)}" '
             'stroke="black"/>',
             f'<line x1="{pad}" y1="{y(bottom)}" x2="{pad}" y2="{y(top)}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">{x_label} (to '
             f'{right:g})</text>',
             f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" '
             f'text-anchor="middle">{y_label} ({bottom:g} to {top:g})</text>']
    for k, (label, curve) in enumerate(curves.items()):
        if curve:
            points = " ".join(f"{x(s):.1f},{y(r):.1f}" for s, r in curve)
            colour = colours[k % len(colours)]
            parts.append(f'<polyline fill="none" stroke="{colour}" points="{points}">'
                         f'<title>{label}</title></polyline>')
            if len(curves) <= len(colours):  # a legend, while each curve has its own colour
                parts.append(f'<text x="{pad + 8}" y="{pad + 14 * k}" fill="{colour}" '
                             f'font-size="11">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


