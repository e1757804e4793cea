"""Shared fixtures of the interop tests: the recorded files and one tiny trained charlm run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TORCH_DIR = FIXTURES / "torch_interop"
TEXT = "the quick brown fox jumps over the lazy dog.\n" * 40


def records(path: Path, case: str) -> dict[str, np.ndarray]:
    """The arrays ``<case>.<key>`` of a fixture .npz as ``{key: array}``."""
    with np.load(path, allow_pickle=False) as f:
        return {k[len(case) + 1:]: f[k] for k in f.files if k.startswith(case + ".")}


@pytest.fixture(scope="session")
def charlm_run(tmp_path_factory) -> Path:
    """A 2-layer LSTM charlm run trained for a few steps (weights in best/last.safetensors)."""
    from rnnkit.tasks import charlm

    tmp = tmp_path_factory.mktemp("charlm")
    (tmp / "corpus.txt").write_text(TEXT)
    config = charlm.Config(data=[str(tmp / "corpus.txt")], hidden=12, layers=2, embed=6, batch_size=4, bptt=10,
                           max_steps=3, eval_every=3, out=str(tmp / "run"), quiet=True)
    return Path(charlm.train(config)["run"])
