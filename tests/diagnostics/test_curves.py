"""Training curves: per-step log when present, evaluations otherwise; CSV always, PNG with matplotlib."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics.curves import running_mean, write_curves
from rnnkit.diagnostics.plotting import PLOT_HINT, is_png, read_csv


def make_run(path, steps: int = 120, per_step: bool = True, clip: float = 1.0):
    """A run directory as the trainer leaves it: config.json, metrics.jsonl every 40 steps, steps.jsonl."""
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"task": "adding", "config": {"clip": clip}}))
    evals = [{"step": s, "epoch": 0, "time": s / 100, "train_loss": 1 / s, "lr": 0.01, "max_grad_norm": 2.0,
              "clipped_steps": 3, "val_mse": 0.5 / s, "val_loss": 1.0} for s in (40, 80, 120)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    if per_step:
        lines = [json.dumps({"step": s, "time": s / 100, "loss": 1 / s, "grad_norm": 0.5 + (s % 10 == 0),
                             "clipped": s % 10 == 0, "lr": 0.01}) for s in range(1, steps + 1)]
        (path / "steps.jsonl").write_text("\n".join(lines) + "\n{\"step\": 12")  # a torn last line is skipped
    return path


def test_reads_the_per_step_log_when_present(tmp_path):
    run = make_run(tmp_path / "run")
    files = write_curves(run)
    assert [f.name for f in files] == ["curves_train.csv", "curves_val.csv", "curves.png"]
    rows = read_csv(run / "curves_train.csv")
    assert len(rows) == 120 and rows[0]["source"] == "steps.jsonl"
    assert sum(r["clipped"] == "True" for r in rows) == 12
    val = read_csv(run / "curves_val.csv")
    assert [r["step"] for r in val] == ["40", "80", "120"] and float(val[2]["val_mse"]) == pytest.approx(0.5 / 120)
    assert is_png(run / "curves.png")


def test_falls_back_to_metrics_jsonl(tmp_path):
    run = make_run(tmp_path / "run", per_step=False)
    write_curves(run)
    rows = read_csv(run / "curves_train.csv")
    assert len(rows) == 3 and rows[0]["source"] == "metrics.jsonl"
    assert float(rows[1]["grad_norm"]) == 2.0 and rows[1]["clipped"] == "True"


def test_write_curves_never_fails_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = make_run(tmp_path / "run")
    files = write_curves(run)
    assert [f.name for f in files] == ["curves_train.csv", "curves_val.csv"]
    assert not (run / "curves.png").exists()


def test_cli_overlays_runs(tmp_path, capsys):
    a, b = make_run(tmp_path / "a"), make_run(tmp_path / "b", per_step=False)
    assert main(["plot", str(a), str(b)]) == 2
    assert "--out: give a directory" in capsys.readouterr().err
    assert main(["plot", str(a), str(b), "--out", str(tmp_path / "both")]) == 0
    out = capsys.readouterr().out
    assert "a: 120 steps" in out and "best val_mse" in out
    rows = read_csv(tmp_path / "both" / "curves_train.csv")
    assert {r["run"] for r in rows} == {"a", "b"} and len(rows) == 123
    assert is_png(tmp_path / "both" / "curves.png")


def test_cli_without_matplotlib_says_how(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = make_run(tmp_path / "run")
    assert main(["plot", str(run)]) == 0
    assert PLOT_HINT in capsys.readouterr().out
    assert (run / "curves_train.csv").is_file()


def test_a_directory_without_logs_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "neither steps.jsonl nor metrics.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("loss", [
    4.31 - 2.49 * np.linspace(0, 1, 400) ** 0.5,                     # the run: 4.31 -> 1.82
    np.r_[np.full(100, np.nan), np.linspace(3, 1, 300)],             # logged values missing at the start
    np.random.default_rng(0).uniform(1, 2, 57),
])
def test_running_mean_stays_within_the_values_and_is_right_at_both_ends(loss):
    s = running_mean(loss)
    finite = loss[np.isfinite(loss)]
    assert np.nanmin(s) >= finite.min() - 1e-12 and np.nanmax(s) <= finite.max() + 1e-12
    w = max(1, len(loss) // 50)
    first = np.flatnonzero(np.isfinite(loss))[0]
    assert s[first] == pytest.approx(np.nanmean(loss[first:first + w - w // 2]))
    assert s[-1] == pytest.approx(np.mean(loss[len(loss) - 1 - w // 2:]))


def test_the_plotted_loss_curves_hold_only_values_of_the_run(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import rnnkit.diagnostics.curves as curves
    figures = []
    monkeypatch.setattr(curves, "save_figure", lambda fig, path, **kw: figures.append(fig) or Path(path))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"task": "charlm", "config": {"clip": 5.0}}))
    loss = 4.31 - 2.49 * np.linspace(0, 1, 400) ** 0.5
    (run / "steps.jsonl").write_text("".join(json.dumps({"step": s + 1, "time": s / 20, "loss": v, "grad_norm": 1.0,
                                                         "clipped": False, "lr": 0.002}) + "\n"
                                             for s, v in enumerate(loss)))
    write_curves(run)
    (fig,) = figures
    panels = [a for a in fig.axes if a.get_title().startswith("training loss")]
    assert len(panels) == 2
    for panel in panels:
        lines = [np.asarray(line.get_ydata(), dtype=float) for line in panel.get_lines()]
        assert len(lines) == 2  # the raw loss and its running mean
        for y in lines:
            assert y.min() >= loss.min() - 1e-9 and y.max() <= loss.max() + 1e-9
            assert abs(y[0] - 4.31) < 0.2 and abs(y[-1] - 1.82) < 0.05  # zero padding gave 2.25 and 1.0


def test_running_mean_never_leaves_the_range_of_the_values():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")))

    @settings(max_examples=200, deadline=None)
    @given(y=st.lists(values, min_size=1, max_size=300), width=st.one_of(st.none(), st.integers(1, 50)))
    def check(y, width):
        y = np.array(y)
        s = running_mean(y, width)
        finite = y[np.isfinite(y)]
        assert s.shape == y.shape
        if finite.size:
            tol = 1e-9 * max(1.0, np.abs(finite).max())
            assert np.nanmin(s) >= finite.min() - tol and np.nanmax(s) <= finite.max() + tol

    check()


def test_a_last_line_without_its_newline_waits_even_when_it_parses(tmp_path):
    """``{"step": 12}`` cut from ``{"step": 120, ...}`` would parse: only whole lines are read."""
    from rnnkit.diagnostics.curves import read_records

    path = tmp_path / "steps.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\nnot json\n{"step": 12}')
    assert read_records(path) == [{"step": 1, "loss": 2.0}]
    path.write_text('{"step": 1, "loss": 2.0}\nnot json\n{"step": 12}\n')
    assert [r["step"] for r in read_records(path)] == [1, 12]
    assert read_records(tmp_path / "missing.jsonl") == []
