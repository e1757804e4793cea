"""A linear-chain conditional random field over per-step scores: its negative log-likelihood and gradients.

Legend: B batch, T steps, M tags; lengths (B,) in 1..T, sentences right-padded.

Given the emission scores E_t(j) of a recurrent layer's head, a transition score A(i, j) for tag j
right after tag i, and start and end scores s(j), e(j), a tag sequence y_1..y_L scores

    score(y) = s(y_1) + Σ_{t=1..L} E_t(y_t) + Σ_{t=2..L} A(y_{t−1}, y_t) + e(y_L)

and p(y | x) = exp(score(y)) / Z over every sequence. log Z comes from the forward recursion

    α_1(j) = s(j) + E_1(j),   α_t(j) = logsumexp_i [α_{t−1}(i) + A(i, j)] + E_t(j),   log Z = logsumexp_j [α_L(j) + e(j)]

and the backward one, β_L(i) = e(i), β_t(i) = logsumexp_j [A(i, j) + E_{t+1}(j) + β_{t+1}(j)], gives the
marginals that are the gradients of log Z:

    ∂ log Z / ∂E_t(j)  = p(y_t = j)               = exp(α_t(j) + β_t(j) − log Z)
    ∂ log Z / ∂A(i, j) = Σ_t p(y_{t−1} = i, y_t = j) = Σ_t exp(α_{t−1}(i) + A(i, j) + E_t(j) + β_t(j) − log Z)
    ∂ log Z / ∂s(j)    = p(y_1 = j),               ∂ log Z / ∂e(j) = p(y_L = j)

The loss is Σ_b (log Z_b − score(y_b)) / Σ_b L_b, the negative log-likelihood per real step, so its
scale matches a per-step cross-entropy; each gradient is the marginals less the gold sequence's counts,
over the same denominator. Transitions a task forbids are given as a mask (:func:`effective`) and score
−∞: they keep probability 0 in training and decoding. Every tag must keep at least one allowed
predecessor and successor (IOB2's masks do: O and B-X may follow anything), so no log-sum is over −∞ alone.
Reference: Lafferty et al., "Conditional Random Fields", ICML 2001; Lample et al., NAACL 2016.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

BLOCKED = -np.inf  # the score of a forbidden transition or start


class CRFCache(NamedTuple):
    alpha: np.ndarray      # (B, T, M) forward log-scores, carried unchanged over the padding
    beta: np.ndarray       # (B, T, M) backward log-scores
    log_z: np.ndarray      # (B,)
    emissions: np.ndarray  # (B, T, M)
    transitions: np.ndarray  # (M, M) with the blocked ones applied
    tags: np.ndarray       # (B, T) gold ids
    real: np.ndarray       # (B, T) bool, the real steps
    words: int             # Σ_b L_b


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))


def effective(transitions, start, end, allowed=None, first=None):
    """(A, s, e) with the forbidden entries (``allowed`` (M, M), ``first`` (M,) False) set to BLOCKED."""
    if allowed is None:
        return transitions, start, end
    return (np.where(allowed, transitions, BLOCKED), np.where(first, start, BLOCKED), end)


def crf_forward(emissions, tags, lengths, transitions, start, end):
    """emissions (B, T, M), tags (B, T) ints, lengths (B,), transitions (M, M), start, end (M,) ->
    (loss, CRFCache): the mean negative log-likelihood per real step (see the module docstring)."""
    B, T, M = emissions.shape
    lengths = np.asarray(lengths)
    real = np.arange(T)[None, :] < lengths[:, None]                            # (B, T)
    alpha = np.empty((B, T, M), emissions.dtype)
    alpha[:, 0] = start + emissions[:, 0]
    for t in range(1, T):
        step = _logsumexp(alpha[:, t - 1, :, None] + transitions, axis=1) + emissions[:, t]
        alpha[:, t] = np.where(real[:, t, None], step, alpha[:, t - 1])
    beta = np.empty((B, T, M), emissions.dtype)
    beta[:, T - 1] = end
    for t in range(T - 2, -1, -1):
        step = _logsumexp(transitions + (emissions[:, t + 1] + beta[:, t + 1])[:, None, :], axis=2)
        beta[:, t] = np.where(real[:, t + 1, None], step, end)
    log_z = _logsumexp(alpha[:, T - 1] + end, axis=1)                          # (B,)
    rows = np.arange(B)
    last = tags[rows, lengths - 1]
    gold = (start[tags[:, 0]] + (emissions[rows[:, None], np.arange(T), tags] * real).sum(axis=1)
            + (transitions[tags[:, :-1], tags[:, 1:]] * real[:, 1:]).sum(axis=1) + end[last])
    words = int(lengths.sum())
    loss = float((log_z - gold).sum() / words)
    return loss, CRFCache(alpha, beta, log_z, emissions, transitions, tags, real, words)


def crf_backward(cache: CRFCache):
    """-> (demissions (B, T, M), dtransitions (M, M), dstart (M,), dend (M,)) of the loss."""
    alpha, beta, log_z, emissions, transitions, tags, real, words = cache
    B, T, M = emissions.shape
    marginal = np.exp(alpha + beta - log_z[:, None, None]) * real[:, :, None]  # p(y_t = j)
    onehot = np.eye(M, dtype=emissions.dtype)[tags] * real[:, :, None]       # the gold tags
    demissions = (marginal - onehot) / words
    pairs = np.exp(alpha[:, :-1, :, None] + transitions + (emissions[:, 1:] + beta[:, 1:])[:, :, None, :]
                   - log_z[:, None, None, None]) * real[:, 1:, None, None]   # (B, T−1, M, M)
    gold_pairs = onehot[:, :-1, :, None] * onehot[:, 1:, None, :]
    dtransitions = (pairs - gold_pairs).sum(axis=(0, 1)) / words
    dstart = (marginal[:, 0] - onehot[:, 0]).sum(axis=0) / words
    lengths = real.sum(axis=1)
    rows = np.arange(B)
    dend = (marginal[rows, lengths - 1] - onehot[rows, lengths - 1]).sum(axis=0) / words
    return demissions, dtransitions, dstart, dend


def crf_viterbi(emissions, lengths, transitions, start, end) -> np.ndarray:
    """The sequence of highest score(y) for each sentence: emissions (B, T, M) -> (B, T) ids (ids past a
    sentence's length repeat its last one)."""
    B, T, M = emissions.shape
    lengths = np.asarray(lengths)
    delta = start + emissions[:, 0]
    back = np.empty((B, T, M), dtype=np.int64)
    back[:, 0] = np.arange(M)
    for t in range(1, T):
        totals = delta[:, :, None] + transitions
        live = (t < lengths)[:, None]
        back[:, t] = np.where(live, totals.argmax(axis=1), np.arange(M))
        delta = np.where(live, totals.max(axis=1) + emissions[:, t], delta)
    best = np.empty((B, T), dtype=np.int64)
    best[:, T - 1] = (delta + end).argmax(axis=1)
    rows = np.arange(B)
    for t in range(T - 1, 0, -1):
        best[:, t - 1] = back[rows, t, best[:, t]]
    return best
