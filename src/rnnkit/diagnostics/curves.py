"""Training curves of one or more runs: loss, validation metric, gradient norm, learning rate.

Sources, in a run directory (see :mod:`rnnkit.train.run`):

* ``steps.jsonl``, one object per optimizer step (when the trainer wrote it):
  ``{"step", "time" (s), "loss", "grad_norm" (before clipping), "clipped", "lr"}``;
* ``metrics.jsonl``, one object per evaluation: step, epoch, time, train_loss (mean since the last
  evaluation), lr, max_grad_norm, clipped_steps, and the validation metrics ``val_*``.

Without steps.jsonl the training rows come from metrics.jsonl (one per evaluation: the mean
loss, the largest gradient norm of the window, ``clipped`` = some step of the window was).
Written: ``curves_train.csv`` (run, step, time, loss, grad_norm, clipped, lr, source),
``curves_val.csv`` (run, step, time, train_loss and every val_* metric) and ``curves.png``:

    loss vs step        validation metric vs step     ‖g‖ before clipping vs step (× clipped, -- the clip)
    loss vs time        validation metric vs time     learning rate vs step
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.diagnostics.plotting import output_dir, pyplot, save_figure, write_csv
from rnnkit.errors import RunError
from rnnkit.train.run import Run

TRAIN_COLUMNS = ["run", "step", "time", "loss", "grad_norm", "clipped", "lr", "source"]
PREFERRED_METRICS = ("val_loss", "val_accuracy", "val_mse")


def read_records(path: Path) -> list[dict]:
    """The JSON objects of a .jsonl file, complete lines only: a last line without its newline is
    still being written (``rnnkit train`` is running) and is left for the next read; lines that
    do not parse (a crash mid-write) are skipped."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    return parse_records(data[:data.rfind(b"\n") + 1])


def parse_records(lines: bytes) -> list[dict]:
    """The objects with a "step" of whole .jsonl lines; lines that do not parse are skipped."""
    records = []
    for line in lines.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "step" in obj:
            records.append(obj)
    return records


def _float(value, default=float("nan")) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def step_row(r: dict) -> list:
    """[step, time, loss, grad_norm, clipped, lr, source] of a steps.jsonl record."""
    return [int(r["step"]), _float(r.get("time")), _float(r.get("loss")), _float(r.get("grad_norm")),
            bool(r.get("clipped", False)), _float(r.get("lr")), "steps.jsonl"]


def eval_row(r: dict) -> list:
    """The same row of a metrics.jsonl record: the window's mean loss, largest norm, whether some step clipped."""
    return [int(r["step"]), _float(r.get("time")), _float(r.get("train_loss")), _float(r.get("max_grad_norm")),
            _float(r.get("clipped_steps"), 0.0) > 0, _float(r.get("lr")), "metrics.jsonl"]


def train_rows(run: Run) -> list[list]:
    """[step, time, loss, grad_norm, clipped, lr, source] per optimizer step, or per evaluation."""
    steps = read_records(run.file("steps.jsonl"))
    if steps:
        return [step_row(r) for r in steps]
    return [eval_row(r) for r in read_records(run.file("metrics.jsonl"))]


def val_metrics(records: list[dict]) -> list[str]:
    """The val_* keys of the evaluation records, in first-seen order."""
    keys: list[str] = []
    for r in records:
        keys += [k for k in r if k.startswith("val_") and k not in keys]
    return keys


def run_config(run: Run) -> dict:
    """config.json of a run as a dict ({} when it is missing or unreadable: curves need not have it)."""
    try:
        info = json.loads(run.file("config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


def primary_metric(run: Run, keys: list[str]) -> str | None:
    """The metric the run's task selects the best weights by, else a usual one, else the first."""
    from rnnkit.tasks import TASKS

    metric = getattr(TASKS.get(run_config(run).get("task")), "metric", None)
    for k in ([metric] if metric else []) + list(PREFERRED_METRICS) + keys:
        if k in keys:
            return k
    return None


def _clip(run: Run) -> float | None:
    """The run's --clip (None when off or unknown)."""
    config = run_config(run).get("config")
    clip = config.get("clip") if isinstance(config, dict) else None
    return float(clip) if isinstance(clip, (int, float)) and clip > 0 else None


class Curves:
    """The curves of one run, read once."""

    def __init__(self, path):
        self.run = Run(path)
        if not self.run.path.is_dir():
            raise RunError(f"RUN: {str(path)!r} is not a directory")
        self.name = self.run.path.name
        self.train = train_rows(self.run)
        self.evals = read_records(self.run.file("metrics.jsonl"))
        self.metrics = val_metrics(self.evals)
        self.metric = primary_metric(self.run, self.metrics)
        self.clip = _clip(self.run)
        if not self.train and not self.evals:
            raise RunError(f"RUN: {str(path)!r} has neither steps.jsonl nor metrics.jsonl (nothing trained yet?)")

    def column(self, i: int) -> np.ndarray:
        return np.array([r[i] for r in self.train], dtype=float)


def write_csvs(curves: list[Curves], out: Path) -> list[Path]:
    metrics = []
    for c in curves:
        metrics += [k for k in c.metrics if k not in metrics]
    train = write_csv(out / "curves_train.csv", TRAIN_COLUMNS, ([c.name] + r for c in curves for r in c.train))
    val = write_csv(out / "curves_val.csv", ["run", "step", "time", "train_loss"] + metrics,
                    ([c.name, r.get("step"), _float(r.get("time")), _float(r.get("train_loss"))]
                     + [_float(r.get(k)) for k in metrics] for c in curves for r in c.evals))
    return [train, val]


def running_mean(y: np.ndarray, width: int | None = None) -> np.ndarray:
    """A centred running mean over ``width`` points (default ~2% of them) of the values that exist.

    Near the ends the window holds fewer points instead of zeros, and NaNs are left out, so each
    point is a mean of the run's own values and lies between their minimum and maximum."""
    y = np.asarray(y, dtype=np.float64)
    w = width or max(1, len(y) // 50)
    if w == 1:
        return y
    ok = np.isfinite(y)
    total = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(len(y))
    lo, hi = np.clip(i - w // 2, 0, len(y)), np.clip(i - w // 2 + w, 0, len(y))
    n = count[hi] - count[lo]
    return np.where(n > 0, (total[hi] - total[lo]) / np.maximum(n, 1), np.nan)


def plot_curves(curves: list[Curves], path) -> Path | None:
    """The six panels (see the module docstring), one colour per run."""
    plt = pyplot()
    if plt is None or not any(c.train or c.evals for c in curves):
        return None
    fig, ax = plt.subplots(2, 3, figsize=(15, 7.5))
    for k, c in enumerate(curves):
        color = f"C{k % 10}"
        step, time_, loss, norm, lr = (c.column(i) for i in (0, 1, 2, 3, 5))
        clipped = np.array([r[4] for r in c.train], dtype=bool)
        per_step = bool(c.train) and c.train[0][-1] == "steps.jsonl"
        for a, x in ((ax[0, 0], step), (ax[1, 0], time_)):
            if per_step and len(loss) > 50:
                a.plot(x, loss, color=color, alpha=0.25, lw=0.7)
                a.plot(x, running_mean(loss), color=color, lw=1.5, label=c.name)
            else:
                a.plot(x, loss, color=color, lw=1.5, marker="." if len(loss) < 50 else None, label=c.name)
        if c.metric:
            vs = np.array([_float(r.get("step")) for r in c.evals])
            vt = np.array([_float(r.get("time")) for r in c.evals])
            vm = np.array([_float(r.get(c.metric)) for r in c.evals])
            ax[0, 1].plot(vs, vm, color=color, marker=".", label=f"{c.name}: {c.metric}")
            ax[1, 1].plot(vt, vm, color=color, marker=".", label=f"{c.name}: {c.metric}")
        ax[0, 2].semilogy(step, np.where(norm > 0, norm, np.nan), color=color, lw=0.8, label=c.name)
        if clipped.any():
            ax[0, 2].semilogy(step[clipped], norm[clipped], "x", color=color, ms=4,
                              label=f"{c.name}: clipped ({int(clipped.sum())})")
        if c.clip:
            ax[0, 2].axhline(c.clip, color=color, ls="--", lw=0.8)
        ax[1, 2].plot(step, lr, color=color, label=c.name)
    titles = [["training loss vs step", "validation metric vs step", "gradient norm before clipping"],
              ["training loss vs wall-clock time", "validation metric vs wall-clock time", "learning rate"]]
    xlabels = [["step", "step", "step"], ["time (s)", "time (s)", "step"]]
    for i in range(2):
        for j in range(3):
            ax[i, j].set_title(titles[i][j], fontsize=10)
            ax[i, j].set_xlabel(xlabels[i][j])
            ax[i, j].grid(True, alpha=0.3)
            if ax[i, j].get_legend_handles_labels()[0]:
                ax[i, j].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80, crop=False)  # rendered once: every `rnnkit train` draws it


def write_plots(runs, out) -> tuple[list[Path], bool]:
    """curves_train.csv, curves_val.csv and curves.png of one or more runs in ``out``;
    returns (the files written, whether the plot was made)."""
    curves = [Curves(r) for r in runs]
    out = output_dir(out)
    files = write_csvs(curves, out)
    png = plot_curves(curves, out / "curves.png")
    return files + ([png] if png else []), png is not None


def write_curves(run_dir) -> list[Path]:
    """The curves of one run, written into the run directory: the CSV files always, curves.png
    when matplotlib is installed (never an error without it). Returns the files written."""
    files, _ = write_plots([run_dir], run_dir)
    return files


def format_curves(runs) -> str:
    """One line per run: steps, time, last training loss, best validation metric."""
    lines = []
    for r in runs:
        c = Curves(r)
        last = c.train[-1] if c.train else None
        best = ""
        if c.metric:
            values = [_float(e.get(c.metric)) for e in c.evals]
            pick = min if "loss" in c.metric or "mse" in c.metric else max
            best = f", best {c.metric} {pick(values):.4g}"
        source = last[-1] if last else "metrics.jsonl"
        clipped = sum(1 for row in c.train if row[4])
        lines.append(f"{c.name}: {last[0] if last else 0} steps in {last[1] if last else 0:.1f} s, last training "
                     f"loss {last[2] if last else float('nan'):.4g}{best}; {clipped} clipped "
                     f"{'steps' if source == 'steps.jsonl' else 'evaluation windows'} (from {source})")
    return "\n".join(lines)
