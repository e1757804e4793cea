"""Attention's functional pairs: float64 finite-difference checks of every gradient, masking, and the
weights and context against a loop over (b, t, j) written from the equations."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.attention import bahdanau_backward, bahdanau_forward, luong_backward, luong_forward, source_mask
from tests.conftest import numeric_grad

B, T, S, Q, K, A = 3, 4, 5, 6, 7, 8
LENGTHS = np.array([5, 2, 4])


def inputs(rng):
    return {"query": rng.standard_normal((B, T, Q)), "keys": rng.standard_normal((B, S, K)),
            "weight": 0.3 * rng.standard_normal((Q, K)), "w_query": 0.4 * rng.standard_normal((A, Q)),
            "w_key": 0.4 * rng.standard_normal((A, K)), "v": rng.standard_normal(A)}


def run(kind, x, mask):
    if kind == "luong":
        return luong_forward(x["query"], x["keys"], x["weight"], mask)
    return bahdanau_forward(x["query"], x["keys"], x["w_query"], x["w_key"], x["v"], mask)


def reference_scores(kind, x):
    """e_{b,t,j} by loops over the equations of the module docstring."""
    e = np.zeros((B, T, S))
    for b in range(B):
        for t in range(T):
            for j in range(S):
                s, h = x["query"][b, t], x["keys"][b, j]
                e[b, t, j] = s @ x["weight"] @ h if kind == "luong" else \
                    x["v"] @ np.tanh(x["w_query"] @ s + x["w_key"] @ h)
    return e


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_weights_and_context_follow_the_equations(kind, rng):
    x = inputs(rng)
    context, alpha, _ = run(kind, x, source_mask(LENGTHS, S))
    e = reference_scores(kind, x)
    for b, n in enumerate(LENGTHS):
        w = np.exp(e[b, :, :n] - e[b, :, :n].max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(alpha[b, :, :n], w, rtol=1e-12)
        assert np.all(alpha[b, :, n:] == 0)                       # padding gets no weight
        np.testing.assert_allclose(context[b], w @ x["keys"][b, :n], rtol=1e-12)
    np.testing.assert_allclose(alpha.sum(axis=-1), 1.0)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_padded_keys_do_not_matter(kind, rng):
    x = inputs(rng)
    mask = source_mask(LENGTHS, S)
    c1, a1, _ = run(kind, x, mask)
    x["keys"] = np.where(mask[..., None], x["keys"], 1e3 * rng.standard_normal((B, S, K)))
    c2, a2, _ = run(kind, x, mask)
    np.testing.assert_allclose(c1, c2, rtol=1e-12)
    np.testing.assert_array_equal(a1, a2)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("with_dalpha", [True, False])
def test_gradients_match_finite_differences(kind, masked, with_dalpha, rng):
    x = inputs(rng)
    mask = source_mask(LENGTHS, S) if masked else None
    G = rng.standard_normal((B, T, K))                            # upstream dL/dc
    Ga = rng.standard_normal((B, T, S)) if with_dalpha else None  # upstream dL/dα

    def loss():
        context, alpha, _ = run(kind, x, mask)
        return np.sum(G * context) + (np.sum(Ga * alpha) if with_dalpha else 0.0)

    _, _, cache = run(kind, x, mask)
    if kind == "luong":
        names, grads = ("query", "keys", "weight"), luong_backward(G, Ga, cache)
    else:
        names, grads = ("query", "keys", "w_query", "w_key", "v"), bahdanau_backward(G, Ga, cache)
    for name, analytic in zip(names, grads):
        numeric = numeric_grad(loss, x[name])
        scale = max(np.abs(numeric).max(), 1e-3)
        assert np.abs(analytic - numeric).max() / scale < 1e-7, name
    if masked:
        assert np.all(grads[1][~mask] == 0)                       # no gradient reaches padded keys


def test_source_mask():
    np.testing.assert_array_equal(source_mask([2, 0, 3], 3), [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
