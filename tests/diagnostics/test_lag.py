"""The long-range experiment: every (cell, lag) trained through the toy tasks' API, success vs lag."""
from __future__ import annotations

import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics.lag import run_lag_experiment, success_of, write_results
from rnnkit.diagnostics.plotting import is_png, read_csv


def test_success_measures():
    assert success_of("copy", {"best_val_accuracy": 0.9, "chance_val_accuracy": 0.125})[2] == 0.9
    metric, value, ok, base = success_of("adding", {"best_val_mse": 0.0167, "baseline_val_mse": 0.167})
    assert (metric, value, base) == ("best_val_mse", 0.0167, 0.167) and ok == pytest.approx(0.9)
    assert success_of("adding", {"best_val_mse": 0.3, "baseline_val_mse": 0.167})[2] == 0.0


def test_experiment_trains_every_pair_and_writes_results(tmp_path):
    lines = []
    results, base = run_lag_experiment("adding", lags=[2, 4], cells=["rnn", "gru"], steps=2, hidden=3, batch_size=2,
                                       out=tmp_path / "lag", progress=lines.append)
    assert [(r.cell, r.lag, r.steps) for r in results] == [("rnn", 2, 2), ("gru", 2, 2), ("rnn", 4, 2), ("gru", 4, 2)]
    assert len(lines) == 8 and lines[-1].startswith("[4/4] adding gru lag 4: best_val_mse")
    assert (base / "gru-lag4" / "summary.json").is_file()
    _, plotted = write_results(results, base)
    wide = read_csv(base / "lag_success.csv")
    assert list(wide[0]) == ["lag", "rnn", "gru"] and [r["lag"] for r in wide] == ["2", "4"]
    assert len(read_csv(base / "lag_results.csv")) == 4
    assert plotted and is_png(base / "lag.png")
    _, again = run_lag_experiment("adding", lags=[2], cells=["rnn"], steps=1, hidden=2, batch_size=2,
                                  out=tmp_path / "lag", progress=None)
    assert again.name == "lag-2"                                  # an experiment never overwrites another


def test_cli(tmp_path, capsys):
    out = tmp_path / "lag"
    assert main(["experiment", "lag", "--task", "copy", "--lags", "1", "--cells", "lstm", "--steps", "2",
                 "--hidden", "3", "--batch-size", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[1/1] copy lstm lag 1" in printed and "chance: 0.125" in printed
    assert (out / "lag_success.csv").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--lags", "0"], "--lags: expected integers >= 1"),
    (["--task", "adding", "--lags", "1"], "--lags: expected integers >= 2"),
    (["--steps", "0"], "--steps: expected a positive integer"),
])
def test_bad_options(argv, message, tmp_path, capsys):
    assert main(["experiment", "lag", "--out", str(tmp_path / "x"), *argv]) == 2
    assert message in capsys.readouterr().err
