"""Sequence models built from the blocks: many-to-one and many-to-many (aligned).

Legend: B batch, T time, D input features, V vocabulary, E embedding,
H hidden, K directions, M outputs; P is H, or the projection's size with ``proj_size``.

Inputs are either token ids (B, T) through an embedding (``vocab_size``
given) or feature vectors (B, T, D).

    many-to-one:   h = [h_T→ ; h_1←] of the top layer       (B, K·P)   the final state(s)
                   y = dropout(h) W_yᵀ + b_y                  (B, M)     (notes: sentiment, echo, adding)
    many-to-many:  y_t = dropout(h_t) W_yᵀ + b_y              (B, T, M)  (notes: tagging, T_x = T_y)

The many-to-many head reads the stack's output (``output_width``: K·P, or P when a ``merge_mode``
joins the directions); the many-to-one head the final states, K·P whatever the merge mode.

With ``lengths`` the final state is taken at each sequence's own last real
step (and the reverse direction's at its first), so padding never leaks in.
"""
from __future__ import annotations

import numpy as np

from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent


class _Encoder(Module):
    """Optional embedding, a recurrent stack, and the dropout + linear head on its outputs."""

    def __init__(self, rnn: Recurrent, out_dim: int, vocab_size: int | None = None, embed: int | None = None,
                 dropout: float = 0.0, seed: int = 0):
        super().__init__(rnn.dtype)
        self.embedding = Embedding(vocab_size, embed, dtype=rnn.dtype, seed=seed) if vocab_size else None
        self.rnn = rnn
        self.drop = Dropout(dropout, seed=seed + 1)
        self.head = Linear(self.head_width(rnn), out_dim, dtype=rnn.dtype, seed=seed + 2)

    @staticmethod
    def head_width(rnn: Recurrent) -> int:
        """The width of what the head reads."""
        return rnn.output_width

    def _encode(self, x, lengths):
        inputs = self.embedding.forward(x) if self.embedding is not None else x
        return self.rnn.forward(inputs, lengths=lengths)

    def _backward_inputs(self, dx) -> np.ndarray | None:
        if self.embedding is not None:
            self.embedding.backward(dx)
            return None
        return dx


class ManyToOne(_Encoder):
    """Sequence -> one vector of ``out_dim`` logits (or values) from the final state."""

    @staticmethod
    def head_width(rnn: Recurrent) -> int:
        return rnn.output_size * rnn.num_directions                    # K·P: the final states, never merged

    def _top_h(self, state) -> np.ndarray:
        h_n = state[0] if isinstance(state, tuple) else state          # (L·K, B, H)
        top = h_n[-self.rnn.num_directions:]                           # (K, B, P)
        return np.concatenate(list(top), axis=-1)                      # (B, K·P)

    def forward(self, x, lengths=None) -> np.ndarray:
        """x (B, T) ids or (B, T, D) features -> (B, out_dim)."""
        out, state = self._encode(x, lengths)
        self._shapes = (out.shape, state)
        return self.head.forward(self.drop.forward(self._top_h(state)))

    def backward(self, dy) -> np.ndarray | None:
        """dy (B, out_dim) -> gradient of the feature inputs (None for token inputs)."""
        out_shape, state = self._shapes
        dh = self.drop.backward(self.head.backward(dy))                # (B, K·P)
        K, H = self.rnn.num_directions, self.rnn.output_size
        parts = state if isinstance(state, tuple) else (state,)
        dstate = [np.zeros_like(p) for p in parts]
        for k in range(K):
            dstate[0][-K + k] = dh[:, k * H:(k + 1) * H]
        dx, _ = self.rnn.backward(np.zeros(out_shape, dtype=self.dtype),
                                  tuple(dstate) if isinstance(state, tuple) else dstate[0])
        return self._backward_inputs(dx)


class ManyToMany(_Encoder):
    """Sequence -> one vector of ``out_dim`` logits per time step (aligned)."""

    def forward(self, x, lengths=None) -> np.ndarray:
        """x (B, T) ids or (B, T, D) features -> (B, T, out_dim)."""
        out, _ = self._encode(x, lengths)
        return self.head.forward(self.drop.forward(out))

    def backward(self, dy) -> np.ndarray | None:
        """dy (B, T, out_dim) -> gradient of the feature inputs (None for token inputs)."""
        dx, _ = self.rnn.backward(self.drop.backward(self.head.backward(dy)))
        return self._backward_inputs(dx)
