"""What every task shares: the recurrent stack a config describes, with the cell variants, on every task."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.batching import bucket_batches
from rnnkit.errors import RnnkitError, RunError
from rnnkit.tasks import TASKS
from rnnkit.tasks.base import HeldRows, check_config_fits_weights, make_recurrent, variant_options
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import World
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


def test_open_trained_hands_back_the_model_its_task_and_its_run(tmp_path, monkeypatch):
    from rnnkit.tasks import open_trained
    from rnnkit.train import run as run_module

    out = tmp_path / "run"
    assert main(["train", "echo", *TINY, "--out", str(out)]) == 0
    read, real = [], run_module.read_json
    monkeypatch.setattr(run_module, "read_json", lambda path: read.append(path.name) or real(path))
    model, task, run = trained = open_trained(str(out), "last")
    assert read.count("config.json") == 1                             # open_run and the task's load share it
    assert task == "echo" and trained.module is TASKS["echo"] and run.path == out
    np.testing.assert_array_equal(model.rnn.params["weight_hh_l0"], rk.load(out, "last").rnn.params["weight_hh_l0"])


class Rank(World):
    """Rank ``rank`` of ``size`` in one process; the others' allgathered values are ``others`` (default: this
    rank's)."""

    def __init__(self, rank: int, size: int, others=None):
        self.rank, self.size, self.others = rank, size, others

    def allgather(self, obj) -> list:
        return [obj if self.others is None else self.others] * self.rank + [obj] + \
            [obj if self.others is None else self.others] * (self.size - self.rank - 1)


class Sequences(HeldRows):
    """Bucketed batches of variable-length sequences, as classify's, the rows built being (id, length) pairs."""

    def __init__(self, lengths: list[int], batch_size: int):
        self.lengths, self.batch_size = np.array(lengths), batch_size
        self.held = {"seq": [np.full(n, i) for i, n in enumerate(lengths)], "y": np.arange(len(lengths)) * 10}

    def batches(self, rng):
        return self.held_batches(bucket_batches(self.lengths, self.batch_size, rng, pool=2),
                                 lambda rows: [(int(s[0]), len(s), int(y)) for s, y in
                                               zip(self.rows("seq", rows), self.rows("y", rows))])

    def weight(self, batch) -> int:
        return len(batch)


def test_held_rows_ranks_keep_their_block_and_build_together_the_batches_of_one_process():
    lengths = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    one, ranks = Sequences(lengths, 4), [Sequences(lengths, 4) for _ in range(3)]
    for r, objective in enumerate(ranks):
        objective.distribute(Rank(r, 3))
    assert [len(o.held["seq"]) for o in ranks] == [4, 4, 3] and [o.start for o in ranks] == [0, 4, 8]
    empty = 0
    for epoch in range(5):
        whole = list(one.batches(np.random.default_rng(epoch)))
        parts = zip(*(o.batches(np.random.default_rng(epoch)) for o in ranks))
        for batch, shares in zip(whole, parts, strict=True):
            assert sorted(row for part in shares if part is not None for row in part) == sorted(batch)
            assert all(part is None or all(o.start <= i < o.start + len(o.held["seq"]) for i, _, _ in part)
                       for o, part in zip(ranks, shares))
            empty += sum(part is None for part in shares)
            assert all(o.share(part)[1] == (0 if part is None else len(part)) for o, part in zip(ranks, shares))
        assert batch == [(i, lengths[i], 10 * i) for i, _, _ in batch]
    assert empty > 0  # some rank held none of a batch's rows: it trains on nothing for that step


def test_held_rows_refuse_ranks_that_read_other_rows():
    with pytest.raises(RnnkitError, match=r"rank\(s\) 1 of 2 read other training rows"):
        Sequences([3, 1, 4], 2).distribute(Rank(0, 2, others="another digest"))
