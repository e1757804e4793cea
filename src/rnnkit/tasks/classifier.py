"""The classifier of the classify task: a many-to-one model that knows its classes and inputs.

Legend: B batch, T time steps, E embedding, D features, H hidden, K directions, C classes.

    e_t = E[x_t]   (B, T, E)   word or character ids; or the (standardised) features x_t (B, T, D)
    h   = [h_T→ ; h_1←]        (B, K·H)   the top layer's final states, at each sequence's own length
    z   = dropout(h) W_yᵀ + b_y
    C = 2:  z (B, 1),  P(class 1 | x) = σ(z) = ½ (1 + tanh(z / 2)),  loss = binary cross-entropy on z
    C > 2:  z (B, C),  P(c | x) = softmax(z)_c,                      loss = cross-entropy

(notes: sentiment classification, many-to-one.) A binary task has one logit, not two: the same
model with half the head, and the loss PyTorch's ``BCEWithLogitsLoss`` computes.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rnnkit.data.tables import read_sequences
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError, RnnkitError
from rnnkit.functional.losses import binary_cross_entropy_with_logits, softmax, softmax_cross_entropy
from rnnkit.tasks.models import ManyToOne


class Classifier(ManyToOne):
    """ManyToOne that knows its classes, its vocabulary (token inputs) or scaler (feature inputs).

    ``forward(x, lengths=None)`` gives the logits, (B, 1) for two classes and (B, C) otherwise.
    With ``freeze_embedding`` the embedding is left out of ``parameters()`` and ``gradients()``
    (so no optimizer, weight decay included, ever moves it) but still saved and loaded.
    """

    def __init__(self, rnn, labels: list[str], vocab: Vocab | None = None, embed: int | None = None,
                 dropout: float = 0.0, seed: int = 0, freeze_embedding: bool = False, scaler: dict | None = None):
        super().__init__(rnn, 1 if len(labels) == 2 else len(labels), len(vocab) if vocab else None, embed,
                         dropout, seed)
        self.labels, self.vocab, self.scaler = list(labels), vocab, scaler
        self.freeze_embedding = freeze_embedding

    @property
    def binary(self) -> bool:
        return len(self.labels) == 2

    def loss(self, logits, y):
        """(mean loss, dlogits) for class ids ``y`` (B,)."""
        if self.binary:
            return binary_cross_entropy_with_logits(logits, y[:, None].astype(logits.dtype))
        return softmax_cross_entropy(logits, y)

    def probabilities(self, logits) -> np.ndarray:
        """(B, C) float64 class probabilities."""
        z = np.asarray(logits, dtype=np.float64)
        if not self.binary:
            return softmax(z)
        p1 = 0.5 * (1 + np.tanh(0.5 * z[:, 0]))                        # σ(z), without overflow
        return np.stack([1 - p1, p1], axis=1)

    def predicted(self, logits) -> np.ndarray:
        """(B,) class ids."""
        return (logits[:, 0] > 0).astype(np.int64) if self.binary else logits.argmax(axis=1)

    # -- a frozen embedding is no parameter for the optimizer, but part of the model's state
    def parameters(self):
        params = super().parameters()
        if self.freeze_embedding:
            params.pop("embedding.weight", None)
        return params

    def gradients(self):
        grads = super().gradients()
        if self.freeze_embedding:
            grads.pop("embedding.weight", None)
        return grads

    @contextmanager
    def _whole(self):
        frozen, self.freeze_embedding = self.freeze_embedding, False
        try:
            yield
        finally:
            self.freeze_embedding = frozen

    def state_dict(self):
        with self._whole():
            return super().state_dict()

    def load_state_dict(self, state_dict) -> None:
        with self._whole():
            super().load_state_dict(state_dict)

    def num_parameters(self) -> int:
        with self._whole():
            return super().num_parameters()

    def _backward_inputs(self, dx):
        return None if self.freeze_embedding else super()._backward_inputs(dx)


def check_features(model: Classifier, seqs: list, source: str) -> None:
    """Every (T, D) sequence has the D features the model was trained on; DataError naming ``source``."""
    want = len(model.scaler["mean"])
    bad = next((k for k, s in enumerate(seqs) if np.ndim(s) != 2 or np.shape(s)[1] != want), None)
    if bad is not None:
        raise DataError(f"{source}: sequence {bad} has shape {np.shape(seqs[bad])}: the model was trained on "
                        f"sequences of {want} features")


def named_inputs(model: Classifier, inputs: list) -> tuple[list, list]:
    """(inputs as the model reads them, how to show each): texts, or (T, D) arrays / .npz paths."""
    if model.vocab is not None:
        bad = [x for x in inputs if not isinstance(x, str)]
        if bad:
            raise RnnkitError(f"INPUT: this model classifies texts; given {type(bad[0]).__name__}")
        return list(inputs), list(inputs)
    seqs, names = [], []
    for k, x in enumerate(inputs):
        if isinstance(x, (str, Path)):
            xs, _ = read_sequences(x, labelled=False)
            check_features(model, xs, str(x))
            seqs += xs
            names += [f"{x}[{i}]" for i in range(len(xs))]
            continue
        s = np.asarray(x, dtype=np.float64)
        s = s[:, None] if s.ndim == 1 else s
        if s.ndim != 2 or s.shape[1] != model.config.features or len(s) == 0:
            raise RnnkitError(f"INPUT {k}: expected a (T, {model.config.features}) sequence, given shape {s.shape}")
        seqs.append(s)
        names.append(k)
    return seqs, names
