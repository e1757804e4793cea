"""The long-range experiment: which cell still learns when the dependency is ``lag`` steps long.

Each cell is trained on a toy task (:mod:`rnnkit.tasks.toy`) at each lag with the same fixed
budget (optimizer steps), through the task's own Python API (``toy.copy.train(config)``), one
run directory per (cell, lag) under ``out``. Success is measured on the task's fixed validation set:

    copy:    best val_accuracy over the S recall steps               chance 1/A (0.125)
    adding:  1 − best val_mse / baseline_val_mse                      0 = always predicting 1.0, 1 = exact

The notes' claim (002, 004): the vanilla RNN's gradient shrinks geometrically with the distance,
the gated cells carry it (c_t = f_t ⊙ c_{t−1} + …, h_t = z_t ⊙ h_{t−1} + …), so the vanilla RNN
should fall to chance as the lag grows while the LSTM and GRU hold on longer.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnkit.diagnostics.plotting import output_dir, pyplot, save_figure, write_csv
from rnnkit.errors import RnnkitError
from rnnkit.train.config import CELLS
from rnnkit.train.run import fresh_run_dir

TASK_NAMES = ("copy", "adding")


@dataclass
class LagResult:
    task: str
    cell: str
    lag: int
    metric: str          # best_val_accuracy or best_val_mse
    value: float
    success: float       # accuracy (copy) or 1 − mse/baseline (adding)
    baseline: float      # chance accuracy or the baseline mse
    steps: int
    time_s: float
    run: str


def success_of(task: str, summary: dict) -> tuple[str, float, float, float]:
    """(metric, value, success, baseline) of a finished run's summary."""
    if task == "copy":
        value = float(summary["best_val_accuracy"])
        return "best_val_accuracy", value, value, float(summary["chance_val_accuracy"])
    value, base = float(summary["best_val_mse"]), float(summary["baseline_val_mse"])
    return "best_val_mse", value, max(0.0, 1.0 - value / base), base


def check_options(task: str, lags, cells, steps: int, hidden: int) -> None:
    if task not in TASK_NAMES:
        raise RnnkitError(f"--task: expected one of {', '.join(TASK_NAMES)}; given {task!r}")
    if not lags or any(not isinstance(v, int) or v < (2 if task == "adding" else 1) for v in lags):
        raise RnnkitError(f"--lags: expected integers >= {2 if task == 'adding' else 1}; given {lags!r}")
    bad = [c for c in cells if c not in CELLS]
    if not cells or bad:
        raise RnnkitError(f"--cells: expected some of {', '.join(CELLS)}; given {cells!r}")
    for name, v in (("--steps", steps), ("--hidden", hidden)):
        if not isinstance(v, int) or v < 1:
            raise RnnkitError(f"{name}: expected a positive integer, given {v!r}")


def run_lag_experiment(task: str = "copy", lags=(5, 10, 20, 50, 100), cells=("rnn", "lstm", "gru"),
                       steps: int = 1000, hidden: int = 64, batch_size: int = 32, seed: int = 0,
                       out="runs/lag", progress: Callable[[str], None] | None = print) -> tuple[list[LagResult], Path]:
    """Train every (cell, lag) for ``steps`` steps; returns the results and the experiment directory
    (``out``, or ``out-2``, ... if it exists: never overwritten)."""
    from rnnkit.tasks import toy

    check_options(task, list(lags), list(cells), steps, hidden)
    base = fresh_run_dir(out)
    output_dir(base)
    t = toy.TASKS[task]
    jobs = [(c, lag) for lag in lags for c in cells]
    results = []
    for k, (cell, lag) in enumerate(jobs, 1):
        config = t.Config(cell=cell, lag=lag, max_steps=steps, hidden=hidden, batch_size=batch_size, seed=seed,
                          out=str(base / f"{cell}-lag{lag}"), quiet=True)
        if progress:
            progress(f"[{k}/{len(jobs)}] {task} {cell} lag {lag}: training {steps} steps ...")
        start = time.perf_counter()
        summary = t.train(config)
        metric, value, ok, baseline = success_of(task, summary)
        results.append(LagResult(task, cell, lag, metric, value, ok, baseline, int(summary["steps"]),
                                 round(time.perf_counter() - start, 2), config.out))
        if progress:
            progress(f"[{k}/{len(jobs)}] {task} {cell} lag {lag}: {metric} {value:.4f}, success {ok:.3f} "
                     f"({results[-1].time_s:.1f} s)")
    return results, base


def success_table(results: list[LagResult]) -> tuple[list[int], list[str], np.ndarray]:
    """(lags, cells, success (len(lags), len(cells))) with NaN where a pair was not run."""
    lags = sorted({r.lag for r in results})
    cells = list(dict.fromkeys(r.cell for r in results))
    table = np.full((len(lags), len(cells)), np.nan)
    for r in results:
        table[lags.index(r.lag), cells.index(r.cell)] = r.success
    return lags, cells, table


def format_results(results: list[LagResult]) -> str:
    lags, cells, table = success_table(results)
    what = "best validation accuracy" if results[0].task == "copy" else "1 − val_mse / baseline"
    lines = [f"success ({what}) by lag", f"{'lag':>6}" + "".join(f"{c:>10}" for c in cells)]
    lines += [f"{lag:6d}" + "".join(f"{v:10.3f}" for v in row) for lag, row in zip(lags, table)]
    if results[0].task == "copy":
        lines.append(f"chance: {results[0].baseline:.3f}")
    return "\n".join(lines)


def write_results(results: list[LagResult], out) -> tuple[list[Path], bool]:
    """lag_results.csv (one row per run), lag_success.csv (lag, one column per cell) and lag.png."""
    out = output_dir(out)
    fields = list(asdict(results[0]))
    lags, cells, table = success_table(results)
    files = [write_csv(out / "lag_results.csv", fields, ([getattr(r, f) for f in fields] for r in results)),
             write_csv(out / "lag_success.csv", ["lag"] + cells,
                       ([lag] + [float(v) for v in row] for lag, row in zip(lags, table)))]
    png = plot_results(results, out / "lag.png")
    return files + ([png] if png else []), png is not None


def plot_results(results: list[LagResult], path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    lags, cells, table = success_table(results)
    r0 = results[0]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for j, cell in enumerate(cells):
        ax.plot(lags, table[:, j], marker="o", label=cell)
    if r0.task == "copy":
        ax.axhline(r0.baseline, color="gray", ls="--", lw=1, label=f"chance {r0.baseline:.3f}")
        ax.set_ylabel("best validation accuracy (recall steps)")
    else:
        ax.axhline(0.0, color="gray", ls="--", lw=1, label="baseline (predict 1.0)")
        ax.set_ylabel("1 − val_mse / baseline_mse")
    ax.set_xscale("log")
    ax.set_xticks(lags)
    ax.set_xticklabels([str(v) for v in lags])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("lag (steps between the information and its use)")
    ax.set_title(f"{r0.task}: success vs lag, {r0.steps} steps per run", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
