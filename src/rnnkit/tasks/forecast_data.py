"""forecast's data: the series read from its CSV file, its chronological split, and the transform and scaler
fitted to the training rows.

Rows [0, train_end) train, [train_end, test_start) validate (the last ``--val-fraction`` before the test
window), [test_start, n) are the test window (the last ``--test-size`` rows: a count, or a fraction when
< 1). The scaler (μ, σ) of the inputs, u_t = (log) y_t − y_{t−1} with ``--difference``, comes from the
training rows only; ``--transform auto`` takes logs when every target value is positive. The config is
the task's :class:`rnnkit.tasks.forecast.Config`.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from rnnkit.data.series import Series, read_series
from rnnkit.errors import DataError, RnnkitError
from rnnkit.tasks.base import fit_scaler
from rnnkit.tasks.forecaster import changes

BUNDLED = "airline-passengers.csv"
AUTO_SEASON = {("month", 1.0): 12, ("date", 1.0): 7, ("datetime", 3600.0): 24}


def bundled_path() -> str:
    """The airline passengers series shipped with rnnkit (Box & Jenkins 1976, series G)."""
    return str(resources.files("rnnkit.datasets") / "timeseries" / BUNDLED)


def resolve_path(path: str | None) -> str:
    """``path``, or the bundled file when ``path`` is None or its bare name and no such file exists."""
    if path is None or (not Path(path).exists() and Path(path).name == path == BUNDLED):
        return bundled_path()
    return path


def read_data(path: str | None, config, columns: list[str] | None = None) -> Series:
    """The target (first) and feature columns of the CSV ``path`` (the bundled series when None)."""
    if columns is None:
        columns = [config.target] + list(config.features) if config.target is not None else None
        if columns is None and config.features:
            raise RnnkitError("--features: name the --target column too")
    series = read_series(resolve_path(path), columns, config.time_col, config.allow_gaps)
    if columns is None and len(series.columns) > 1:
        series = Series(series.times, series.values[:, :1], series.columns[:1], series.clock, series.source)
    return series


def n_test_rows(n: int, test_size: float) -> int:
    """The rows of the test window: ``test_size`` rows, or that fraction of ``n``."""
    return int(test_size) if test_size >= 1 else int(round(n * test_size))


def split_points(n: int, config, first_origin: int, source: str) -> tuple[int, int]:
    """(train_end, test_start): rows [0, train_end) train, [train_end, test_start) validate, the rest test."""
    if config.window + config.horizon + int(config.difference) > n:
        raise DataError(f"--window {config.window}: {source} has {n} rows; a window of {config.window} "
                        f"(+{int(config.difference)} for the difference) and --horizon {config.horizon} need "
                        f"at least {config.window + config.horizon + int(config.difference)}")
    test_start = n - n_test_rows(n, config.test_size)
    if not 0 < test_start < n:
        raise DataError(f"--test-size {config.test_size:g}: {source} has {n} rows: {n - test_start} for the test "
                        f"window and {test_start} before it; expected at least one of each")
    train_end = test_start - int(test_start * config.val_fraction)
    spare = train_end - config.horizon - first_origin
    if test_start >= n or train_end >= test_start or spare < 1:
        raise DataError(f"{source}: {n} rows split into {train_end} for training, {test_start - train_end} for "
                        f"validation and {n - test_start} for testing leave {max(spare, 0)} training windows of "
                        f"--window {config.window} and --horizon {config.horizon}; use a smaller --window, "
                        f"--test-size or --val-fraction, or more data")
    return train_end, test_start


def choose_log(config, y: np.ndarray, series: Series) -> bool:
    if config.transform == "none":
        return False
    positive = bool(np.all(y > 0))
    if config.transform == "log" and not positive:
        i = int(np.flatnonzero(y <= 0)[0])
        raise DataError(f"--transform log: {series.source}: {series.columns[0]!r} is {y[i]:g} at time "
                        f"{series.times[i]}; log needs positive values (use --transform none)")
    return positive


def fit_spec(config, series: Series, train_end: int) -> dict:
    """The transform and the scaler (μ, σ) of the inputs, from the training rows only."""
    log = choose_log(config, series.values[:, 0], series)
    spec = {"log": log, "difference": config.difference, "window": config.window, "columns": series.columns,
            "mean": [0.0] * len(series.columns), "std": [1.0] * len(series.columns)}
    u = changes(spec, series.values[:train_end], series.source)
    spec |= fit_scaler(u[int(config.difference):])
    monthly = series.clock.kind == "month" or series.clock.same_day is not None
    key = ("month" if monthly else series.clock.kind, series.clock.step)
    spec["season"] = config.season or AUTO_SEASON.get(key)
    return spec
