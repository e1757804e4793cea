"""forecast: time series, many-to-one: a window of past values in, the next --horizon values out.

The data is a CSV file with a time column and numeric columns (:mod:`rnnkit.data.series`): the
``--target`` column is forecast, the ``--features`` columns are extra inputs. Without DATA the
bundled airline passengers series is used (Box & Jenkins; 144 months, 1949-1960). The split is
chronological: the last ``--test-size`` rows (a count, or a fraction when < 1; default 24) are the
test window, the last ``--val-fraction`` of the rest chooses the best weights, the first part trains;
the scaler (μ, σ) is fitted on the training part only. The model (:class:`~rnnkit.tasks.forecaster.Forecaster`)
reads ``--window`` steps of (log-)differences and gives the next ``--horizon`` at once.

Scored by rolling origin: every origin o before the test window's end forecasts y_{o+1} … y_{o+h}
from the true history up to o; every forecast of a test value counts (h = 1: the one-step forecasts
of the 24 test months). MAE, RMSE and MAPE (%; None when some actual value is 0) are reported with
two baselines on the same forecasts:

    naive            ŷ_{o+k} = y_o                       (the last value)
    seasonal naive   ŷ_{o+k} = y_{o+k−s⌈k/s⌉}             (the value one season earlier; --season s,
                                                          default 12 for monthly, 7 for daily stamps)

``--transform auto`` (the default) forecasts log values when every target value is positive.

Measured (rnnkit 0.1.0, float32, 2-core machine, seeds 0-4; test MAE / RMSE, see docs/forecast.md):

    rnnkit train forecast                      airline, last 24 months: MAE 15.3-19.5 (mean 17.1), RMSE 19.2-25.1;
                                               naive 44.2 / 51.8, seasonal naive 47.6 / 50.0; 4-5 s
    rnnkit train forecast --horizon 12         the 12 steps of 24 origins: MAE 18.8-19.6 (seeds 0-2); naive 79.1,
                                               seasonal naive 47.6
    rnnkit train forecast monthly-sunspots.csv                    last 24 months: RMSE 20.8-22.6; naive 24.4
    rnnkit train forecast monthly-sunspots.csv --test-size 0.1    last 282 months: RMSE 16.3-16.5; naive 18.0

examples:
  rnnkit train forecast                                        # bundled airline passengers, last 24 months test
  rnnkit train forecast monthly-sunspots.csv --target Sunspots --test-size 0.1
  rnnkit train forecast sales.csv --target sales --features price promo --window 28 --horizon 7
  rnnkit forecast runs/forecast --steps 12                     # continue the series
  rnnkit evaluate runs/forecast airline-passengers.csv         # a file's last --test-size rows
  rnnkit predict runs/forecast newer.csv                       # the next --horizon values after a file

Python::

    from rnnkit.tasks import forecast
    summary = forecast.train(forecast.Config(out="runs/forecast"))
    model = rnnkit.load(summary["run"])                       # a Forecaster, in eval mode
    forecast.continue_series(model, 12)                       # [{'time': '1961-01', 'value': ...}, ...]
"""
from __future__ import annotations

from argparse import SUPPRESS
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from rnnkit.data.series import Clock, Series
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.functional.losses import mse
from rnnkit.tasks import driver
from rnnkit.tasks.base import RowShares, make_recurrent, open_task_run
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.tasks.forecast_data import fit_spec, n_test_rows, read_data, split_points
from rnnkit.tasks.forecast_scoring import error_sums, format_comparison, rolling, rolling_origins, score
from rnnkit.tasks.forecaster import Forecaster
from rnnkit.train.config import TrainConfig, add_options, flag
from rnnkit.train.run import Run

NAME = "forecast"
VERBS = ("predict", "evaluate", "forecast", "info")
DEFAULT_EPOCHS = 30
MIN_EPOCH_BATCHES = 25


@dataclass
class Config(TrainConfig):
    """forecast's options: the training options plus columns, window, horizon, transform and split."""

    data: list[str] = field(default_factory=list)
    target: str | None = None
    features: list[str] = field(default_factory=list)
    time_col: str | None = None
    window: int = 24
    horizon: int = 1
    season: int | None = None
    transform: str = "auto"
    difference: bool = True
    test_size: float = 24
    allow_gaps: bool = False
    cell: str = "gru"
    hidden: int = 32
    lr: float = 5e-3
    batch_size: int = 16
    val_fraction: float = 0.2

    def check(self) -> "Config":
        super().check()
        for name in ("window", "horizon", "season"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise RnnkitError(f"{flag(name)}: expected a positive integer, given {value!r}")
        if self.transform not in ("auto", "log", "none"):
            raise RnnkitError(f"--transform: expected auto, log or none, given {self.transform!r}")
        t = self.test_size
        if not (0 < t < 1 or (t >= 1 and float(t).is_integer())):
            raise RnnkitError(f"--test-size: expected a number of rows (an integer >= 1) or a fraction in (0, 1), "
                              f"given {t!r}")
        if len(self.data) > 1:
            raise RnnkitError(f"DATA: give one CSV file, given {len(self.data)}")
        if self.bidirectional:
            raise RnnkitError("--bidirectional: a forecaster reads its window left to right, as time runs")
        return self


def build_model(config: Config, spec: dict) -> Forecaster:
    rnn = make_recurrent(config, len(spec["columns"]), seed=config.seed)
    model = Forecaster(rnn, config.horizon, spec, config.dropout, seed=config.seed + 10)
    model.config = config
    return model


# -- training --------------------------------------------------------------------------------------------


class ForecastObjective(RowShares):
    """Shuffled batches of training windows; rolling forecasts of the validation rows choose the best weights.

    An epoch is at least ``MIN_EPOCH_BATCHES`` batches: a short series (the airline's 71 windows are 5
    batches) is passed over several times per epoch, each pass in a new order, so that validation and
    the checkpoint it writes come every 25 steps rather than every 5.
    """

    metric, mode, unit = "val_mae", "min", "windows"

    def __init__(self, model: Forecaster, series: Series, train_end: int, test_start: int, config: Config):
        self.model, self.config, self.series = model, config, series
        self.train_end, self.test_start = train_end, test_start
        self.x = model.inputs(series.values, series.source)                            # (N, D)
        self.origins = np.arange(model.first_origin, train_end - model.horizon)
        per_pass = -(-len(self.origins) // config.batch_size)
        self.passes = -(-MIN_EPOCH_BATCHES // per_pass)

    def steps_per_epoch(self) -> int:
        return self.passes * -(-len(self.origins) // self.config.batch_size)

    def batches(self, rng):
        for _ in range(self.passes):
            order = rng.permutation(self.origins)
            for i in range(0, len(order), self.config.batch_size):
                o = order[i:i + self.config.batch_size]
                yield self.model.windows(self.x, o), self.model.targets(self.x, o)

    def start_epoch(self) -> None:
        pass

    def weight(self, batch) -> int:
        return batch[1].size  # the mean squared error is over every predicted value

    def train_step(self, batch) -> tuple[float, int]:
        x, y = batch
        loss, dpred = mse(self.model.forward(x), y)
        self.model.backward(dpred)
        return float(loss), len(x)

    def evaluate(self) -> dict[str, float]:
        """MAE and RMSE of the rolling forecasts of the validation rows, each rank forecasting from its share
        of the origins, the sums of the errors added up."""
        origins = rolling_origins(self.model, self.train_end, self.test_start)

        def sums(part: slice) -> list:
            f = rolling(self.model, self.series.values, self.train_end, self.test_start, None, self.series.source,
                        origins[part])
            return error_sums(f["actual"], f["model"])
        absolute, squared, count = np.sum(self.each_share(len(origins), sums), axis=0)
        return {"val_mae": float(absolute / count), "val_rmse": float(np.sqrt(squared / count))}

    def carried(self) -> dict[str, np.ndarray]:
        return {}

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass


def _tail(series: Series, model: Forecaster) -> dict:
    """The last rows a continuation needs, with their clock (tail.json)."""
    keep = model.first_origin + 1
    return {"times": series.times[-keep:], "values": series.values[-keep:].tolist(), "columns": series.columns,
            "clock": series.clock.to_json()}


def prepare(config: Config, run: Run | None) -> Plan:
    """The series and its split, the model (scaled by the run's spec, or one fitted to the training rows),
    the objective; a finished run is scored on the test window against the baselines."""
    series = read_data(config.data[0] if config.data else None, config)
    first = config.window - 1 + int(config.difference)
    train_end, test_start = split_points(len(series.times), config, first, series.source)
    spec = run.read_json("spec.json") if run else fit_spec(config, series, train_end)
    model = build_model(config, spec)

    def finish(run: Run, summary: dict) -> dict:
        run.load_model("best.safetensors", model)
        model.eval()
        test = score(rolling(model, series.values, test_start, len(series.times), spec["season"], series.source),
                     "test_")
        return {"train_rows": train_end, "val_rows": test_start - train_end,
                "test_rows": len(series.times) - test_start,
                "test_from": series.times[test_start], "log": spec["log"], "season": spec["season"], **test}

    return Plan(ForecastObjective(model, series, train_end, test_start, config),
                {"spec.json": spec, "tail.json": _tail(series, model)}, finish=finish,
                report=lambda s: format_comparison(s, "test_", f"test window {series.times[test_start]} .. "
                                                             f"{series.times[-1]}"))


RECIPE = Recipe(NAME, Config, prepare, default_epochs=DEFAULT_EPOCHS)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train (or ``resume`` with the budget ``changes``) a forecaster; the summary has test scores and baselines."""
    return driver.train(RECIPE, config, resume, changes, world)

# -- using a trained model -------------------------------------------------------------------------------


def load(run: Run | str, which: str = "best") -> Forecaster:
    """The trained forecaster of a run, in eval mode, with ``.config`` and ``.tail`` (the series' last rows)."""
    run, config = open_task_run(run, NAME, Config)
    spec = run.read_json("spec.json")
    if not isinstance(spec, dict) or not {"log", "difference", "window", "mean", "std", "columns"} <= set(spec):
        raise RunError(f"{run.file('spec.json')}: expected the keys log, difference, window, mean, std, columns")
    model = build_model(config, spec)
    run.load_model(f"{which}.safetensors", model)
    model.tail = run.read_json("tail.json")
    return model.eval()


def _file_series(model: Forecaster, path: str) -> Series:
    series = read_data(path, model.config, list(model.spec["columns"]))
    if len(series.times) <= model.first_origin:
        raise DataError(f"{series.source}: {len(series.times)} rows; the model reads --window {model.window} "
                        f"(+{int(model.spec['difference'])} for the difference): "
                        f"give at least {model.first_origin + 1}")
    return series


def continue_series(model: Forecaster, steps: int, data: str | None = None) -> list[dict]:
    """The next ``steps`` values (time stamp and value) after the training series, or after the file ``data``."""
    return list(iter_forecasts(model, steps, data))


def iter_forecasts(model: Forecaster, steps: int, data: str | None = None) -> Iterator[dict]:
    """:func:`continue_series` step by step, checked first; an overflow is a DataError after the finite steps."""
    if not isinstance(steps, int) or steps < 1:
        raise RnnkitError(f"--steps: expected a positive integer, given {steps!r}")
    if data is None:
        tail = model.tail
        values, clock = np.array(tail["values"], dtype=np.float64), Clock(**tail["clock"])
    else:
        series = _file_series(model, data)
        values, clock = series.values, series.clock
    forecasts = model.iter_extend(values, steps)
    return ({"time": t, "value": v} for t, v in zip(clock.following(steps), forecasts))


def predict(model: Forecaster, inputs: list[str]) -> list[dict]:
    """For each CSV file of ``inputs``: the next --horizon values after its end (time stamp and value)."""
    results = []
    for path in inputs:
        results += [{"input": path, **r} for r in continue_series(model, model.horizon, path)]
    return results


def format_prediction(result: dict) -> str:
    """``time<TAB>value``, after ``input<TAB>`` for a file's forecast (``rnnkit predict``)."""
    head = f"{result['input']}\t" if "input" in result else ""
    return f"{head}{result['time']}\t{result['value']:.6g}"


def evaluate(model: Forecaster, paths: list[str]) -> dict:
    """Scores of the model and the baselines on the last --test-size rows of the CSV file ``paths[0]``."""
    if len(paths) != 1:
        raise RnnkitError(f"DATA: give one CSV file, given {len(paths)}")
    series = _file_series(model, paths[0])
    n = len(series.times)
    start = n - n_test_rows(n, model.config.test_size)
    if start < model.first_origin + 1:
        raise DataError(f"{series.source}: {n} rows leave {start} before the test window; the model needs "
                        f"{model.first_origin + 1} rows of history")
    result = score(rolling(model, series.values, start, n, model.spec.get("season"), series.source))
    return {"from": series.times[start], "to": series.times[-1], **result}


def format_evaluation(result: dict) -> str:
    return format_comparison(result, "", f"{result['points']} forecasts of {result['from']} .. {result['to']}")


def add_arguments(parser) -> None:
    """forecast's own flags for ``rnnkit train forecast`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[],
                        help="a CSV file with a header, a time column and numeric columns; "
                             "default: the bundled airline passengers (1949-1960)")
    options = {
        "target": (dict(metavar="COL"), "the column to forecast (default: the first after the time column)"),
        "features": (dict(metavar="COL", nargs="+"), "more columns the model reads (not forecast)"),
        "time_col": (dict(metavar="COL"), "the time column, a name or 0-based index (default: the first)"),
        "window": (dict(type=int), f"time steps the model reads (default {d.window})"),
        "horizon": (dict(type=int), f"values forecast at once (default {d.horizon})"),
        "season": (dict(type=int), "season length of the seasonal-naive baseline (default 12 for monthly, "
                                   "7 for daily time stamps)"),
        "transform": (dict(choices=("auto", "log", "none")),
                      f"forecast log values; auto: when all are positive (default {d.transform})"),
        "test_size": (dict(type=float),
                      f"test rows at the end: a count, or a fraction if < 1 (default {d.test_size:g})"),
        "allow_gaps": (dict(action="store_true"), "accept missing time stamps (rows are consecutive steps)"),
    }
    add_options(parser, options)
    parser.add_argument("--no-difference", dest="difference", action="store_false", default=SUPPRESS,
                        help="model the levels, not the changes from step to step")
