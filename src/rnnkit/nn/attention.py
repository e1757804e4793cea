"""Attention modules over the functional pairs of :mod:`rnnkit.functional.attention`.

Legend: B batch, T queries (target steps), S keys (source steps), Q query size, K key size,
A attention size.

    LuongAttention:     e_{t,j} = s_tᵀ W_a h_j                  param ``weight`` (Q, K)
    BahdanauAttention:  e_{t,j} = vᵀ tanh(W_q s_t + W_k h_j)    params ``query_weight`` (A, Q),
                                                                ``key_weight`` (A, K), ``v`` (A,)
    α = masked softmax_j(e),  c_t = Σ_j α_{t,j} h_j

``forward(query, keys, lengths=None) -> (context (B, T, K), alpha (B, T, S))``;
``backward(dcontext, dalpha=None) -> (dquery, dkeys)``, adding the parameter gradients into
``grads``. Weights start as U(−1/√fan_in, 1/√fan_in), like PyTorch's ``nn.Linear``.

Example::

    >>> import numpy as np
    >>> from rnnkit.nn.attention import LuongAttention
    >>> att = LuongAttention(8, 6, seed=0)
    >>> c, a = att.forward(np.ones((2, 3, 8)), np.ones((2, 5, 6)), lengths=[5, 2])
    >>> c.shape, a.shape, float(a[1, 0, 2:].sum())
    ((2, 3, 6), (2, 3, 5), 0.0)
"""
from __future__ import annotations

import numpy as np

from rnnkit._checks import check_array, check_lengths
from rnnkit.functional.attention import bahdanau_backward, bahdanau_forward, luong_backward, luong_forward, source_mask
from rnnkit.nn.init import uniform
from rnnkit.nn.module import Module


class _Attention(Module):
    """What both forms share: input checks, the source mask and the cache."""

    def __init__(self, query_size: int, key_size: int, dtype="float32"):
        super().__init__(dtype)
        for name, value in (("query_size", query_size), ("key_size", key_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, given {value!r}")
        self.query_size, self.key_size = int(query_size), int(key_size)
        self._cache = None

    def _inputs(self, query, keys, lengths):
        query = check_array("query", query, (None, None, self.query_size), self.dtype)
        keys = check_array("keys", keys, (query.shape[0], None, self.key_size), self.dtype)
        lengths = check_lengths(lengths, keys.shape[0], keys.shape[1])
        return query, keys, None if lengths is None else source_mask(lengths, keys.shape[1])

    def _douts(self, dcontext, dalpha):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first")
        q, k = self._cache.query, self._cache.attend.keys
        dcontext = check_array("dcontext", dcontext, (q.shape[0], q.shape[1], self.key_size), self.dtype)
        if dalpha is not None:
            dalpha = check_array("dalpha", dalpha, (q.shape[0], q.shape[1], k.shape[1]), self.dtype)
        return dcontext, dalpha


class LuongAttention(_Attention):
    """Luong's general (bilinear) score s_tᵀ W_a h_j; param ``weight`` (Q, K)."""

    def __init__(self, query_size: int, key_size: int, dtype="float32", seed=None):
        super().__init__(query_size, key_size, dtype)
        rng = np.random.default_rng(seed)
        self.add_param("weight", uniform(rng, (self.query_size, self.key_size), 1 / np.sqrt(self.key_size)))

    def forward(self, query, keys, lengths=None):
        """query (B, T, Q), keys (B, S, K), lengths (B,) or None -> (context (B, T, K), alpha (B, T, S))."""
        query, keys, mask = self._inputs(query, keys, lengths)
        context, alpha, self._cache = luong_forward(query, keys, self.params["weight"], mask)
        return context, alpha

    def backward(self, dcontext, dalpha=None):
        """-> (dquery (B, T, Q), dkeys (B, S, K)); adds dW_a into ``grads['weight']``."""
        dquery, dkeys, dweight = luong_backward(*self._douts(dcontext, dalpha), self._cache)
        self.grads["weight"] += dweight
        return dquery, dkeys

    def __repr__(self) -> str:
        return f"LuongAttention({self.query_size}, {self.key_size}, dtype={self.dtype.name})"


class BahdanauAttention(_Attention):
    """Bahdanau's additive score vᵀ tanh(W_q s_t + W_k h_j); params ``query_weight``, ``key_weight``, ``v``."""

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None, dtype="float32",
                 seed=None):
        super().__init__(query_size, key_size, dtype)
        A = self.query_size if attention_size is None else attention_size
        if isinstance(A, bool) or not isinstance(A, (int, np.integer)) or A < 1:
            raise ValueError(f"attention_size: expected a positive integer, given {attention_size!r}")
        self.attention_size = int(A)
        rng = np.random.default_rng(seed)
        self.add_param("query_weight", uniform(rng, (A, self.query_size), 1 / np.sqrt(self.query_size)))
        self.add_param("key_weight", uniform(rng, (A, self.key_size), 1 / np.sqrt(self.key_size)))
        self.add_param("v", uniform(rng, (A,), 1 / np.sqrt(A)))

    def forward(self, query, keys, lengths=None):
        """query (B, T, Q), keys (B, S, K), lengths (B,) or None -> (context (B, T, K), alpha (B, T, S))."""
        query, keys, mask = self._inputs(query, keys, lengths)
        p = self.params
        context, alpha, self._cache = bahdanau_forward(query, keys, p["query_weight"], p["key_weight"], p["v"], mask)
        return context, alpha

    def backward(self, dcontext, dalpha=None):
        """-> (dquery (B, T, Q), dkeys (B, S, K)); adds dW_q, dW_k, dv into ``grads``."""
        dquery, dkeys, dwq, dwk, dv = bahdanau_backward(*self._douts(dcontext, dalpha), self._cache)
        self.grads["query_weight"] += dwq
        self.grads["key_weight"] += dwk
        self.grads["v"] += dv
        return dquery, dkeys

    def __repr__(self) -> str:
        return (f"BahdanauAttention({self.query_size}, {self.key_size}, attention_size={self.attention_size}, "
                f"dtype={self.dtype.name})")


ATTENTIONS = {"luong": LuongAttention, "bahdanau": BahdanauAttention}
