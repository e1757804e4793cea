"""Length-bucketed batches: every example once per epoch, ⌈N / B⌉ batches, little padding, seeded."""
from __future__ import annotations

import numpy as np

from rnnkit.data.batching import bucket_batches


def test_bucket_batches():
    lengths = np.random.default_rng(0).integers(1, 60, size=1000)
    batches = bucket_batches(lengths, 32, np.random.default_rng([0, 1]), pool=10)
    assert len(batches) == -(-1000 // 32)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert padded < 1.2 * lengths.sum()  # a random batch of 32 pads about 1.9x
    again = bucket_batches(lengths, 32, np.random.default_rng([0, 1]), pool=10)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = bucket_batches(lengths, 32, np.random.default_rng([0, 2]), pool=10)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))
