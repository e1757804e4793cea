"""rnnkit.sampling: temperature, top-k and top-p, then a draw."""
import numpy as np
import pytest

from rnnkit.sampling import draw, next_token_probs

LOGITS = np.log(np.array([0.5, 0.3, 0.15, 0.05]))


def test_temperature_one_gives_the_softmax():
    np.testing.assert_allclose(next_token_probs(LOGITS), [0.5, 0.3, 0.15, 0.05], rtol=1e-12)


def test_temperature_sharpens_and_flattens():
    cold, hot = next_token_probs(LOGITS, 0.5), next_token_probs(LOGITS, 2.0)
    want = np.array([0.5, 0.3, 0.15, 0.05]) ** 2
    np.testing.assert_allclose(cold, want / want.sum(), rtol=1e-12)
    assert hot[0] < 0.5 < cold[0] and hot.sum() == pytest.approx(1) and cold.sum() == pytest.approx(1)


def test_top_k_keeps_the_k_largest_renormalised():
    np.testing.assert_allclose(next_token_probs(LOGITS, top_k=2), [0.625, 0.375, 0, 0], rtol=1e-12)


def test_top_p_keeps_the_smallest_set_reaching_p():
    np.testing.assert_allclose(next_token_probs(LOGITS, top_p=0.7), [0.625, 0.375, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(next_token_probs(LOGITS, top_p=0.01), [1, 0, 0, 0])


def test_draw_follows_the_probabilities():
    rng = np.random.default_rng(0)
    counts = np.bincount([draw(np.array([0.2, 0.0, 0.8]), rng.random()) for _ in range(4000)], minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 4000 - 0.8) < 0.03
