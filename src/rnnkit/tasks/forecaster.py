"""The forecaster of the forecast task: a many-to-one model that reads a window and gives the next values.

Legend: B windows (batch), W window length (time steps), D input columns (the target, then the
features), h horizon, N series length.

The target y_t is first put on a scale where its changes look alike over the whole series:

    z_t = log y_t                     (``log``: a series whose swings grow with its level)
    u_t = z_t − z_{t−1}               (``difference``: the model predicts changes, not levels)
    x_t = ([u_t, f_t] − μ) / σ        (D,)  μ, σ from the training part only; f_t the feature columns

A window of W steps ending at the origin o goes through the recurrent stack; a linear layer on
its final state gives the h next (scaled) changes at once (direct multi-step):

    s = RNN(x_{o−W+1} … x_o)          (B, H)   the final state
    û = s W_yᵀ + b_y                  (B, h)   û_k ≈ (u_{o+k} − μ_0) / σ_0,  trained with MSE

and the forecasts are z_{o+k} = z_o + Σ_{j≤k} (σ_0 û_j + μ_0), y_{o+k} = exp z_{o+k} (without
``log``: z = y; without ``difference``: z_{o+k} = σ_0 û_k + μ_0). Predicting differences of logs
makes a 144-point series with a trend (the airline passengers) look stationary to the model, the
way ARIMA practice does it. Past the horizon, :meth:`Forecaster.extend` feeds its forecasts back
as inputs (only without features, whose future is unknown).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from rnnkit.errors import DataError
from rnnkit.tasks.models import ManyToOne


def levels(spec: dict, y: np.ndarray, source: str = "the target") -> np.ndarray:
    """z (N,): log y if ``spec["log"]`` (DataError naming the row of a value <= 0), else y."""
    if not spec["log"]:
        return y
    bad = np.flatnonzero(y <= 0)
    if bad.size:
        raise DataError(f"{source}: value {y[bad[0]]:g} at row {bad[0] + 1} of the series; the model "
                        f"forecasts log values and needs positive ones (train with --transform none)")
    return np.log(y)


def changes(spec: dict, values: np.ndarray, source: str = "the series") -> np.ndarray:
    """The unscaled inputs [u_t, f_t] (N, D) of (N, D) values: u_t = z_t − z_{t−1} (row 0 NaN) or z_t."""
    z = levels(spec, values[:, 0], source)
    u = np.concatenate([[np.nan], np.diff(z)]) if spec["difference"] else z
    return np.column_stack([u, values[:, 1:]])


class Forecaster(ManyToOne):
    """ManyToOne from (B, W, D) windows to (B, h) scaled changes, with the transform that defines them.

    ``spec`` holds ``log`` (bool), ``difference`` (bool), ``window`` (W), ``mean`` and ``std`` (D,)
    and ``columns`` (target first); ``forecast(values, origins)`` gives forecasts in the data's units.
    """

    def __init__(self, rnn, horizon: int, spec: dict, dropout: float = 0.0, seed: int = 0):
        super().__init__(rnn, horizon, dropout=dropout, seed=seed)
        self.horizon, self.spec = int(horizon), spec
        self.window = int(spec["window"])

    # -- the transform ---------------------------------------------------------------------------------
    def levels(self, y: np.ndarray, source: str = "the target") -> np.ndarray:
        """z (N,): log y or y (DataError if ``log`` and some y <= 0)."""
        return levels(self.spec, y, source)

    def changes(self, values: np.ndarray, source: str = "the series") -> np.ndarray:
        """The unscaled inputs [u_t, f_t] (N, D); row 0 is NaN when differencing."""
        return changes(self.spec, values, source)

    def inputs(self, values: np.ndarray, source: str = "the series") -> np.ndarray:
        """Scaled inputs x_t (N, D) of a (N, D) block of values (target first)."""
        return (self.changes(values, source) - np.array(self.spec["mean"])) / np.array(self.spec["std"])

    @property
    def first_origin(self) -> int:
        """The earliest origin o with a full window of inputs (a difference needs a previous row)."""
        return self.window - 1 + int(self.spec["difference"])

    def windows(self, x: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(B, W, D) windows of ``x`` ending at each origin (inclusive), in the model's dtype."""
        idx = np.asarray(origins)[:, None] + np.arange(1 - self.window, 1)        # (B, W)
        return x[idx].astype(self.dtype)

    def targets(self, x: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(B, h) scaled changes after each origin: what the head is trained to give."""
        return x[np.asarray(origins)[:, None] + np.arange(1, self.horizon + 1), 0].astype(self.dtype)

    # -- forecasting -----------------------------------------------------------------------------------
    def unscale(self, out: np.ndarray, values: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Head outputs (B, h) -> forecasts of y_{o+1} … y_{o+h} (B, h) float64."""
        u = np.asarray(out, dtype=np.float64) * self.spec["std"][0] + self.spec["mean"][0]
        if self.spec["difference"]:
            z0 = self.levels(values[np.asarray(origins), 0])
            u = z0[:, None] + np.cumsum(u, axis=1)
        return np.exp(u) if self.spec["log"] else u

    def forecast(self, values: np.ndarray, origins, source: str = "the series", batch: int = 512) -> np.ndarray:
        """Forecasts (B, h) of the h values after each origin, from the (N, D) ``values`` up to it."""
        origins = np.asarray(origins, dtype=np.int64)
        x = self.inputs(np.asarray(values, dtype=np.float64), source)
        out = np.concatenate([self.forward(self.windows(x, origins[i:i + batch]))
                              for i in range(0, len(origins), batch)]) if len(origins) else np.zeros((0, self.horizon))
        return self.unscale(out, values, origins)

    def extend(self, values: np.ndarray, steps: int) -> np.ndarray:
        """The ``steps`` values after the end of ``values`` (N, D): h at a time, fed back as inputs."""
        return np.array(list(self.iter_extend(values, steps)))

    def iter_extend(self, values: np.ndarray, steps: int) -> Iterator[float]:
        """:meth:`extend` one value at a time (checked first, so a bad call fails before the first value).

        A forecast that leaves float64's range (a long extension of a fast-growing series) stops the
        iteration with a DataError naming the step, after the finite values before it."""
        values = np.asarray(values, dtype=np.float64)
        if len(values) <= self.first_origin:
            raise DataError(f"the series has {len(values)} rows; the model reads windows of {self.window} "
                            f"(+{int(self.spec['difference'])} for the difference): give more rows")
        if values.shape[1] > 1 and steps > self.horizon:
            raise DataError(f"--steps {steps}: the model also reads feature columns, whose future is unknown, "
                            f"so it forecasts at most its horizon ({self.horizon}) steps")
        return self._extended(values, steps)

    def _extended(self, values: np.ndarray, steps: int) -> Iterator[float]:
        done = 0
        while done < steps:
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    more = self.forecast(values, [len(values) - 1])[0]                  # (h,)
                except ValueError as exc:  # a layer's finiteness check: the inputs overflowed
                    more = np.full(self.horizon, np.inf) if "finite" in str(exc) else None
                    if more is None:
                        raise
            for v in more[:steps - done]:
                if not np.isfinite(v):
                    raise DataError(f"--steps {steps}: the forecast leaves the range of float64 numbers at step "
                                    f"{done + 1} (the series grows too fast to extend this far); "
                                    f"the {done} steps before it are valid")
                done += 1
                yield float(v)
            values = np.vstack([values, np.column_stack([more, np.zeros((len(more), values.shape[1] - 1))])])
