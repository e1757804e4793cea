"""The recurrent language model: embedding -> recurrent stack -> linear head.

Legend: B batch, T time steps, V vocabulary, E embedding size, H hidden (h's width: P with a projection).

    e_t = E[x_t]                      (B, T, E)
    h_t = RNN(e_1 … e_t)              (B, T, H)   LSTM, GRU or vanilla, stacked
    z_t = dropout(h_t) W_yᵀ + b_y     (B, T, V)   logits of P(x_{t+1} | x_1 … x_t)

Tied embeddings (``tie_weights``, Press & Wolf 2017; Inan et al. 2017): W_y = E, one (V, E) matrix
used twice, so E = H (or P). Its gradient is the sum of the two uses,
dE = dE_embedding + dE_head; the state dict holds it once, as ``embedding.weight``, and the head
only its ``head.bias`` (PyTorch's tied modules list the one tensor under both names: the torch
export writes ``head.weight`` too, a copy).

(notes 004: ŷ^<t> = softmax(W_ya a^<t> + b_y), x^<t> = y^<t−1>.) The model
also samples (one token at a time through ``Recurrent.step``) and scores a
text: log P(sentence) = Σ_t log P(y^<t> | y^<1> … y^<t−1>).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from rnnkit.data.vocab import EOS, Vocab, words
from rnnkit.errors import RnnkitError
from rnnkit.functional.linear import linear_backward, linear_forward
from rnnkit.functional.losses import log_softmax
from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent
from rnnkit.sampling import check_sampling, draw, next_token_probs


class TiedHead(Module):
    """z = x Eᵀ + b: a linear head whose weight is an :class:`Embedding`'s matrix E (V, E); own params
    ``bias`` (V,) only, E's gradient is added into the embedding's ``grads["weight"]``."""

    def __init__(self, embedding: Embedding, seed=None):
        super().__init__(embedding.dtype)
        object.__setattr__(self, "tied", embedding)   # not a sub-module: E is the embedding's parameter
        V, E = embedding.params["weight"].shape
        self.in_features, self.out_features = E, V
        bound = 1.0 / np.sqrt(E)                        # as Linear's bias (PyTorch's init)
        self.add_param("bias", np.random.default_rng(seed).uniform(-bound, bound, V))
        self._cache = None

    @property
    def weight(self) -> np.ndarray:
        return self.tied.params["weight"]

    def forward(self, x) -> np.ndarray:
        """x (..., E) -> z (..., V)."""
        z, self._cache = linear_forward(np.asarray(x, dtype=self.dtype), self.weight, self.params["bias"])
        return z

    def backward(self, dz) -> np.ndarray:
        """dz (..., V) -> dx (..., E); adds dE into the embedding's gradient (the sum of E's two uses)."""
        dx, dweight, dbias = linear_backward(dz, self._cache)
        self.tied.grads["weight"] += dweight
        self.grads["bias"] += dbias
        return dx


class LanguageModel(Module):
    """Embedding -> recurrent stack -> dropout -> linear head over the vocabulary (or the embedding
    matrix itself: ``tie_weights``)."""

    def __init__(self, vocab: Vocab, level: str, rnn: Recurrent, embed: int, dropout: float, seed: int,
                 tie_weights: bool = False):
        super().__init__(rnn.dtype)
        if tie_weights and embed != rnn.output_width:
            raise ValueError(f"tie_weights: the output layer's weight is the embedding matrix, so the embedding "
                             f"size must equal the recurrent stack's output width {rnn.output_width} (its "
                             f"{'proj_size' if rnn.proj_size else 'hidden_size'}); given embed {embed}")
        self.vocab, self.level = vocab, level
        self.embedding = Embedding(len(vocab), embed, dtype=rnn.dtype, seed=seed)
        self.rnn = rnn
        self.drop = Dropout(dropout, seed=seed + 1)
        self.head = TiedHead(self.embedding, seed=seed + 2) if tie_weights else \
            Linear(rnn.output_width, len(vocab), dtype=rnn.dtype, seed=seed + 2)

    def forward(self, ids, state=None):
        """ids (B, T) int -> logits (B, T, V), final recurrent state."""
        h, state = self.rnn.forward(self.embedding.forward(ids), state)
        return self.head.forward(self.drop.forward(h)), state

    def backward(self, dlogits) -> None:
        """Backpropagate through the last forward; no gradient flows into the carried state."""
        dh = self.drop.backward(self.head.backward(dlogits))
        dx, _ = self.rnn.backward(dh)
        self.embedding.backward(dx)

    # -- text <-> ids ----------------------------------------------------------
    def tokens(self, text: str) -> list[str]:
        """Characters, or words with <eos> at each line end (word level)."""
        if self.level == "char":
            return list(text)
        return [t for line in text.split("\n") for t in words(line) + [EOS]]

    def join(self, tokens: list[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        return " ".join("\n" if t == EOS else t for t in tokens).replace(" \n ", "\n")

    def start_token(self) -> int | None:
        """The context before a text: "\\n" (char level, if known) or <eos> (word level)."""
        start = "\n" if self.level == "char" else EOS
        return self.vocab.stoi.get(start)

    def _step_logits(self, token: int, state):
        y, state = self.rnn.step(self.embedding.params["weight"][[token]], state)
        return self.head.forward(y)[0], state

    # -- generation and scoring --------------------------------------------------
    def sample(self, length: int, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, prime: str = "", seed: int | None = None) -> Iterator[str]:
        """Yield ``length`` generated tokens one by one (after the ``prime`` text, which is not yielded).

        Every argument is checked here, before the first token: RnnkitError naming the option."""
        check_sampling(temperature, top_k, top_p)
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise RnnkitError(f"--length: expected an integer >= 0, given {length!r}")
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise RnnkitError(f"--seed: expected an integer >= 0, given {seed!r}")
        context = list(self.vocab.encode(self.tokens(prime), "--prime")) if prime else []
        if self.level == "word" and context and context[-1] == self.vocab.stoi.get(EOS) and not prime.endswith("\n"):
            context.pop()  # a prime is a beginning, not a finished line
        start = self.start_token()
        return self._generate(([start] if start is not None else []) + context, length, temperature, top_k, top_p,
                              np.random.default_rng(seed))

    def stream_text(self, tokens: Iterator[str], prime: str = "") -> Iterator[str]:
        """The text of ``prime`` followed by ``tokens``, piece by piece (words separated by one space)."""
        yield prime
        after_space = self.level == "char" or not prime or prime[-1].isspace()
        for token in tokens:
            if token == EOS:
                yield "\n"
            else:
                yield token if after_space else " " + token
            after_space = self.level == "char" or token == EOS

    def _generate(self, context: list[int], length: int, temperature, top_k, top_p, rng) -> Iterator[str]:
        if not context:
            context = [int(rng.integers(len(self.vocab)))]
        *before, token = context
        state = None
        for known in before:
            _, state = self._step_logits(known, state)
        for _ in range(length):
            token, state = self._next_token(token, state, rng.random(), temperature, top_k, top_p)
            yield self.vocab.itos[token]

    def _next_token(self, token: int, state, u: float, temperature, top_k, top_p) -> tuple[int, object]:
        """Feed ``token``; the token drawn after it at u (the inverse CDF), and the new state. Without
        top-k or top-p, a stack of plain LSTM layers does it in one compiled call (``step_draw``)."""
        if top_k is None and top_p is None:
            x = self.embedding.params["weight"][token:token + 1]
            weight = self.head.weight if isinstance(self.head, TiedHead) else self.head.params["weight"]
            got = self.rnn.step_draw(x, state, (weight, self.head.params["bias"]), temperature, u)
            if got is not None:
                return got
        logits, state = self._step_logits(token, state)
        return draw(next_token_probs(logits, temperature, top_k, top_p), u), state

    def score(self, text: str) -> dict:
        """log P(text) under the model, token by token, from the start context.

        Returns ``{"tokens", "log_prob" (nats), "log10_prob", "bits",
        "nats_per_token", "perplexity", "per_token": [(token, log_prob), ...]}``.
        """
        ids = self.vocab.encode(self.tokens(text), "TEXT")
        start = self.start_token()
        inputs = ([start] if start is not None else []) + list(ids[:-1])
        targets = ids if start is not None else ids[1:]
        if len(targets) == 0:
            raise RnnkitError(f"TEXT: {text!r} is too short to score: give at least "
                              f"{'one token' if start is not None else 'two tokens'}")
        logits, _ = self.forward(np.array([inputs]))
        logp = log_softmax(logits[0].astype(np.float64))[np.arange(len(targets)), targets]
        total = float(logp.sum())
        n = len(targets)
        return {"tokens": n, "log_prob": total, "log10_prob": total / math.log(10), "bits": -total / math.log(2),
                "nats_per_token": -total / n, "perplexity": math.exp(-total / n),
                "per_token": list(zip(self.vocab.decode(targets), logp.tolist()))}
