"""The progress bar of a training run and its closing summary table.

The bar (tqdm, on stderr) shows the step, the running training loss, the
latest validation metric, the throughput and the time left (for a
``--time-limit`` budget, the bar ends at the step the time will run out at,
estimated from the pace so far). ``--quiet`` turns both off.
"""
from __future__ import annotations

import sys
import textwrap


class Progress:
    """A tqdm bar over training steps, with loss, metric and throughput in its postfix."""

    def __init__(self, total: int | None, initial: int, unit: str, disable: bool = False,
                 time_limit: float | None = None):
        from tqdm.auto import tqdm

        self.unit, self.metric, self.loss = unit, "", None
        self.total, self.time_limit, self.initial = total, time_limit, initial
        self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                        disable=disable, file=sys.stderr, smoothing=0.1)

    def set_metric(self, name: str, value: float) -> None:
        self.metric = f"{name}={value:.4g}"

    def update(self, step: int, loss: float, rate: float, elapsed: float) -> None:
        """Advance to ``step``; with a time budget, the bar's end is the step the time will run out at."""
        if self.time_limit and step > self.initial:
            per_step = elapsed / step
            by_time = step + int(max(self.time_limit - elapsed, 0) / per_step)
            self.bar.total = min(by_time, self.total) if self.total else by_time
        self.loss = loss if self.loss is None else 0.9 * self.loss + 0.1 * loss
        parts = [f"loss={self.loss:.4f}"] + ([self.metric] if self.metric else [])
        parts.append(f"{rate:,.0f} {self.unit}/s")
        self.bar.set_postfix_str(" ".join(parts), refresh=False)
        self.bar.update(step - self.bar.n)

    def write(self, message: str) -> None:
        self.bar.write(message, file=sys.stderr)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def summary_table(summary: dict) -> str:
    """A two-column text table of the scalar entries of ``summary``; its ``stop_reason`` follows the table."""
    rows = [(k.replace("_", " "), _format(v)) for k, v in summary.items()
            if not isinstance(v, dict) and k != "stop_reason"]
    width = max(len(k) for k, _ in rows)
    line = "-" * (width + 3 + max(len(v) for _, v in rows))
    reason = [textwrap.fill(summary["stop_reason"], 100)] if summary.get("stop_reason") else []
    return "\n".join([line] + [f"{k:<{width}}   {v}" for k, v in rows] + [line] + reason)
