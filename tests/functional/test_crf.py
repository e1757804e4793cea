"""The linear-chain CRF: log Z and the best sequence against every sequence, gradients by finite differences."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.functional.crf import crf_backward, crf_forward, crf_viterbi, effective

M = 4
ALLOWED = np.ones((M, M), bool)
ALLOWED[0, 2] = ALLOWED[3, 2] = False       # tag 2 ("I-X") only after 1 ("B-X") or itself
FIRST = np.array([True, True, False, True])


def _case(seed, masked):
    rng = np.random.default_rng(seed)
    B, T = 3, 4
    lengths = np.array([4, 2, 1])
    tags = rng.integers(0, M, size=(B, T))
    tags[:, :] = np.where(tags == 2, 1, tags)   # valid under the mask: no tag 2 at all
    params = [rng.normal(size=s) for s in ((B, T, M), (M, M), (M,), (M,))]
    return params, tags, lengths, (ALLOWED, FIRST) if masked else (None, None)


def _score(seq, e, A, s, end):
    return s[seq[0]] + sum(e[t, k] for t, k in enumerate(seq)) + sum(A[a, b] for a, b in zip(seq, seq[1:])) + end[seq[-1]]


def _sequences(n, allowed, first):
    for seq in itertools.product(range(M), repeat=n):
        if allowed is None or (first[seq[0]] and all(allowed[a, b] for a, b in zip(seq, seq[1:]))):
            yield seq


def _loss(params, tags, lengths, mask):
    e, A, s, end = params
    return crf_forward(e, tags, lengths, *effective(A, s, end, *mask))


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_the_loss_and_best_sequence_are_those_of_every_sequence(seed, masked):
    params, tags, lengths, mask = _case(seed, masked)
    e, A, s, end = params
    A_eff, s_eff, end_eff = effective(A, s, end, *mask)
    total, best = 0.0, crf_viterbi(e, lengths, A_eff, s_eff, end_eff)
    for b, n in enumerate(lengths):
        scores = {seq: _score(seq, e[b], A_eff, s_eff, end_eff) for seq in _sequences(n, *mask)}
        log_z = np.log(np.exp(list(scores.values())).sum())
        total += log_z - _score(tuple(tags[b, :n]), e[b], A_eff, s_eff, end_eff)
        assert tuple(best[b, :n]) == max(scores, key=scores.get)
    loss, cache = _loss(params, tags, lengths, mask)
    assert loss == pytest.approx(total / lengths.sum(), rel=1e-10)
    assert np.isfinite(crf_backward(cache)[1]).all()


@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_finite_differences(masked):
    params, tags, lengths, mask = _case(7, masked)
    grads = crf_backward(_loss(params, tags, lengths, mask)[1])
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + h
            up = _loss(params, tags, lengths, mask)[0]
            p[i] = keep - h
            down = _loss(params, tags, lengths, mask)[0]
            p[i] = keep
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)
    demissions = grads[0]
    assert not demissions[1, 2:].any() and not demissions[2, 1:].any()   # padding gets no gradient


def test_a_blocked_transition_gets_no_probability_and_no_gradient():
    params, tags, lengths, mask = _case(1, True)
    _, dA, dstart, _ = crf_backward(_loss(params, tags, lengths, mask)[1])
    assert dA[0, 2] == 0 and dA[3, 2] == 0 and dstart[2] == 0
