"""forecast: beats the baselines on the bundled airline series, continues series, scores multi-step
forecasts with features, resumes exactly, and refuses bad input before writing anything."""
from __future__ import annotations

import json

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import DataError, RnnkitError
from rnnkit.tasks import forecast
from rnnkit.tasks.forecast_scoring import error_sums, errors, rolling
from rnnkit.tasks.forecaster import Forecaster
from rnnkit.train.distributed import World
from tests.conftest import assert_interrupt_and_resume_exact


def write_csv(path, n=120, features=False, seed=0):
    """Monthly rows from 2000-01: y a noisy seasonal series with a trend; x a feature that leads y by one step."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + 1)
    lead = np.sin(2 * np.pi * t / 12)
    y = 50 + 0.2 * t[1:] + 10 * lead[:-1] + rng.normal(0, 0.5, n)
    lines = ["month,y" + (",x" if features else "")]
    for i in range(n):
        stamp = f"{2000 + i // 12}-{i % 12 + 1:02d}"
        lines.append(f"{stamp},{y[i]:.4f}" + (f",{lead[i]:.4f}" if features else ""))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def tiny(tmp_path, name="run", **kwargs):
    base = dict(window=12, hidden=16, epochs=30, test_size=12, out=str(tmp_path / name), quiet=True)
    return forecast.Config(**(base | kwargs))


def test_airline_defaults_beat_both_baselines(tmp_path):
    """The issue's target: the bundled series, last 24 months as test, MAE below seasonal naive."""
    summary = forecast.train(forecast.Config(out=str(tmp_path / "air"), quiet=True))
    assert summary["test_from"] == "1959-01" and summary["test_points"] == 24 and summary["log"]
    assert (summary["train_rows"], summary["val_rows"], summary["test_rows"]) == (96, 24, 24)
    assert summary["seasonal_naive_test_mae"] == pytest.approx(47.583, abs=1e-3)  # Σ|y_t − y_{t−12}| / 24
    assert summary["naive_test_mae"] == pytest.approx(44.208, abs=1e-3)
    assert summary["test_mae"] < 0.7 * summary["seasonal_naive_test_mae"]
    model = rk.load(summary["run"])
    assert isinstance(model, Forecaster) and not model.training
    steps = forecast.continue_series(model, 14)
    assert [s["time"] for s in steps[:2]] + [steps[-1]["time"]] == ["1961-01", "1961-02", "1962-02"]
    assert all(380 < s["value"] < 800 for s in steps)
    july, november = steps[6]["value"], steps[10]["value"]
    assert july > november  # the seasonal peak survives the continuation


def test_scores_and_baselines_by_hand(tmp_path):
    path = write_csv(tmp_path / "s.csv", n=60)
    model = rk.load(forecast.train(tiny(tmp_path, data=[path], horizon=2, epochs=2))["run"])
    values = forecast.read_data(path, model.config).values
    f = forecast.rolling(model, values, 48, 60, season=12)
    y = values[:, 0]
    # horizon 2: origin 46 forecasts row 48 (k = 2);
    # origins 47 .. 58 forecast rows 48 .. 59 (k = 1) and 49 .. 59 (k = 2)
    assert len(f["actual"]) == 1 + 12 + 11
    expected_naive = np.concatenate([[y[46]], *[[y[o]] * ((o + 1 < 60) + (o + 2 < 60)) for o in range(47, 59)]])
    np.testing.assert_array_equal(f["naive"], expected_naive)
    np.testing.assert_array_equal(f["actual"][:3], [y[48], y[48], y[49]])
    np.testing.assert_array_equal(f["seasonal_naive"][:3], [y[36], y[36], y[37]])
    pred = model.forecast(values, [46])
    assert pred.shape == (1, 2) and f["model"][0] == pytest.approx(pred[0, 1], rel=1e-5)
    e = errors(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0]))
    assert e == {"mae": pytest.approx(4 / 3), "rmse": pytest.approx(np.sqrt(10 / 3)),
                 "mape": pytest.approx(100 * 1.75 / 3)}
    assert errors(np.array([0.0, 1.0]), np.array([1.0, 1.0]))["mape"] is None
    assert error_sums(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])) == [4.0, 10.0, 3]  # Σ|e|, Σe², M


def test_scaler_sees_the_training_rows_only(tmp_path):
    path = write_csv(tmp_path / "a.csv", n=60)
    config = tiny(tmp_path)
    series = forecast.read_data(path, config)
    spec = forecast.fit_spec(config, series, train_end=40)
    series.values[40:] *= 3                                                   # change validation and test rows
    assert forecast.fit_spec(config, series, train_end=40) == spec
    series.values[:40] *= 2
    assert forecast.fit_spec(config, series, train_end=40)["mean"] != spec["mean"]


def test_features_multistep_predict_evaluate_and_cli(tmp_path, capsys):
    path = write_csv(tmp_path / "f.csv", n=96, features=True)
    summary = forecast.train(tiny(tmp_path, data=[path], target="y", features=["x"], horizon=3, epochs=12))
    assert summary["test_points"] == 12 * 3 and summary["season"] == 12  # each test row at each of the 3 steps
    model = rk.load(summary["run"])
    assert model.spec["columns"] == ["y", "x"] and model.head.out_features == 3
    assert model.rnn.input_size == 2
    result = forecast.evaluate(model, [path])
    assert result["mae"] == pytest.approx(summary["test_mae"]) and result["from"] == "2007-01"
    assert result["mae"] < result["naive_mae"] and result["mae"] < result["seasonal_naive_mae"]
    out = forecast.predict(model, [path])
    assert [r["time"] for r in out] == ["2008-01", "2008-02", "2008-03"] and out[0]["input"] == path
    with pytest.raises(DataError, match="--steps 4: the model also reads feature columns"):
        forecast.continue_series(model, 4)
    capsys.readouterr()
    assert main(["forecast", summary["run"], "--steps", "2", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["time"] for line in lines] == ["2008-01", "2008-02"]
    assert main(["forecast", summary["run"], "--steps", "3", "--csv", "--data", path]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["time,y", f"2008-01,{out[0]['value']:.6g}"]
    assert main(["evaluate", summary["run"], path]) == 0
    table = capsys.readouterr().out
    assert "seasonal naive" in table and "MAPE" in table
    assert main(["predict", summary["run"], path]) == 0
    assert capsys.readouterr().out.startswith(f"{path}\t2008-01\t")


def test_levels_without_log_or_difference(tmp_path):
    path = write_csv(tmp_path / "l.csv", n=60)
    summary = forecast.train(tiny(tmp_path, data=[path], transform="none", difference=False, epochs=3))
    model = rk.load(summary["run"])
    assert not model.spec["log"] and not model.spec["difference"] and model.first_origin == 11
    assert len(forecast.continue_series(model, 5)) == 5


def test_interrupt_and_resume_is_exact(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "r.csv", n=60)

    def make(name):
        return tiny(tmp_path, name, data=[path], epochs=1)

    # 60 rows: 39 train (26 windows of 12 + 1 -> 2 batches of 16, 13 passes an epoch), 9 validation, 12 test
    assert_interrupt_and_resume_exact(monkeypatch, forecast.ForecastObjective, forecast.train, make,
                                      at_call=3, total=26)


@pytest.mark.parametrize("body,args,message", [
    ("2000-{m:02d},{v}", [], None),
    ("2000-{m:02d},{v}", ["--window", "30"], "--window 30: "),
    ("2000-{m:02d},{v}", ["--window", "6", "--test-size", "11"], "training windows"),
    ("2000-{m:02d},{v}", ["--transform", "log"], "--transform log"),
    ("2000-{m:02d},{v}", ["--features", "y"], "--features: name the --target column too"),
    ("2000-{m:02d},{v}", ["--target", "z"], "no column named 'z'"),
    ("2000-{m:02d},{v}", ["--test-size", "2.5"], "--test-size: expected a number of rows"),
    ("2000-{m:02d},{v}", ["--test-size", "12"], "--test-size 12: "),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, capsys, body, args, message):
    rows = [body.format(m=m, v=m - 1) for m in range(1, 13)]          # 12 rows, the first value 0
    path = tmp_path / "d.csv"
    path.write_text("month,y\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    code = main(["train", "forecast", str(path), "--window", "3", "--test-size", "2", "--epochs", "1",
                 "--out", str(out), "--quiet", *args])
    if message is None:
        assert code == 0 and out.is_dir()  # the base command is fine: only the option breaks it
        return
    assert code == 2 and message in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("rows,message", [
    (["2000-01,1", "2000-02,x", "2000-03,3"], "line 3, column 'y': the value is 'x', not a finite number"),
    (["2000-01,1", ",2", "2000-03,3"], "line 3, column 'month': the time stamp is missing"),
    (["2000-01,1", "2000-03,2", "2000-04,3", "2000-05,4"], "time stamp(s) are missing"),
    (["2000-02,1", "2000-01,2", "2000-03,3"], "sort the file by time"),
])
def test_bad_data_exits_2_and_writes_nothing(tmp_path, capsys, rows, message):
    path = tmp_path / "bad.csv"
    path.write_text("month,y\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    assert main(["train", "forecast", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err and not out.exists()


def test_verbs_check_the_run(tmp_path, capsys):
    summary = forecast.train(tiny(tmp_path, data=[write_csv(tmp_path / "v.csv", n=48)], epochs=1))
    assert main(["forecast", summary["run"], "--steps", "0"]) == 2
    assert "--steps: expected a positive integer" in capsys.readouterr().err
    with pytest.raises(RnnkitError, match="give one CSV file"):
        forecast.evaluate(rk.load(summary["run"]), ["a.csv", "b.csv"])


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_a_forecast_that_overflows_prints_every_finite_step_then_stops_with_a_message(tmp_path, capsys, fmt,
                                                                                         monkeypatch):
    summary = forecast.train(tiny(tmp_path, data=[write_csv(tmp_path / "y.csv")], epochs=None, max_steps=1))
    original = Forecaster.forecast

    def growing(self, values, origins, *args, **kwargs):  # each step 1e60 times the last: inf after a few
        out = original(self, values, origins, *args, **kwargs)
        return np.full_like(out, abs(values[-1, 0]) * 1e60 + 1)

    monkeypatch.setattr(Forecaster, "forecast", growing)
    capsys.readouterr()
    assert main(["forecast", summary["run"], "--steps", "3000", *fmt]) == 2
    captured = capsys.readouterr()
    rows = [r for r in captured.out.splitlines() if r and not r.startswith("time,")]
    assert 3 <= len(rows) < 3000
    assert f"leaves the range of float64 numbers at step {len(rows) + 1}" in captured.err
    assert f"the {len(rows)} steps before it are valid" in captured.err and "inf" not in captured.out


class Gathering(World):
    """Rank ``rank`` of 2 in one process: ``allgather`` records what this rank sends and returns it with
    ``other``, what the other rank sent."""

    size = 2

    def __init__(self, rank: int, other=None):
        self.rank, self.other = rank, other

    def allgather(self, obj) -> list:
        self.sent = obj
        return [obj, self.other] if self.rank == 0 else [self.other, obj]


def test_validation_split_between_two_ranks_is_one_process_validation(tmp_path):
    """Each rank forecasts from its share of the validation origins; the sums of the errors, added up, give
    one process's MAE and RMSE (the real two-rank run: tests/train/test_distributed_mpi.py)."""
    config = tiny(tmp_path, window=6, dtype="float64")
    config.data = [write_csv(tmp_path / "a.csv", n=60)]
    objective = forecast.prepare(config, None).objective
    objective.model.eval()
    whole = objective.evaluate()
    second = Gathering(1, other=[0.0, 0.0, 0])
    objective.distribute(second)
    objective.evaluate()                                      # rank 1's share: what it sends
    first = Gathering(0, other=second.sent)
    objective.distribute(first)
    shared = objective.evaluate()
    o = objective
    points = len(rolling(o.model, o.series.values, o.train_end, o.test_start, None)["actual"])
    assert first.sent[2] > 0 and second.sent[2] > 0 and first.sent[2] + second.sent[2] == points  # each its share
    assert shared == pytest.approx(whole, rel=1e-12)
