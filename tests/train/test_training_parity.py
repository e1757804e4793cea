"""Training-loop parity: rnnkit's Trainer follows PyTorch's loop loss for loss over 200 float64 steps.

For charlm, classify and tag (each without and with dropout), ``tests/fixtures/torch_training.npz``
holds the initial weights, the first 200 batches the task's Trainer draws, and the losses and
gradient norms of a PyTorch model of the same layers trained on them with Adam and clip_grad_norm_
(see ``tests/fixtures/make_torch_training_fixtures.py`` and docs/training-parity.md). Here the task's
own objective and model, built as its ``train()`` builds them, start from those weights and run
through the real :class:`~rnnkit.train.trainer.Trainer` (optimizer, clipping, schedule, evaluation at
the end of each epoch) on those batches.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnkit.train.run import Run
from rnnkit.train.trainer import Trainer
from tests.fixtures import training_cases as tc

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "torch_training.npz"
CASES = [f"{task}{suffix}" for task in tc.CASES for suffix in ("", "_dropout")]


@pytest.fixture(scope="module")
def recorded():
    with np.load(FIXTURE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def case_arrays(recorded: dict, case: str) -> dict:
    """The task's weights and batches with the case's options and losses, keys without their prefix."""
    out = {}
    for prefix in (case.split("_")[0] + ".", case + "."):
        out |= {k[len(prefix):]: v for k, v in recorded.items() if k.startswith(prefix)}
    return out


def replay(case: str, arrays: dict, tmp_path) -> tuple[list[dict], object]:
    """Train the task's objective from the recorded weights on the recorded batches; the step records."""
    task = case.split("_")[0]
    options = json.loads(arrays["config"].tobytes())
    cfg = tc.config(task, out=str(tmp_path / case), dropout=options["dropout"])
    obj = tc.objective(task, cfg)
    obj.model.load_state_dict({k[5:]: v for k, v in arrays.items() if k.startswith("init.")})
    batches = iter(tc.unpack_batches(task, {k[6:]: v for k, v in arrays.items() if k.startswith("batch.")}))
    obj.batches = lambda rng: batches   # every epoch takes up where the last one stopped
    run = Run.create(tmp_path / case)
    Trainer(obj, cfg, run).fit()
    return run.read_jsonl("steps.jsonl"), obj


@pytest.mark.parametrize("case", CASES)
def test_losses_follow_pytorch_for_200_steps(case, recorded, tmp_path):
    arrays = case_arrays(recorded, case)
    steps, _ = replay(case, arrays, tmp_path)
    loss = np.array([s["loss"] for s in steps])
    norm = np.array([s["grad_norm"] for s in steps])
    assert len(loss) == tc.STEPS
    # the issue asks for 1e-4; in float64 the two agree to rounding (4e-16 here), so ask for much more
    np.testing.assert_allclose(loss, arrays["loss"], rtol=1e-8, atol=0)
    np.testing.assert_allclose(norm, arrays["grad_norm"], rtol=1e-8, atol=0)
    clipped = np.array([s["clipped"] for s in steps])
    assert 0 < clipped.sum() < tc.STEPS                                    # clipping was exercised
    assert arrays["loss"][-20:].mean() < arrays["loss"][:20].mean()        # and the model learnt


def test_epoch_starts_are_where_the_trainer_starts_them(recorded):
    """The recorded charlm stream never crosses an epoch (its state is reset only at step 0)."""
    starts = case_arrays(recorded, "charlm")["epoch_start"]
    assert starts[0] and not starts[1:].any()
