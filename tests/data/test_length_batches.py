"""Evaluation batches by length: every sequence once, sorted and cut; by_length gives each its part back."""
from __future__ import annotations

import numpy as np

from rnnkit.data.batching import by_length, length_batches


def test_length_batches_sort_stably_and_cut():
    batches = length_batches([3, 1, 2, 1, 5], 2)
    assert [b.tolist() for b in batches] == [[1, 3], [2, 0], [4]]


def test_by_length_gives_each_sequence_its_own_part_in_order():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)) for n in (4, 1, 7, 2, 2, 5)]
    calls = []

    def fn(x, lengths):
        calls.append(x.shape)
        return 2 * x + lengths[:, None, None]
    out = by_length(seqs, fn, 4)
    assert calls == [(4, 4, 3), (2, 7, 3)]       # four short ones padded to 4, then 5 and 7
    for s, o in zip(seqs, out, strict=True):
        np.testing.assert_allclose(o, 2 * s + len(s))
