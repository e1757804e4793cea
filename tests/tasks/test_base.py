"""What every task shares: the recurrent stack a config describes, with the cell variants, on every task."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import RunError
from rnnkit.tasks import TASKS
from rnnkit.tasks.base import check_config_fits_weights, make_recurrent, variant_options
from rnnkit.train.config import TrainConfig
from rnnkit.train.run import Run

TINY = ["--hidden", "4", "--embed", "4", "--batch-size", "4", "--max-steps", "2", "--quiet"]
LSTM_VARIANTS = ["--cell", "lstm", "--proj-size", "2", "--peephole", "--layer-norm", "--recurrent-dropout", "0.2",
                 "--weight-drop", "0.2", "--zoneout", "0.1"]
MERGED = ["--cell", "gru", "--layer-norm", "--bidirectional", "--merge-mode", "ave", "--recurrent-dropout", "0.2"]
ONE_WAY = {"charlm", "forecast", "translate", "caption"}   # tasks that refuse --bidirectional
USE = {"charlm": ["sample", "{run}", "--length", "5"], "classify": ["predict", "{run}", "a fine film"],
       "tag": ["predict", "{run}", "John lives in Paris"], "forecast": ["forecast", "{run}", "--steps", "2"],
       "translate": ["translate", "{run}", "a1 b2"], "echo": ["predict", "{run}", "1 2 3 4 5"],
       "copy": ["predict", "{run}", "1 2 3 4 5 6 7 8 1 2"], "adding": ["predict", "{run}", "0.1* 0.2 0.3* 0.4"],
       "caption": ["info", "{run}"]}


def test_make_recurrent_builds_the_variants():
    config = TrainConfig(hidden=8, layers=2, proj_size=3, peephole=True, zoneout=0.1, weight_drop=0.2)
    rnn = make_recurrent(config, 5, seed=0)
    assert variant_options(config) == dict(proj_size=3, peephole=True, weight_drop=0.2, zoneout=0.1)
    assert rnn.variants.given() == variant_options(config) and rnn.output_width == 3
    assert "weight_hr_l1" in rnn.params and "peephole_l0" in rnn.params
    assert variant_options(TrainConfig()) == {} and make_recurrent(TrainConfig(), 5, 0).variants.given() == {}


def test_a_projection_is_not_taken_for_a_damaged_run(tmp_path):
    """The weight-count guard counts weight_hh as G·H × P with a projection: small P, few weights."""
    config = TrainConfig(hidden=64, proj_size=2, embed=4)
    run = Run.create(tmp_path / "run")
    run.save_model("best.safetensors", make_recurrent(config, 4, seed=0))
    check_config_fits_weights(run, config)
    with pytest.raises(RunError, match="the configuration and the weights disagree"):
        check_config_fits_weights(run, replace(config, proj_size=0))


CASES = [(task, "lstm-variants", LSTM_VARIANTS) for task in sorted(TASKS)] + \
        [(task, "merged-gru", MERGED) for task in sorted(set(TASKS) - ONE_WAY)]


@pytest.mark.parametrize("task,kind,variants", CASES, ids=[f"{t}-{k}" for t, k, _ in CASES])
def test_every_task_trains_loads_and_predicts_with_the_variants(task, kind, variants, tmp_path, capsys):
    data = {"charlm": [str(tmp_path / "text.txt"), "--bptt", "8"], "translate": [str(tmp_path / "pairs.tsv")],
            "adding": ["--lag", "4"]}
    (tmp_path / "text.txt").write_text("to be or not to be, that is the question.\n" * 30)
    (tmp_path / "pairs.tsv").write_text("".join(f"a{i % 5} b{i % 3}\tx{i % 3} y{i % 5}\n" for i in range(40)))
    out = str(tmp_path / "run")
    assert main(["train", task, *data.get(task, []), *TINY, *variants, "--out", out]) == 0, capsys.readouterr().err
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert stored["recurrent_dropout"] == 0.2 and stored["layer_norm"] is True
    model = rk.load(out)
    rnn = model.decoder if task == "translate" else model.rnn
    assert rnn.variants.layer_norm and rnn.variants.recurrent_dropout == 0.2
    assert main([a.format(run=out) for a in USE[task]]) == 0, capsys.readouterr().err
    if task == "caption":   # generation, one step at a time through the stack
        assert len(model.generate(np.zeros((2, model.features)), max_tokens=4)) == 2
    assert main(["train", "--resume", out, "--recurrent-dropout", "0.3"]) == 2
    assert "--recurrent-dropout: a resumed run keeps its settings" in capsys.readouterr().err


def test_evaluate_and_an_export_that_names_the_option_its_format_cannot_express(tmp_path, capsys):
    (tmp_path / "text.txt").write_text("to be or not to be, that is the question.\n" * 30)
    out = str(tmp_path / "run")
    assert main(["train", "charlm", str(tmp_path / "text.txt"), "--bptt", "8", *TINY, "--layer-norm",
                 "--out", out]) == 0
    assert main(["evaluate", out, str(tmp_path / "text.txt")]) == 0
    assert main(["export", out, str(tmp_path / "model.safetensors")]) == 2
    assert "layer_norm: torch.nn has no such option" in capsys.readouterr().err
    assert not (tmp_path / "model.safetensors").exists()
    np.testing.assert_equal(rk.load(out).rnn.variants.layer_norm, True)
