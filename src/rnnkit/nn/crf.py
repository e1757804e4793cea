"""CRF: a linear-chain conditional random field layer on per-step scores (:mod:`rnnkit.functional.crf`).

Legend: B batch, T steps, M tags.

Parameters (the names of the pytorch-crf package): ``transitions`` (M, M), A(i, j) the score of tag j
right after tag i; ``start_transitions`` and ``end_transitions`` (M,), the scores of a first and a last
tag. All start at 0. Transitions a task forbids (``allowed`` (M, M), ``first`` (M,)) score −∞ in the
likelihood and in decoding alike.

Example::

    >>> import numpy as np, rnnkit as rk
    >>> crf = rk.nn.CRF(3, dtype="float64")
    >>> e = np.random.default_rng(0).normal(size=(2, 5, 3))       # a head's scores (B, T, M)
    >>> loss, de = crf.nll(e, np.zeros((2, 5), int), [5, 3])      # grads of the CRF added in
    >>> crf.decode(e, [5, 3]).shape
    (2, 5)
"""
from __future__ import annotations

import numpy as np

from rnnkit.functional.crf import crf_backward, crf_forward, crf_viterbi, effective
from rnnkit.nn.module import Module


class CRF(Module):
    """The CRF of ``num_tags`` tags; ``allowed`` and ``first`` (both or neither) forbid transitions."""

    def __init__(self, num_tags: int, allowed: np.ndarray | None = None, first: np.ndarray | None = None,
                 dtype="float32"):
        super().__init__(dtype)
        if (allowed is None) != (first is None):
            raise ValueError("allowed, first: give both or neither")
        self.num_tags, self.allowed, self.first = num_tags, allowed, first
        self.add_param("transitions", np.zeros((num_tags, num_tags)))
        self.add_param("start_transitions", np.zeros(num_tags))
        self.add_param("end_transitions", np.zeros(num_tags))

    def _scores(self):
        p = self.params
        return effective(p["transitions"], p["start_transitions"], p["end_transitions"], self.allowed, self.first)

    def loss(self, emissions, tags, lengths) -> float:
        """The negative log-likelihood per real step alone (the forward algorithm; no gradient): scoring."""
        return crf_forward(emissions, np.asarray(tags), lengths, *self._scores())[0]

    def nll(self, emissions, tags, lengths) -> tuple[float, np.ndarray]:
        """emissions (B, T, M), tags (B, T), lengths (B,) -> (negative log-likelihood per real step,
        its gradient for the emissions (B, T, M)); in training mode the gradients of the CRF's parameters
        are added into ``grads`` (in eval mode they are not: scoring leaves them alone)."""
        loss, cache = crf_forward(emissions, np.asarray(tags), lengths, *self._scores())
        demissions, dtransitions, dstart, dend = crf_backward(cache)
        if self.training:
            for name, g in zip(("transitions", "start_transitions", "end_transitions"),
                               (dtransitions, dstart, dend)):
                self.grads[name] += g
        return loss, demissions.astype(self.dtype, copy=False)

    def decode(self, emissions, lengths) -> np.ndarray:
        """emissions (B, T, M), lengths (B,) -> (B, T) the best tag ids (past a length: the last one)."""
        return crf_viterbi(emissions, lengths, *self._scores())
