"""Budget: the nearer of epochs and max_steps, time, and the default epochs of a run given none."""
from __future__ import annotations

from rnnkit.train.budget import Budget
from rnnkit.train.config import TrainConfig
from rnnkit.train.state import TrainState


def test_no_limit_given_means_the_default_epochs():
    budget = Budget.of(TrainConfig(), steps_per_epoch=7, default_epochs=3)
    assert budget.total_steps == 21
    assert not budget.spent(TrainState(step=20)) and budget.spent(TrainState(step=21))


def test_the_nearer_step_limit_and_time_whichever_first():
    budget = Budget.of(TrainConfig(epochs=2, max_steps=15, time_limit=10.0), steps_per_epoch=10, default_epochs=9)
    assert budget.total_steps == 15
    assert budget.fraction(TrainState(step=3, elapsed=5.0)) == 0.5   # time is the larger part
    assert budget.spent(TrainState(step=3, elapsed=10.0)) and not budget.spent(TrainState(step=14, elapsed=9.9))


def test_time_only():
    budget = Budget.of(TrainConfig(time_limit=2.0), steps_per_epoch=0, default_epochs=5)
    assert budget.total_steps is None and budget.steps_per_epoch == 1
    assert budget.fraction(TrainState(step=100, elapsed=1.0)) == 0.5
