"""Attention: a decoder state looks back over the encoder's outputs (many-to-many, unaligned).

Legend: B batch, S source steps (keys), T target steps (queries), Q query size (decoder H),
K key size (encoder output size), A attention size (additive scores).

For one query s_t (the decoder's hidden state at step t) and the keys h_1 … h_S (the encoder's
outputs), every form computes a score e_{t,j}, the weights α and the context c_t:

    α_{t,j} = exp(e_{t,j}) / Σ_{j' ≤ S_b} exp(e_{t,j'})       (padded source steps j > S_b get α = 0)
    c_t     = Σ_j α_{t,j} h_j

    luong (general):   e_{t,j} = s_tᵀ W_a h_j                       W_a (Q, K)
    bahdanau (concat): e_{t,j} = vᵀ tanh(W_q s_t + W_k h_j)         W_q (A, Q), W_k (A, K), v (A,)

The softmax and the weighted sum are shared (``_attend`` / ``_attend_backward``); each form adds its
score function. Both take all T queries at once: the decoder RNN runs first over the whole target
(teacher forcing) and attention follows for every step in one batched product, as in Luong et al.
(2015). Backward, with G = dL/dc and dα the gradient reaching the weights directly:

    dα_total = G Hᵀ + dα                                         (B, T, S)
    de       = α ⊙ (dα_total − Σ_j α_j dα_total,j)               softmax backward, zero on padding
    dH      += αᵀ G                                              the keys were summed with weights α

References: Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine
Translation", EMNLP 2015; Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning
to Align and Translate", ICLR 2015.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class AttendCache(NamedTuple):
    keys: np.ndarray    # (B, S, K)
    alpha: np.ndarray   # (B, T, S) the weights


class LuongCache(NamedTuple):
    query: np.ndarray   # (B, T, Q)
    proj: np.ndarray    # (B, S, Q) the keys through W_a: h_j W_aᵀ
    weight: np.ndarray  # (Q, K)
    attend: AttendCache


class BahdanauCache(NamedTuple):
    query: np.ndarray     # (B, T, Q)
    keys: np.ndarray      # (B, S, K)
    u: np.ndarray         # (B, T, S, A) tanh(W_q s_t + W_k h_j)
    w_query: np.ndarray   # (A, Q)
    w_key: np.ndarray     # (A, K)
    v: np.ndarray         # (A,)
    attend: AttendCache


def source_mask(lengths, S: int) -> np.ndarray:
    """(B, S) bool, True at real source steps j < lengths[b]."""
    return np.arange(S)[None, :] < np.asarray(lengths)[:, None]


def _attend(scores: np.ndarray, keys: np.ndarray, mask: np.ndarray | None):
    """Masked softmax over the source axis and the weighted sum of the keys -> (c, α, cache)."""
    if mask is not None:
        scores = np.where(mask[:, None, :], scores, -np.inf)            # padding never gets weight
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    alpha = e / e.sum(axis=-1, keepdims=True)                           # (B, T, S)
    context = alpha @ keys                                              # (B, T, K)
    return context, alpha, AttendCache(keys, alpha)


def _attend_backward(dcontext: np.ndarray, dalpha: np.ndarray | None, cache: AttendCache):
    """-> (dscores (B, T, S), dkeys (B, S, K)) from dL/dc and an optional direct dL/dα."""
    keys, alpha = cache
    da = dcontext @ keys.transpose(0, 2, 1)                             # c = α H, so dα = G Hᵀ
    if dalpha is not None:
        da = da + dalpha
    dscores = alpha * (da - np.sum(da * alpha, axis=-1, keepdims=True))  # softmax backward
    dkeys = alpha.transpose(0, 2, 1) @ dcontext                         # (B, S, K)
    return dscores, dkeys


def luong_forward(query: np.ndarray, keys: np.ndarray, weight: np.ndarray, mask: np.ndarray | None = None):
    """Luong's general attention.

    Args:
        query: (B, T, Q) decoder states s_t.  keys: (B, S, K) encoder outputs h_j.
        weight: (Q, K) W_a.  mask: (B, S) bool, True at real source steps, or None.

    Returns:
        (context (B, T, K), alpha (B, T, S), cache).
    """
    proj = keys @ weight.T                                              # (B, S, Q): W_a h_j for every j
    scores = query @ proj.transpose(0, 2, 1)                            # (B, T, S): s_tᵀ W_a h_j
    context, alpha, attend = _attend(scores, keys, mask)
    return context, alpha, LuongCache(query, proj, weight, attend)


def luong_backward(dcontext: np.ndarray, dalpha: np.ndarray | None, cache: LuongCache):
    """-> (dquery (B, T, Q), dkeys (B, S, K), dweight (Q, K))."""
    query, proj, weight, attend = cache
    dscores, dkeys = _attend_backward(dcontext, dalpha, attend)
    dquery = dscores @ proj                                             # e = s · p_j
    dproj = dscores.transpose(0, 2, 1) @ query                          # (B, S, Q)
    dkeys += dproj @ weight                                             # in the forward pass p_j = W_a h_j
    B, S, K = cache.attend.keys.shape
    dweight = dproj.reshape(B * S, -1).T @ cache.attend.keys.reshape(B * S, K)  # (Q, K)
    return dquery, dkeys, dweight


def bahdanau_forward(query: np.ndarray, keys: np.ndarray, w_query: np.ndarray, w_key: np.ndarray,
                     v: np.ndarray, mask: np.ndarray | None = None):
    """Bahdanau's additive (concat) attention.

    Args:
        query: (B, T, Q).  keys: (B, S, K).  w_query: (A, Q) W_q.  w_key: (A, K) W_k.  v: (A,).
        mask: (B, S) bool, True at real source steps, or None.

    Returns:
        (context (B, T, K), alpha (B, T, S), cache).
    """
    u = np.tanh((query @ w_query.T)[:, :, None, :] + (keys @ w_key.T)[:, None, :, :])  # (B, T, S, A)
    scores = u @ v                                                      # (B, T, S)
    context, alpha, attend = _attend(scores, keys, mask)
    return context, alpha, BahdanauCache(query, keys, u, w_query, w_key, v, attend)


def bahdanau_backward(dcontext: np.ndarray, dalpha: np.ndarray | None, cache: BahdanauCache):
    """-> (dquery (B, T, Q), dkeys (B, S, K), dw_query (A, Q), dw_key (A, K), dv (A,))."""
    query, keys, u, w_query, w_key, v, attend = cache
    dscores, dkeys = _attend_backward(dcontext, dalpha, attend)
    dv = np.einsum("btsa,bts->a", u, dscores)                           # e = u · v
    du = dscores[..., None] * v * (1 - u * u)                           # backprop through tanh: (B, T, S, A)
    dq_proj, dk_proj = du.sum(axis=2), du.sum(axis=1)                   # W_q s_t was broadcast over j, W_k h_j over t
    dquery = dq_proj @ w_query                                          # (B, T, Q)
    dkeys += dk_proj @ w_key                                            # (B, S, K)
    A = v.shape[0]
    dw_query = dq_proj.reshape(-1, A).T @ query.reshape(-1, query.shape[-1])
    dw_key = dk_proj.reshape(-1, A).T @ keys.reshape(-1, keys.shape[-1])
    return dquery, dkeys, dw_query, dw_key, dv
