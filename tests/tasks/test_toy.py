"""The toy tasks (echo, copy, adding): generators, learning, baselines, errors, CLI and resume."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import RnnkitError
from rnnkit.tasks import TASKS, toy
from rnnkit.tasks.generated import VAL_KEY, GeneratedObjective
from rnnkit.tasks.models import ManyToMany, ManyToOne
from tests.conftest import assert_interrupt_and_resume_exact


def config(task, tmp_path, name="run", **kwargs):
    return task.Config(**({"out": str(tmp_path / name), "quiet": True} | kwargs))


# -- the generators -------------------------------------------------------------------------------


def test_echo_examples():
    ex = toy.echo_examples(np.random.default_rng(0), 64, length=6, features=7, index=4)
    assert ex.x.shape == (64, 6, 7) and ex.x.dtype == np.float32 and ex.y.shape == (64,) and ex.mask is None
    assert np.all(ex.x.sum(-1) == 1)
    np.testing.assert_array_equal(ex.y, ex.x.argmax(-1)[:, 4])
    assert set(np.unique(ex.x.argmax(-1))) == set(range(7))


def test_copy_examples():
    S, A, lag = 4, 5, 3
    ex = toy.copy_examples(np.random.default_rng(0), 32, symbols=S, alphabet=A, lag=lag, dtype="float64")
    T = 2 * S + lag + 1
    assert ex.x.shape == (32, T, A + 2) and ex.x.dtype == np.float64 and ex.y.shape == ex.mask.shape == (32, T)
    codes = ex.x.argmax(-1)
    assert np.all((codes[:, :S] >= 1) & (codes[:, :S] <= A))       # the symbols
    assert np.all(codes[:, S:S + lag] == 0)                          # the blanks
    assert np.all(codes[:, S + lag] == A + 1)                        # the delimiter
    assert np.all(codes[:, S + lag + 1:] == 0)                       # blanks while recalling
    np.testing.assert_array_equal(ex.mask, np.broadcast_to(np.arange(T) >= T - S, (32, T)))
    np.testing.assert_array_equal(ex.y[:, -S:] + 1, codes[:, :S])   # recall = the symbols, in order


def test_adding_examples():
    ex = toy.adding_examples(np.random.default_rng(0), 500, length=11)
    assert ex.x.shape == (500, 11, 2) and ex.y.shape == (500, 1)
    values, markers = ex.x[..., 0], ex.x[..., 1]
    assert np.all((values >= 0) & (values <= 1))
    assert np.all(markers[:, :5].sum(1) == 1) and np.all(markers[:, 5:].sum(1) == 1)  # one in each half
    np.testing.assert_allclose(ex.y[:, 0], (values * markers).sum(1), rtol=1e-6)
    assert np.mean((ex.y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.02)   # the predict-1.0 baseline


@pytest.mark.parametrize("task", [toy.echo, toy.copy, toy.adding])
def test_generated_from_the_epoch_rng_and_a_fixed_validation_set(task):
    a, b = (task.examples(np.random.default_rng([3, 1]), 8, task.Config()) for _ in range(2))
    c = task.examples(np.random.default_rng([3, 2]), 8, task.Config())
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    v0, v1 = (GeneratedObjective(task, None, task.Config(seed=s)).val for s in (0, 1))
    np.testing.assert_array_equal(v0.x, v1.x)   # the same validation set whatever --seed
    assert len(v0.x) == 1000
    first_batch = next(GeneratedObjective(task, None, task.Config(seed=VAL_KEY[0])).batches(
        np.random.default_rng([VAL_KEY[0], VAL_KEY[1]])))
    assert not np.array_equal(first_batch.x, v0.x[:len(first_batch.x)])


# -- they learn ----------------------------------------------------------------------------------------


def test_echo_reaches_full_accuracy_and_predicts(tmp_path):
    summary = toy.echo.train(config(toy.echo, tmp_path, max_steps=400, eval_every=100))
    assert summary["best_val_accuracy"] == 1.0 and summary["chance_val_accuracy"] == 0.1
    model = rk.load(summary["run"])
    assert isinstance(model, ManyToOne) and model.config.index == 1
    assert toy.echo.evaluate_fresh(model, size=300, seed=5)["accuracy"] == 1.0
    (result,) = toy.echo.predict(model, ["3 1 4 1 5"])
    assert result["predicted"] == result["expected"] == 1 and result["probability"] > 0.5
    assert toy.echo.format_prediction(result).startswith("3 1 4 1 5 -> 1")


def test_adding_short_lag_beats_the_baseline(tmp_path):
    summary = toy.adding.train(config(toy.adding, tmp_path, lag=10, hidden=32, lr=1e-2, max_steps=300,
                                      eval_every=100))
    assert summary["baseline_val_mse"] == pytest.approx(1 / 6, abs=0.015)
    assert summary["best_val_mse"] < 0.25 * summary["baseline_val_mse"]
    model = rk.load(summary["run"])
    assert toy.adding.evaluate_fresh(model, size=200)["mse"] < 0.25 * summary["baseline_val_mse"]


def test_copy_tiny_lag_beats_chance(tmp_path):
    summary = toy.copy.train(config(toy.copy, tmp_path, symbols=3, lag=1, hidden=32, lr=1e-2, max_steps=300,
                                    eval_every=100))
    assert summary["chance_val_accuracy"] == 0.125
    assert summary["best_val_accuracy"] > 0.5
    model = rk.load(summary["run"])
    assert isinstance(model, ManyToMany)
    (result,) = toy.copy.predict(model, ["8 1 5"])
    assert result["input"] == [8, 1, 5] and len(result["output"]) == 3 and 0 <= result["right"] <= 3
    assert toy.copy.format_prediction(result).startswith("8 1 5 -> ")


def test_same_seed_same_weights(tmp_path):
    runs = [toy.adding.train(config(toy.adding, tmp_path, name, lag=6, hidden=8, max_steps=20, dropout=0.2))
            for name in ("a", "b")]
    a, b = (rk.load(s["run"], "last") for s in runs)
    for k, v in a.parameters().items():
        np.testing.assert_array_equal(v, b.parameters()[k], err_msg=k)


def test_ctrl_c_and_resume_is_exact(tmp_path, monkeypatch):
    kwargs = dict(hidden=16, max_steps=250, eval_every=60, dropout=0.1, lr=5e-3)  # crosses an epoch (100 batches)
    assert_interrupt_and_resume_exact(
        monkeypatch, GeneratedObjective, toy.echo.train,
        lambda name: config(toy.echo, tmp_path, name, **kwargs), at_call=137, total=250)


# -- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task,kwargs,message", [
    (toy.echo, dict(index=5), r"--index: expected a position in 0\.\.4 .* given 5"),
    (toy.echo, dict(index=-1), "--index: expected an integer >= 0, given -1"),
    (toy.echo, dict(length=3, index=3), r"--index: expected a position in 0\.\.2"),
    (toy.echo, dict(length=0), "--length: expected an integer >= 1"),
    (toy.echo, dict(features=1), "--features: expected an integer >= 2"),
    (toy.copy, dict(lag=0), "--lag: expected an integer >= 1"),
    (toy.copy, dict(symbols=0), "--symbols: expected an integer >= 1"),
    (toy.copy, dict(alphabet=1), "--alphabet: expected an integer >= 2"),
    (toy.adding, dict(lag=1), r"--lag: expected an integer >= 2 \(the sequence length.*given 1"),
    (toy.adding, dict(hidden=0), "--hidden: expected a positive integer"),
])
def test_bad_options_name_the_flag(task, kwargs, message, tmp_path):
    with pytest.raises(RnnkitError, match=message):
        task.train(config(task, tmp_path, **kwargs))
    assert not (tmp_path / "run").exists()


def test_bad_predict_input_names_input(tmp_path):
    model = rk.load(toy.echo.train(config(toy.echo, tmp_path, max_steps=2))["run"])
    for text in ("3 1 4", "3 1 4 1 10", "3 1 x 1 5"):
        with pytest.raises(RnnkitError, match="INPUT: expected 5 space-separated integers in 0..9"):
            toy.echo.predict(model, [text])


def test_adding_predicts_the_generated_examples_sum(tmp_path, capsys):
    run = toy.adding.train(config(toy.adding, tmp_path, lag=6, hidden=4, max_steps=1))["run"]
    model = rk.load(run)
    ex = toy.adding_examples(np.random.default_rng(3), 2, length=6)
    texts = [" ".join(f"{float(u)!r}{'*' if m else ''}" for u, m in row) for row in ex.x]
    got = toy.adding.predict(model, texts)
    assert [g["expected"] for g in got] == pytest.approx(ex.y[:, 0].tolist())
    assert [g["predicted"] for g in got] == pytest.approx(model.forward(ex.x)[:, 0].tolist())
    assert main(["predict", run, texts[0]]) == 0
    assert capsys.readouterr().out.startswith(f"u[{got[0]['marked'][0]}] + u[{got[0]['marked'][1]}] -> ")
    for text in ("0.1 0.2 0.3 0.4* 0.5 0.6", "0.1* 0.2 0.3 0.4* 0.5", "0.1* 0.2 0.3 0.4* 0.5 1.5",
                 "0.1* 0.2 0.3* 0.4 0.5 0.6"):
        with pytest.raises(RnnkitError, match=r"INPUT: expected 6 space-separated numbers in \[0, 1\], two"):
            toy.adding.predict(model, [text])


# -- the command line -----------------------------------------------------------------------------------------


def test_registered_with_their_verbs():
    assert {"echo", "copy", "adding"} <= set(TASKS)
    assert TASKS["echo"].VERBS == ("predict", "info") and "evaluate" not in TASKS["adding"].VERBS


def test_cli_train_predict_info(tmp_path, capsys):
    out = str(tmp_path / "echo")
    assert main(["train", "echo", "--max-steps", "300", "--eval-every", "100", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"best val accuracy +1\.0000", printed)
    assert re.search(r"chance val accuracy +0\.1000", printed)  # the baseline, in the summary table too
    assert "baseline: guessing scores val_accuracy 0.1000" in printed
    assert json.loads((tmp_path / "echo" / "summary.json").read_text())["chance_val_accuracy"] == 0.1
    assert main(["predict", out, "3 1 4 1 5", "9 7 0 0 0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 1 4 1 5 -> 1  (p = ") and lines[1].startswith("9 7 0 0 0 -> 7  (p = ")
    assert main(["predict", out, "2 6 2 6 2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predicted"] == 6
    assert main(["info", out]) == 0
    assert "echo" in capsys.readouterr().out
    assert main(["evaluate", out, "data.txt"]) == 2  # generated data: the run's own validation set is in info
    assert "'evaluate' does not apply to a 'echo' run; it offers: predict, info" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["train", "echo", "--index", "5", "--quiet"], "--index: expected a position in 0..4"),
    (["train", "adding", "--lag", "0", "--quiet"], "--lag: expected an integer >= 2"),
    (["train", "copy", "--lag", "0", "--quiet"], "--lag: expected an integer >= 1"),
])
def test_cli_bad_options_exit_2(argv, message, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_cli_divergence_stops_with_the_step_or_rolls_back(tmp_path, capsys):
    argv = ["train", "adding", "--lr", "1e30", "--optimizer", "sgd", "--clip", "0", "--max-steps", "30", "--quiet"]
    assert main(argv + ["--on-nan", "stop", "--out", str(tmp_path / "stop")]) == 2
    assert re.search(r"training diverged at step \d+: .*stopped \(--on-nan stop\)", capsys.readouterr().err)
    assert json.loads((tmp_path / "stop" / "summary.json").read_text())["stopped"] == "diverged"
    assert main(argv + ["--max-rollbacks", "2", "--out", str(tmp_path / "roll")]) == 2
    assert "after 2 rollback(s) (--max-rollbacks)" in capsys.readouterr().err
    state = json.loads((tmp_path / "roll" / "state.json").read_text())["train"]
    assert state["rollbacks"] == 2 and state["lr_scale"] == 0.25
