"""Decoding tag scores into a valid IOB2 tag sequence: Viterbi over the per-word log-probabilities.

Legend: B batch, T words, M tags.

The tagger scores every word on its own (a softmax over the M tags), so reading each word's argmax can
give a sequence that no chunking could have produced: ``I-PER`` after ``O``, ``I-LOC`` after ``B-PER``.
conlleval reads such an ``I-X`` as the start of a new chunk, which is seldom what the scores meant.
Decoding instead takes the sequence of highest total log-probability among the sequences IOB2 allows,

    ŷ_1..T = argmax over allowed y_1..T of  Σ_t log p(y_t | x)                       p = softmax(s_t)

where a sequence is allowed when ``I-X`` only follows ``B-X`` or ``I-X`` (so never starts a sentence).
Every other tag may follow any tag, so a sentence always has an allowed sequence. With δ_t(j) the best
total of an allowed prefix that ends in tag j, the recursion is Viterbi's:

    δ_1(j) = log p(j | x)_1                     if j may start, else −∞
    δ_t(j) = max_i [δ_{t−1}(i) + A(i, j)] + log p(j | x)_t,   A(i, j) = 0 if j may follow i, else −∞

and the path is read back from the argmax of δ_T through the stored maximisers (backpointers). This
is the decoding of a BiLSTM-CRF (Lample et al., "Neural Architectures for Named Entity Recognition",
NAACL 2016) with its transition scores fixed to 0 / −∞ instead of learnt.
"""
from __future__ import annotations

import numpy as np

from rnnkit.functional.crf import crf_viterbi, effective


def iob2_transitions(tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(allowed (M, M) bool: tag j may follow tag i, first (M,) bool: tag j may start a sentence)."""
    inside = [t.startswith("I-") for t in tags]
    allowed = np.ones((len(tags), len(tags)), dtype=bool)
    for j, tag in enumerate(tags):
        if inside[j]:
            allowed[:, j] = [prev in (f"B-{tag[2:]}", tag) for prev in tags]
    return allowed, ~np.array(inside, dtype=bool)


def viterbi(log_probs: np.ndarray, lengths, allowed: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The allowed tag sequence of highest total log-probability of each sentence.

    log_probs (B, T, M), lengths (B,) in 1..T, allowed (M, M), first (M,) -> (B, T) tag ids; the ids
    past a sentence's length repeat its last one. A CRF's Viterbi (:func:`rnnkit.functional.crf.crf_viterbi`)
    with scores 0 for the allowed transitions and starts, −∞ for the others.
    """
    M = log_probs.shape[-1]
    zeros = np.zeros(M, log_probs.dtype)
    return crf_viterbi(log_probs, lengths, *effective(np.zeros((M, M), log_probs.dtype), zeros, zeros,
                                                      allowed, first))
