"""The tagger of the tag task: a many-to-many (aligned) model with word, casing and character inputs.

Legend: B batch, T words, S characters per word, W real words in the batch, V word vocabulary,
E word embedding, U casing classes, C character vocabulary, F character embedding,
G character hidden units, J character directions, H hidden, K directions, M tags.

Each word w_t of a sentence enters as its (lower-cased, digits as 0) word id, its casing class and
its characters; what the recurrent layer reads at step t is the concatenation

    e_t = E[word_t]                                   (B, T, E)   the word embedding
    u_t = onehot(casing_t)                            (B, T, U)   lower / UPPER / Title / MiXed / 123 ...
    q_t = [g_S→ ; g_1←]  of a char recurrent layer     (B, T, J·G) (``char_features``): the final states of
          run over the character embeddings of w_t                a (bi)directional layer over w_t's characters
    x_t = dropout([e_t ; u_t ; q_t])                  (B, T, E + U + J·G)
    h_t = [h_t→ ; h_t←]                               (B, T, K·H) the word-level (bi)recurrent layer
    y_t = dropout(h_t) W_yᵀ + b_y                     (B, T, M)   tag scores;  loss = mean cross-entropy
                                                                  over the real words (padding masked)
    ŷ_1..T = the IOB2-valid tag sequence of highest Σ_t log softmax(y_t)   (``decode``: Viterbi, see
                                                                  ``tag_decoding``; never I-X after O)

With ``crf=True`` a linear-chain CRF (:class:`rnnkit.nn.CRF`) sits on the scores y_t instead: the loss is
its negative log-likelihood per real word and ``decode`` its Viterbi, both over the IOB2-valid sequences
(Lample et al.'s BiLSTM-CRF).

(notes: NER, many-to-many with T_x = T_y.) Lower-cased words keep the vocabulary small; the casing
class gives back what lower-casing removed, and the character states give unknown words a
representation from their spelling (Lample et al., "Neural Architectures for Named Entity
Recognition", NAACL 2016). The backward pass is the forward read backwards: the gradient of x_t is
split into the parts of e_t (to the embedding), u_t (a constant: dropped) and q_t, which enters the
character layer as the gradient of its final states (its per-character outputs get none).

Inputs are packed into one integer array x (B, T, 2 + S): x[..., 0] word ids, x[..., 1] casing
ids, x[..., 2:] character ids right-padded with 0 (``<pad>``); :meth:`Tagger.encode` builds a row.
"""
from __future__ import annotations

import re

import numpy as np

from rnnkit.data.batching import by_length, pad_sequences
from rnnkit.data.vocab import Vocab
from rnnkit.functional.losses import log_softmax, softmax_cross_entropy
from rnnkit.nn.crf import CRF
from rnnkit.nn.layers import Dropout, Embedding
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent
from rnnkit.tasks.models import ManyToMany
from rnnkit.tasks.tag_decoding import iob2_transitions, viterbi

CASINGS = ("lower", "upper", "title", "mixed", "digits", "has_digit", "punct", "other")
_DIGIT = re.compile(r"\d")


def casing(token: str) -> int:
    """The casing class of a token, an index into CASINGS."""
    if token.isdigit():
        return 4
    if any(ch.isdigit() for ch in token):
        return 5
    if not any(ch.isalnum() for ch in token):
        return 6
    if token.islower():
        return 0
    if token.isupper():
        return 1
    if token[0].isupper() and (token[1:].islower() or not any(ch.isalpha() for ch in token[1:])):
        return 2
    return 3 if any(ch.isalpha() for ch in token) else 7


def word_key(token: str, lowercase: bool = True) -> str:
    """The vocabulary entry of a token: lower-cased (unless ``lowercase`` is False), digits as 0."""
    return _DIGIT.sub("0", token.lower() if lowercase else token)


class CharEncoder(Module):
    """Words as the final states of a recurrent layer over their characters.

    chars (W, S) ids, right-padded with 0; lengths (W,) -> (W, J·G) = [g_S→ ; g_1←] of the top layer.
    """

    def __init__(self, num_chars: int, embed: int, rnn: Recurrent, seed: int = 0):
        super().__init__(rnn.dtype)
        self.embedding = Embedding(num_chars, embed, padding_idx=0, dtype=rnn.dtype, seed=seed)
        self.rnn = rnn

    @property
    def out_features(self) -> int:
        return self.rnn.output_size * self.rnn.num_directions

    def forward(self, chars, lengths) -> np.ndarray:
        """chars (W, S) int, lengths (W,) in 1..S -> (W, J·G)."""
        out, state = self.rnn.forward(self.embedding.forward(chars), lengths=lengths)
        self._shapes = (out.shape, state)
        h_n = state[0] if isinstance(state, tuple) else state           # (L·J, W, G)
        return np.concatenate(list(h_n[-self.rnn.num_directions:]), axis=-1)

    def backward(self, dq) -> None:
        """dq (W, J·G): the gradient of the final states; adds into the layer's and the embedding's grads."""
        out_shape, state = self._shapes
        J, G = self.rnn.num_directions, self.rnn.output_size
        parts = state if isinstance(state, tuple) else (state,)
        dstate = [np.zeros_like(p) for p in parts]
        for k in range(J):
            dstate[0][-J + k] = dq[:, k * G:(k + 1) * G]                 # in the forward pass: h_n[-J + k]
        dx, _ = self.rnn.backward(np.zeros(out_shape, dtype=self.dtype),
                                  tuple(dstate) if isinstance(state, tuple) else dstate[0])
        self.embedding.backward(dx)


class Tagger(ManyToMany):
    """ManyToMany over [word embedding ; casing ; character states] that knows its tags and vocabularies.

    ``forward(x, lengths=None)``: x (B, T, 2 + S) packed ids (see the module docstring) -> (B, T, M).
    """

    def __init__(self, rnn: Recurrent, tags: list[str], vocab: Vocab, embed: int, chars: Vocab | None = None,
                 char_rnn: Recurrent | None = None, char_embed: int = 25, dropout: float = 0.0,
                 seed: int = 0, lowercase: bool = True, max_word: int = 20, crf: bool = False):
        super().__init__(rnn, len(tags), len(vocab), embed, dropout, seed)
        self.tags, self.vocab, self.chars = list(tags), vocab, chars
        self.lowercase, self.max_word = lowercase, max_word
        self.char = CharEncoder(len(chars), char_embed, char_rnn, seed=seed + 3) if chars is not None else None
        self.in_drop = Dropout(dropout, seed=seed + 4)
        self._iob2 = iob2_transitions(self.tags)                            # (allowed (M, M), first (M,))
        self.crf = CRF(len(tags), *self._iob2, dtype=rnn.dtype) if crf else None
        expected = embed + len(CASINGS) + (self.char.out_features if self.char else 0)
        if rnn.input_size != expected:
            raise ValueError(f"rnn: expected input_size {expected} (embedding {embed} + casing {len(CASINGS)}"
                             f" + character features), given {rnn.input_size}")

    # -- inputs
    def encode(self, tokens: list[str]) -> np.ndarray:
        """One sentence -> (T, 2 + S) ids: word, casing, characters (S = ``max_word``; 0 without chars)."""
        S = self.max_word if self.chars is not None else 0
        row = np.zeros((len(tokens), 2 + S), dtype=np.int64)
        row[:, 0] = self.vocab.encode([word_key(t, self.lowercase) for t in tokens])
        row[:, 1] = [casing(t) for t in tokens]
        for i, token in enumerate(tokens if S else ()):
            ids = self.chars.encode(token[:S])
            row[i, 2:2 + len(ids)] = ids
        return row

    def _real(self, x, lengths) -> np.ndarray:
        """(B, T) bool: the real (unpadded) words."""
        B, T = x.shape[:2]
        return np.ones((B, T), bool) if lengths is None else np.arange(T)[None, :] < np.asarray(lengths)[:, None]

    def _encode(self, x, lengths):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] < 2:
            raise ValueError(f"x: expected packed ids (B, T, 2 + S), given shape {x.shape}")
        parts = [self.embedding.forward(x[..., 0]),                            # (B, T, E)
                 np.eye(len(CASINGS), dtype=self.dtype)[x[..., 1]]]            # (B, T, U)
        if self.char is not None:
            real = self._real(x, lengths)
            chars = x[..., 2:][real]                                           # (W, S)
            clen = np.maximum((chars != 0).sum(axis=1), 1)                     # (W,)
            q = np.zeros(x.shape[:2] + (self.char.out_features,), dtype=self.dtype)
            q[real] = self.char.forward(chars[:, :clen.max()], clen)          # (B, T, J·G)
            parts.append(q)
            self._real_mask = real
        return self.rnn.forward(self.in_drop.forward(np.concatenate(parts, axis=-1)), lengths=lengths)

    def _backward_inputs(self, dx) -> None:
        dx = self.in_drop.backward(dx)                                        # (B, T, E + U + J·G)
        E = self.embedding.embedding_dim
        self.embedding.backward(np.ascontiguousarray(dx[..., :E]))
        if self.char is not None:
            self.char.backward(dx[..., E + len(CASINGS):][self._real_mask])   # (W, J·G)
        return None

    # -- loss and decoding
    def loss(self, logits, y, lengths=None):
        """(mean cross-entropy over real words, dlogits); y (B, T) tag ids. With a CRF: logits (B, T, M),
        its negative log-likelihood per real word (in training, the CRF's gradients are added in)."""
        if self.crf is not None:
            return self.crf.nll(logits, y, np.full(len(logits), logits.shape[1]) if lengths is None else lengths)
        mask = None if lengths is None else self._real(logits, lengths)
        return softmax_cross_entropy(logits, y, mask)

    def decode(self, logits, lengths) -> np.ndarray:
        """logits (B, T, M), lengths (B,) -> (B, T) tag ids: each sentence's IOB2-valid tag sequence of
        highest log-probability, or of highest CRF score (ids past a sentence's length repeat its last one)."""
        if self.crf is not None:
            return self.crf.decode(logits, lengths)
        return viterbi(log_softmax(logits), lengths, *self._iob2)

    def batch(self, sentences: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Packed ids (B, T, 2 + S) and lengths (B,) of tokenised sentences."""
        return pad_sequences([self.encode(s) for s in sentences])

    def tag(self, sentences: list[list[str]], batch_size: int = 256) -> list[list[str]]:
        """The IOB2 tags the model gives each tokenised sentence (empty sentences get none)."""
        rows = [self.encode(s) for s in sentences if s]
        best = by_length(rows, lambda x, lengths: self.decode(self.forward(x, lengths), lengths), batch_size)
        tagged = iter(best)                                                    # the non-empty ones, in order
        return [[self.tags[k] for k in next(tagged)] if s else [] for s in sentences]
