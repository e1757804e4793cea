"""The shared training loop: divergence guard, rollbacks, per-step log, summary extras, checkpoint checks."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from rnnkit.errors import DivergenceError, RunError
from rnnkit.nn.layers import Linear
from rnnkit.train.checkpoint import load_tensors
from rnnkit.train.config import TrainConfig
from rnnkit.train.run import Run
from rnnkit.train.trainer import Trainer

STEP_KEYS = {"step", "time", "loss", "grad_norm", "clipped", "lr"}


class Regression:
    """y = W x fitted to a fixed target map; ``poison`` makes chosen calls produce NaN/inf."""

    metric, mode, unit = "val_loss", "min", "examples"

    def __init__(self, poison=(), what="grad", from_call=None):
        self.model = Linear(3, 2, dtype="float64", seed=0)
        self.target = np.arange(6.0).reshape(2, 3) / 6
        self.poison, self.what, self.from_call, self.calls = set(poison), what, from_call, 0

    def steps_per_epoch(self):
        return 10

    def batches(self, rng):
        return (rng.standard_normal((4, 3)) for _ in range(10))

    def start_epoch(self):
        pass

    def train_step(self, x):
        self.calls += 1
        out = self.model.forward(x)
        diff = out - x @ self.target.T
        self.model.backward(2 * diff / diff.size)
        loss = float(np.mean(diff ** 2))
        if self.calls in self.poison or (self.from_call and self.calls >= self.from_call):
            if self.what == "loss":
                return float("nan"), len(x)
            if self.what == "overflow":  # an inf reaching a layer: its own finiteness check raises
                self.model.backward(np.full(out.shape, np.inf))
            self.model.grads["bias"][1] = np.inf
        return loss, len(x)

    def evaluate(self):
        x = np.random.default_rng(9).standard_normal((16, 3))
        return {"val_loss": float(np.mean((self.model.forward(x) - x @ self.target.T) ** 2))}

    def carried(self):
        return {}

    def restore_carried(self, tensors):
        pass

    def summary_extras(self):
        return {"baseline_val_loss": 1.25}


def fit(tmp_path, name="run", objective=None, resume=False, **kwargs):
    config = TrainConfig(**({"max_steps": 12, "quiet": True, "lr": 0.05} | kwargs)).check()
    run = Run.create(tmp_path / name)
    run.write_json("config.json", {"task": "test", "config": config.to_dict()})
    trainer = Trainer(objective or Regression(), config, run)
    if resume:
        trainer.resume()
    return trainer, trainer.fit()


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def steps_of(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]


def test_on_nan_stop_names_step_and_parameter_before_the_weights_change(tmp_path):
    with pytest.raises(DivergenceError, match=r"at step 5: the gradient of 'bias' is not finite.*--on-nan stop"):
        fit(tmp_path, objective=Regression(poison={5}), on_nan="stop", checkpoint_every=2)
    _, clean = fit(tmp_path, "four", max_steps=4)
    diverged = Regression(poison={5})
    with pytest.raises(DivergenceError) as info:
        fit(tmp_path, "again", objective=diverged, on_nan="stop")
    assert info.value.step == 5 and info.value.tensor == "bias"
    four = load_tensors(tmp_path / "four" / "last.safetensors")
    for k, v in diverged.model.parameters().items():
        np.testing.assert_array_equal(v, four[k], err_msg=k)  # step 5 changed nothing
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["stopped"] == "diverged"


def test_non_finite_loss_is_reported_as_the_loss(tmp_path):
    with pytest.raises(DivergenceError, match="at step 3: the loss is nan"):
        fit(tmp_path, objective=Regression(poison={3}, what="loss"), on_nan="stop")


def test_an_overflow_caught_by_a_layer_is_a_divergence_too(tmp_path):
    with pytest.raises(DivergenceError, match="at step 2: a non-finite value inside the forward or backward pass "
                                              r"\(dout: expected finite values"):
        fit(tmp_path, objective=Regression(poison={2}, what="overflow"), on_nan="stop")
    _, summary = fit(tmp_path, "rolled", objective=Regression(poison={2}, what="overflow"))
    assert summary["rollbacks"] == 1 and summary["steps"] == 12


def test_rollback_halves_the_lr_and_the_halving_survives_resume(tmp_path, monkeypatch):
    _, summary = fit(tmp_path, objective=Regression(poison={8}), checkpoint_every=5)
    assert summary["steps"] == 12 and summary["rollbacks"] == 1 and summary["lr_scale"] == 0.5
    lrs = [r["lr"] for r in steps_of(tmp_path / "run")]
    assert lrs == [0.05] * 5 + [0.025] * 7  # steps 6.. were redone at half the rate
    # the same run, stopped by Ctrl-C after the rollback and resumed, ends identical
    original = Regression.train_step

    def interrupt_at_10(self, x):
        if self.calls + 1 == 10:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, x)

    monkeypatch.setattr(Regression, "train_step", interrupt_at_10)
    _, first = fit(tmp_path, "cut", objective=Regression(poison={8}), checkpoint_every=5)
    assert first["stopped"] == "interrupted" and first["steps"] == 9 - 3 + 1  # rolled back from 7 to 5, then 6, 7
    monkeypatch.setattr(Regression, "train_step", original)
    config = TrainConfig(max_steps=12, quiet=True, lr=0.05, checkpoint_every=5).check()
    trainer = Trainer(Regression(), config, Run(tmp_path / "cut"))
    trainer.resume()
    assert trainer.state.lr_scale == 0.5 and trainer.state.rollbacks == 1
    second = trainer.fit()
    assert second["steps"] == 12
    want, got = load_tensors(tmp_path / "run" / "last.safetensors"), load_tensors(tmp_path / "cut" / "last.safetensors")
    for k in want:
        np.testing.assert_array_equal(want[k], got[k])
    assert without_time(steps_of(tmp_path / "cut")) == without_time(steps_of(tmp_path / "run"))


def test_rollbacks_are_limited(tmp_path):
    with pytest.raises(DivergenceError, match=r"gradient of 'bias'.*after 2 rollback\(s\)"):
        fit(tmp_path, objective=Regression(from_call=4), max_rollbacks=2)
    state = json.loads((tmp_path / "run" / "state.json").read_text())["train"]
    assert state["rollbacks"] == 2 and state["lr_scale"] == 0.25 and state["step"] == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stopped"] == "diverged" and "bias" in summary["diverged"]


def test_step_log_and_summary_extras(tmp_path):
    _, summary = fit(tmp_path, clip=0.5, eval_every=5)
    records = steps_of(tmp_path / "run")
    assert [r["step"] for r in records] == list(range(1, 13))
    assert all(set(r) == STEP_KEYS for r in records)
    assert any(r["clipped"] for r in records) and all(r["clipped"] == (r["grad_norm"] > 0.5) for r in records)
    assert all(isinstance(r["loss"], float) and np.isfinite(r["loss"]) for r in records)
    times = [r["time"] for r in records]
    assert times == sorted(times)
    assert summary["baseline_val_loss"] == 1.25
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["baseline_val_loss"] == 1.25


def test_a_checkpoint_exists_before_the_first_step(tmp_path, monkeypatch):
    def crash(self, x):
        raise KeyboardInterrupt  # as if killed during the first step

    monkeypatch.setattr(Regression, "train_step", crash)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["step"] == 0
    assert json.loads((tmp_path / "run" / "state.json").read_text())["train"]["step"] == 0


def test_resume_refuses_a_corrupted_or_inconsistent_checkpoint(tmp_path):
    fit(tmp_path, checkpoint_every=4)
    run = Run(tmp_path / "run")
    path = run.file("last.safetensors")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    trainer = Trainer(Regression(), TrainConfig(max_steps=12, quiet=True), run)
    with pytest.raises(RunError, match=r"last.safetensors: checksum mismatch"):
        trainer.resume()
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    # a state.json of another step, committed on its own: the files disagree
    info = json.loads(run.file("state.json").read_text())
    info["train"]["step"] = 8
    run.commit({"state.json": json.dumps(info).encode()})
    with pytest.raises(RunError, match=r"disagree.*state.json at step 8.*last.safetensors at step 12"):
        trainer.resume()


@pytest.mark.parametrize("states", [{"": {"bit_generator": "PCG64", "state": "x"}}, {"": None}, {"": {}},
                                    {"other": {}}, [1]])
def test_bad_random_generator_states_are_run_errors(states):
    from rnnkit.nn.layers import Dropout
    from rnnkit.train.state import restore_rngs as _restore_rngs

    with pytest.raises(RunError, match="state.json: "):
        _restore_rngs(Dropout(0.5, seed=0), states, "state.json")


@pytest.mark.parametrize("options, paired", [({}, True), ({"layer_norm": True}, False), ({"zoneout": 0.1}, False)])
def test_training_runs_with_blas_at_one_thread_when_every_recurrent_layer_splits_its_work(options, paired):
    """Layers that split their batch over the cores train inside pairs_only (no BLAS worker spinning beside
    them); a model with a variant cell, whose steps lean on BLAS's own threads, trains as it is."""
    pytest.importorskip("numba", reason='the compiled loops: pip install "rnnkit[fast]"')
    from rnnkit._fast import PAIRS, blas, parallel
    from rnnkit.nn import LSTM, Module
    from rnnkit.train.trainer import cores_for_pairs
    if parallel.CORES < 2 or blas.set_threads() is None:
        pytest.skip("pairs need two cores and OpenBLAS's thread control")

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = LSTM(3, 4, **options), Linear(4, 2)
    threads = blas.set_threads()(2)
    try:
        with cores_for_pairs(Net()):
            assert (PAIRS["depth"], blas.get_threads()()) == ((1, 1) if paired else (0, 2))
        assert (PAIRS["depth"], blas.get_threads()()) == (0, 2)
        with cores_for_pairs(Linear(3, 2)):                      # no recurrent layer: nothing to pair
            assert PAIRS["depth"] == 0
    finally:
        blas.set_threads()(threads)
