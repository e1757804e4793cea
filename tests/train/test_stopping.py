"""Why a run stopped: early stopping says what it saw, what going on needed and the budget left unused."""
from __future__ import annotations

import pytest

from rnnkit.errors import RnnkitError
from rnnkit.train.config import TrainConfig
from rnnkit.train.progress import summary_table
from rnnkit.train.run import Run
from rnnkit.train.stopping import STALE_EVALS, duration, early_stop_reason, stale_best_reason
from rnnkit.train.trainer import Trainer
from tests.train.test_trainer import Regression


def test_duration():
    assert [duration(x) for x in (0.4, 42, 60, 125.3, 3600, 3725)] == ["0 s", "42 s", "1 min", "2 min 5 s", "1 h",
                                                                       "1 h 2 min"]


def test_reason_names_the_best_the_need_and_the_unused_budget():
    text = early_stop_reason("val_accuracy", "max", 0.927, 600, 1200, 135, 5, None, 600)
    assert text.startswith("early stopping at step 1,200 (2 min 15 s): val_accuracy has not beaten its best, "
                           "0.9270 at step 600, in 5 evaluations (--patience 5)")
    assert "would have needed a val_accuracy above 0.9270" in text
    assert "Unused: 7 min 45 s of --time-limit 10 min. To spend it, raise --patience" in text
    text = early_stop_reason("val_loss", "min", 1.5, 10, 40, 3, 2, 100, None)
    assert "val_loss below 1.5000" in text and "Unused: 60 of 100 steps." in text
    assert "Unused" not in early_stop_reason("val_loss", "min", 1.5, 10, 40, 3, 2, 40, None)


def test_trainer_reports_an_early_stop(tmp_path, capsys):
    obj = Regression()
    obj.evaluate = lambda: {"val_loss": 1.0}   # never improves after the first evaluation
    config = TrainConfig(eval_every=2, patience=2, max_steps=50, dtype="float64")
    summary = Trainer(obj, config, Run.create(tmp_path / "run")).fit()
    assert summary["stopped"] == "early stopping" and summary["steps"] == 6
    assert "Unused: 44 of 50 steps" in summary["stop_reason"]
    out = capsys.readouterr().out
    assert out.rstrip().endswith("(0 turns early stopping off).")   # printed below the table
    assert "stop reason" not in summary_table(summary)
    obj = Regression()
    obj.evaluate = lambda: {"val_loss": 1.0}
    summary = Trainer(obj, TrainConfig(eval_every=2, patience=0, max_steps=10, quiet=True),
                      Run.create(tmp_path / "off")).fit()
    assert summary["stopped"] == "budget" and "stop_reason" not in summary


def test_a_stale_best_is_named_only_when_it_came_early_and_stood_long():
    text = stale_best_reason("val_f1", 0.3398, 1057, 19375, 80)
    assert text.startswith("val_f1's best, 0.3398, came at step 1,057 (5% of the run's 19,375 steps) and was not "
                           "beaten in the 80 evaluations after it: the rest of the budget bought nothing.")
    assert "best.safetensors keeps the weights of step 1,057" in text and "--patience 5" in text
    assert stale_best_reason("val_f1", 0.34, 1057, 19375, STALE_EVALS - 1) is None   # too few evaluations since
    assert stale_best_reason("val_f1", 0.34, 10000, 19375, 80) is None               # the best came late
    assert stale_best_reason("val_f1", None, None, 19375, 80) is None                # no evaluation at all


def test_trainer_says_when_its_budget_bought_nothing(tmp_path, capsys):
    obj = Regression()
    obj.evaluate = lambda: {"val_loss": 1.0}   # the first evaluation stays the best
    summary = Trainer(obj, TrainConfig(eval_every=2, patience=0, max_steps=30, dtype="float64"),
                      Run.create(tmp_path / "run")).fit()
    assert summary["stopped"] == "budget"
    assert summary["stop_reason"].startswith("val_loss's best, 1.0000, came at step 2 (7% of the run's 30 steps) "
                                             "and was not beaten in the 14 evaluations after it")
    assert capsys.readouterr().out.rstrip().endswith("gives the time back.")   # printed below the table


def test_patience_zero_is_off_and_negative_refused():
    assert TrainConfig(patience=0).check().patience == 0
    with pytest.raises(RnnkitError, match="--patience: expected an integer >= 0"):
        TrainConfig(patience=-1).check()
