"""Fuzzing what a run directory's JSON files feed: config.json, vocab.json and state.json.

Each file is mutated (a value anywhere replaced by a random JSON value, a key added or removed, or
the bytes damaged), committed so that its checksum matches, and read the way ``--resume`` and
``rnnkit.load`` read it. Every outcome is a working object or a RunError naming the file; the run
directory is never changed by a failed read.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.vocab import Vocab
from rnnkit.errors import RunError
from rnnkit.tasks import charlm
from rnnkit.tasks.base import open_task_run
from rnnkit.train.config import TrainConfig
from rnnkit.train.run import Run
from rnnkit.train.trainer import Trainer
from tests.conftest import directory_snapshot, fuzzed_bytes
from tests.train.test_trainer import Regression, fit

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


@st.composite
def mutated(draw, obj):
    """``obj`` with one change at a random place: a value replaced, a key added, or a key removed."""
    if isinstance(obj, (dict, list)) and obj and draw(st.integers(0, 3)) > 0:
        keys = sorted(obj) if isinstance(obj, dict) else list(range(len(obj)))
        key = draw(st.sampled_from(keys))
        out = dict(obj) if isinstance(obj, dict) else list(obj)
        action = draw(st.sampled_from(["descend", "descend", "remove"]))
        if action == "remove":
            del out[key]
        else:
            out[key] = draw(mutated(obj[key]))
        return out
    if isinstance(obj, dict) and draw(st.booleans()):
        return obj | {draw(st.text(max_size=8)): draw(JSON_VALUES)}
    return draw(JSON_VALUES)


def file_variants(obj):
    text = json.dumps(obj).encode()
    return st.one_of(mutated(obj).map(lambda o: json.dumps(o).encode()), fuzzed_bytes(text))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    (base / "corpus.txt").write_text("abc def, ghi.\n" * 40)
    summary = charlm.train(charlm.Config(data=[str(base / "corpus.txt")], hidden=8, layers=1, embed=4,
                                         batch_size=2, bptt=8, max_steps=4, quiet=True, out=str(base / "lm")))
    fit(base, "regression", checkpoint_every=4)
    return {"lm": Path(summary["run"]), "regression": base / "regression"}


def read_copy(source: Path, name: str, data: bytes, reader):
    """Copy the run, commit ``data`` as ``name``, and apply ``reader``; the result or the RunError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run"
        shutil.copytree(source, path)
        Run(path).commit({name: data}) if name == "state.json" else (path / name).write_bytes(data)
        before = directory_snapshot(path)
        try:
            result = reader(path)
        except RunError as exc:
            assert str(path) in str(exc), str(exc)  # names the run or one of its files
            result = exc
        assert directory_snapshot(path) == before
        return result


# FUZZ_EXAMPLES=400 for a longer search
SLOW = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(data=st.data())
def test_config_json(runs, data):
    stored = json.loads((runs["lm"] / "config.json").read_text())
    result = read_copy(runs["lm"], "config.json", data.draw(file_variants(stored)),
                       lambda p: open_task_run(p, "charlm", charlm.Config))
    if not isinstance(result, RunError):
        run, config = result
        assert isinstance(config, charlm.Config) and config.check() is config


@SLOW
@given(data=st.data())
def test_vocab_json(runs, data):
    stored = json.loads((runs["lm"] / "vocab.json").read_text())
    result = read_copy(runs["lm"], "vocab.json", data.draw(file_variants(stored)), charlm.load)
    if not isinstance(result, RunError):
        assert isinstance(result.vocab, Vocab) and len(result.vocab) == len(stored["tokens"])


@SLOW
@given(data=st.data())
def test_state_json(runs, data):
    stored = json.loads((runs["regression"] / "state.json").read_text())

    def resume(path):
        trainer = Trainer(Regression(), TrainConfig(max_steps=12, quiet=True), Run(path))
        trainer.resume()
        return trainer

    result = read_copy(runs["regression"], "state.json", data.draw(file_variants(stored)), resume)
    if not isinstance(result, RunError):
        assert result.state.step == 12 and result.state.lr_scale >= 0
