"""Training options: checks name the flag."""
from __future__ import annotations

import pytest

from rnnkit.errors import RnnkitError, RunError
from rnnkit.train.config import TrainConfig
from rnnkit.train.schedules import learning_rate


@pytest.mark.parametrize("kwargs,match", [
    (dict(cell="transformer"), "--cell: expected one of lstm, gru, rnn, rnn_relu; given 'transformer'"),
    (dict(hidden=0), "--hidden: expected a positive integer, given 0"),
    (dict(batch_size=2.5), "--batch-size: expected a positive integer, given 2.5"),
    (dict(lr=0), "--lr: expected a positive number, given 0"),
    (dict(clip=-1), "--clip: expected a number >= 0"),
    (dict(dropout=1.0), r"--dropout: expected a number in \[0, 1.0\), given 1.0"),
    (dict(val_fraction=-0.1), "--val-fraction"),
    (dict(optimizer="lbfgs"), "--optimizer: expected one of"),
    (dict(cell="gru", proj_size=4), "--proj-size: the gru cell has no such option; it is an option of --cell lstm"),
    (dict(cell="rnn", peephole=True), "--peephole: the rnn cell has no such option"),
    (dict(cell="rnn_relu", layer_norm=True), "--layer-norm: .* an option of --cell lstm and gru"),
    (dict(hidden=8, proj_size=8), "--proj-size: expected a projection smaller than --hidden 8"),
    (dict(recurrent_dropout=1.0), r"--recurrent-dropout: expected a number in \[0, 1.0\)"),
    (dict(weight_drop=-0.1), "--weight-drop"),
    (dict(zoneout=1.5), "--zoneout"),
    (dict(merge_mode="max"), "--merge-mode: expected one of concat, sum, mul, ave"),
    (dict(merge_mode="sum"), "--merge-mode: joins the two directions of a --bidirectional stack"),
])
def test_bad_options_name_the_flag(kwargs, match):
    with pytest.raises(RnnkitError, match=match):
        TrainConfig(**kwargs).check()


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(RnnkitError, match="config.json: unknown option.*hiden"):
        TrainConfig.from_dict({"hiden": 3}, "config.json")
    assert TrainConfig.from_dict(TrainConfig(hidden=7).to_dict()).hidden == 7


def test_schedules():
    assert learning_rate("constant", 0.1, 500, 0.5) == 0.1
    assert learning_rate("step", 0.1, 2500, 0.0, lr_step=1000, lr_gamma=0.5) == pytest.approx(0.025)
    assert learning_rate("cosine", 0.1, 0, 0.0) == pytest.approx(0.1)
    assert learning_rate("cosine", 0.1, 0, 0.5) == pytest.approx(0.05)
    assert learning_rate("cosine", 0.1, 0, 1.0) == pytest.approx(0.0)


@pytest.mark.parametrize("stored,match", [
    ({"hidden": "128"}, r"config.json: hidden: expected int, given '128'"),
    ({"hidden": 1.5}, r"config.json: hidden: expected int, given 1.5"),
    ({"bidirectional": 1}, r"config.json: bidirectional: expected bool, given 1"),
    ({"epochs": [3]}, r"config.json: epochs: expected int \| None, given \[3\]"),
    ({"hidden": 10**9}, r"config.json: --hidden: expected at most 65536, given 1000000000"),
    ({"layers": 0}, r"config.json: --layers: expected a positive integer, given 0"),
    ({"on_nan": "ignore"}, r"config.json: --on-nan: expected one of rollback, stop; given 'ignore'"),
    ({"max_rollbacks": -1}, r"config.json: --max-rollbacks: expected an integer >= 0"),
])
def test_stored_config_is_checked_against_the_schema(stored, match):
    with pytest.raises(RunError, match=match):
        TrainConfig.from_dict(stored, "config.json")


def test_stored_config_accepts_json_numbers():
    config = TrainConfig.from_dict({"lr": 1, "time_limit": 30, "epochs": None}, "config.json")
    assert config.lr == 1 and config.time_limit == 30
    with pytest.raises(RunError, match="config.json: expected a JSON object of options, given list"):
        TrainConfig.from_dict([], "config.json")
