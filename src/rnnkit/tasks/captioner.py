"""The captioner: one-to-many, a sequence generated from a feature vector v given at every step.

Legend: B batch, T time steps (caption tokens + 1), D features of v, E embedding, H hidden, V vocabulary.

The notes (002, image captioning, Karpathy & Fei-Fei 2015) add the image to the vanilla RNN's step:

    before:  s_t = tanh(Uᵀ x_t + Wᵀ s_{t−1})
    now:     s_t = tanh(Uᵀ x_t + Wᵀ s_{t−1} + Zᵀ v)

Here x_t = E[w_{t−1}] is the embedding of the previous token (w_0 = <bos>) and v the (standardised)
feature vector. The step takes the concatenation [x_t; v] as its input,

    x̃_t = [x_t; v]                                      (B, E + D)
    s_t = tanh(x̃_tᵀ [U; Z] + Wᵀ s_{t−1})                 since [U; Z]ᵀ [x_t; v] = Uᵀ x_t + Zᵀ v

so the recurrent layer's input weights ``weight_ih_l0`` (H·gates, E + D) are [U Z] side by side: its
first E columns are U (the token), its last D columns are Z (the image). Any cell works the same way
(LSTM, GRU: v enters every gate). Then

    ŷ_t = softmax(dropout(s_t) W_yᵀ + b_y)              (B, T, V)   P(w_t | w_<t, v)

trained with teacher forcing (the true previous token as x_t) and cross-entropy on the real tokens
of each caption, <eos> included. Generation is greedy: w_t = argmax ŷ_t, fed back, until <eos>.

The conditioning is the new backward here: v is copied to every step in the forward pass, so its
gradient is the sum over the steps of the last D columns of dx̃_t (:func:`condition_backward`).
"""
from __future__ import annotations

import numpy as np

from rnnkit.data.vocab import Vocab, words
from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent
from rnnkit.sampling import check_sampling, draw, next_token_probs

BOS = "<bos>"


def condition_forward(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, int]:
    """x (B, T, E) token inputs, v (B, D) -> x̃ (B, T, E + D) with x̃_t = [x_t; v]; cache: E."""
    B, T, E = x.shape
    return np.concatenate([x, np.broadcast_to(v[:, None, :], (B, T, v.shape[1]))], axis=-1), E


def condition_backward(dx: np.ndarray, E: int) -> tuple[np.ndarray, np.ndarray]:
    """dx̃ (B, T, E + D) -> (dx (B, T, E), dv (B, D)).

    In the forward pass v was copied to every time step, so now its gradient is the sum of the
    copies' gradients over t.
    """
    return dx[..., :E], dx[..., E:].sum(axis=1)


def tokenize(caption: str, level: str) -> list[str]:
    """Characters, or words and punctuation marks (``level`` "char" or "word")."""
    return list(caption) if level == "char" else words(caption)


class Captioner(Module):
    """Embedding -> [x_t; v] -> recurrent stack -> dropout -> linear head over the vocabulary.

    ``vocab`` has <pad>, <unk>, <bos>, <eos> and the caption tokens; ``level`` is "char" or "word";
    ``scaler`` {"mean", "std"} (D,) standardises raw vectors (:meth:`scale`).
    """

    def __init__(self, vocab: Vocab, level: str, rnn: Recurrent, embed: int, features: int, scaler: dict,
                 dropout: float = 0.0, seed: int = 0):
        super().__init__(rnn.dtype)
        if rnn.input_size != embed + features:
            raise ValueError(f"rnn: expected input_size embed + features = {embed + features}, given {rnn.input_size}")
        self.vocab, self.level, self.scaler, self.features = vocab, level, scaler, int(features)
        self.embedding = Embedding(len(vocab), embed, dtype=rnn.dtype, seed=seed)
        self.rnn = rnn
        self.drop = Dropout(dropout, seed=seed + 1)
        self.head = Linear(rnn.output_width, len(vocab), dtype=rnn.dtype, seed=seed + 2)

    def scale(self, vectors) -> np.ndarray:
        """Raw vectors (B, D) -> standardised (B, D) in the model's dtype."""
        v = np.asarray(vectors, dtype=np.float64)
        return ((v - np.array(self.scaler["mean"])) / np.array(self.scaler["std"])).astype(self.dtype)

    def forward(self, v, ids, lengths=None) -> np.ndarray:
        """v (B, D) standardised vectors, ids (B, T) previous tokens (<bos> first) -> logits (B, T, V)."""
        v = np.asarray(v, dtype=self.dtype)
        x, self._E = condition_forward(self.embedding.forward(ids), v)        # (B, T, E + D)
        s, _ = self.rnn.forward(x, lengths=lengths)                           # (B, T, H)
        return self.head.forward(self.drop.forward(s))

    def backward(self, dlogits) -> np.ndarray:
        """dlogits (B, T, V) -> dv (B, D); parameter gradients are added into ``grads``."""
        ds = self.drop.backward(self.head.backward(dlogits))                  # (B, T, H)
        dx, _ = self.rnn.backward(ds)                                         # (B, T, E + D)
        demb, dv = condition_backward(dx, self._E)
        self.embedding.backward(demb)
        return dv

    # -- captions <-> ids ------------------------------------------------------------------------------
    def tokens(self, caption: str) -> list[str]:
        return tokenize(caption, self.level)

    def join(self, tokens: list[str]) -> str:
        return "".join(tokens) if self.level == "char" else " ".join(tokens)

    # -- generation ------------------------------------------------------------------------------------
    def _step(self, ids: np.ndarray, v: np.ndarray, state):
        x = np.concatenate([self.embedding.params["weight"][ids], v], axis=1)  # (B, E + D): [x_t; v]
        y, state = self.rnn.step(x, state)
        return y @ self.head.params["weight"].T + self.head.params["bias"], state  # (B, V)

    def generate(self, v, max_tokens: int, temperature: float | None = None, seed: int | None = None) -> list[str]:
        """Captions of the standardised vectors v (B, D): greedy, or drawn at ``temperature``."""
        v = np.asarray(v, dtype=self.dtype)
        if temperature is not None:
            check_sampling(temperature, None, None)
        rng, eos = np.random.default_rng(seed), self.vocab.stoi["<eos>"]
        ids = np.full(len(v), self.vocab.stoi[BOS])
        out, done, state = [[] for _ in range(len(v))], np.zeros(len(v), dtype=bool), None
        for _ in range(max_tokens):
            logits, state = self._step(ids, v, state)
            ids = logits.argmax(axis=1) if temperature is None else \
                np.array([draw(next_token_probs(z, temperature), rng.random()) for z in logits])
            for i in np.flatnonzero(~done & (ids != eos)):
                out[i].append(self.vocab.itos[ids[i]])
            done |= ids == eos
            if done.all():
                break
        return [self.join(t) for t in out]
