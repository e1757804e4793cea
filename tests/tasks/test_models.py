"""Many-to-one and many-to-many models: gradients through heads, final states and embeddings."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.tasks.models import ManyToMany, ManyToOne

LENGTHS = [5, 2, 4]


@pytest.mark.parametrize("cls", [ManyToOne, ManyToMany])
@pytest.mark.parametrize("cell", [rk.LSTM, rk.GRU])
def test_feature_inputs_gradcheck(cls, cell):
    rng = np.random.default_rng(0)
    model = cls(cell(3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0), out_dim=2,
                dropout=0.3, seed=0)
    assert rk.gradcheck(model, rng.standard_normal((3, 5, 3)), lengths=LENGTHS) <= 1e-6


@pytest.mark.parametrize("cls", [ManyToOne, ManyToMany])
@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_heads_are_sized_by_the_projection_and_the_merge(cls, merge_mode):
    """Many-to-many reads the merged outputs (P, or K·P concatenated), many-to-one the final states (K·P)."""
    rng = np.random.default_rng(3)
    rnn = rk.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2, merge_mode=merge_mode, dtype="float64", seed=0)
    model = cls(rnn, out_dim=2, seed=0)
    width = 4 if cls is ManyToOne or merge_mode == "concat" else 2
    assert model.head.in_features == width
    assert rk.gradcheck(model, rng.standard_normal((3, 5, 3)), eps=1e-3, lengths=LENGTHS) <= 1e-6


@pytest.mark.parametrize("cls", [ManyToOne, ManyToMany])
def test_token_inputs_gradcheck(cls):
    rng = np.random.default_rng(1)
    model = cls(rk.RNN(6, 4, dtype="float64", seed=0), out_dim=3, vocab_size=7, embed=6, seed=0)
    errors = rk.gradcheck_errors(model, rng.integers(0, 7, (3, 5)), lengths=LENGTHS)
    assert "embedding.weight" in errors and max(errors.values()) <= 1e-6


def test_many_to_one_reads_each_sequence_at_its_own_end():
    rng = np.random.default_rng(2)
    model = ManyToOne(rk.GRU(3, 4, bidirectional=True, dtype="float64", seed=0), out_dim=2, seed=0)
    x = rng.standard_normal((3, 5, 3))
    batch = model.forward(x, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(batch[b], model.forward(x[b:b + 1, :n])[0], atol=1e-12)
