"""A real `rnnkit train` killed with SIGKILL at random moments, resumed each time, ends bit-identical.

The reference is the same configuration trained without interruption. The killed run is a
subprocess (``python -m rnnkit train charlm ...``), SIGKILLed several times mid-epoch after its
manifest reports a step of at least k (a random delay later, so the kill lands anywhere: inside a
step, a checkpoint commit, an evaluation), and continued with ``rnnkit train --resume`` until it
finishes. Dropout, a carried TBPTT state and Adam's moments are all in play.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnkit.tasks import charlm
from rnnkit.train.checkpoint import load_tensors

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 120
OPTIONS = dict(hidden=16, layers=1, embed=8, batch_size=4, bptt=10, max_steps=200, eval_every=50,
               checkpoint_every=4, dropout=0.1, lr=1e-2, seed=3)
KILL_AFTER = (8, 60, 120)  # the manifest's step must reach these before each kill
MAX_DELAY = 0.03  # seconds: a few steps at most, so the kill lands mid-run even on a fast machine
ENV = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def cli_args(corpus: Path, out: Path) -> list[str]:
    args = ["train", "charlm", str(corpus), "--quiet", "--out", str(out)]
    for k, v in OPTIONS.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def manifest_step(run: Path) -> int:
    try:
        return json.loads((run / "manifest.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return -1


def kill_when(proc: subprocess.Popen, run: Path, step: int, rng: random.Random, timeout: float = 60) -> bool:
    """SIGKILL ``proc`` a random moment after its manifest reaches ``step``; False if it finished first."""
    deadline = time.monotonic() + timeout
    while manifest_step(run) < step:
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the training subprocess made no progress"
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, MAX_DELAY))
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return not (run / "summary.json").exists()  # killed after it had finished: not an interruption


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    reference = charlm.train(charlm.Config(data=[str(corpus)], out=str(tmp_path / "ref"), quiet=True, **OPTIONS))
    cut = tmp_path / "cut"
    rng = random.Random(os.getpid())
    command = [sys.executable, "-m", "rnnkit"]
    proc = subprocess.Popen(command + cli_args(corpus, cut), env=ENV, stderr=subprocess.PIPE)
    kills = 0
    for step in KILL_AFTER:
        if not kill_when(proc, cut, step, rng):
            break
        kills += 1
        proc = subprocess.Popen(command + ["train", "--resume", str(cut)], env=ENV, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert kills >= 2, "the run finished before it could be killed twice: make it longer"

    summary = json.loads((cut / "summary.json").read_text())
    assert summary["steps"] == reference["steps"] == OPTIONS["max_steps"]
    for name in ("last.safetensors", "best.safetensors"):
        want, got = load_tensors(tmp_path / "ref" / name), load_tensors(cut / name)
        assert set(want) == set(got)
        for k in want:
            np.testing.assert_array_equal(want[k], got[k], err_msg=f"{name}: {k}")
    ref_steps, cut_steps = jsonl(tmp_path / "ref" / "steps.jsonl"), jsonl(cut / "steps.jsonl")
    assert [r["step"] for r in cut_steps] == list(range(1, OPTIONS["max_steps"] + 1))
    assert without_time(cut_steps) == without_time(ref_steps)
    assert without_time(jsonl(cut / "metrics.jsonl")) == without_time(jsonl(tmp_path / "ref" / "metrics.jsonl"))
    assert not [p.name for p in cut.iterdir() if p.name.endswith((".tmp", ".next"))]
