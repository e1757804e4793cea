"""Scoring a tagger on encoded sentences: scores, decoded tags and the loss, in batches of similar lengths.

Legend: N sentences, T_i words of sentence i, M tags.

Sentences are run in batches of at most EVAL_BATCH of similar lengths (``data.batching.by_length``), so
padding stays small and so do the decoders' tables (a CRF's pairwise marginals are (b, T, M, M)); each sentence's part
is put back in the sentences' order. The validation of ``rnnkit train tag`` (:func:`scores`) and the
distributed one (each rank its share of the sentences, ``TagObjective``) go through here.
"""
from __future__ import annotations

import numpy as np

from rnnkit.data.batching import by_length, length_batches, pad_sequences
from rnnkit.tasks.tagger import Tagger
from rnnkit.train.entities import entity_scores

EVAL_BATCH = 256


def mean_loss(model: Tagger, logits: list[np.ndarray], y: list[np.ndarray]) -> float:
    """The loss per real word of sentences' scores (T_i, M) against their tag ids (T_i,) (a CRF's over
    whole sentences, in batches of similar lengths, without its gradient)."""
    if model.crf is None:
        return float(model.loss(np.concatenate(logits), np.concatenate(y))[0])
    total = 0.0
    for idx in length_batches([len(z) for z in logits], EVAL_BATCH):
        z, lengths = pad_sequences([logits[i] for i in idx])
        total += model.crf.loss(z, pad_sequences([y[i] for i in idx])[0], lengths) * lengths.sum()
    return total / sum(len(t) for t in y)


def logits_of(model: Tagger, rows: list[np.ndarray], batch_size: int = EVAL_BATCH) -> list[np.ndarray]:
    """(T_i, M) tag scores of each encoded sentence, run in batches of similar lengths."""
    return by_length(rows, model.forward, batch_size)


def decoded(model: Tagger, logits: list[np.ndarray]) -> list[list[str]]:
    """The tags of each sentence's scores (T_i, M) (``Tagger.decode``), in batches of similar lengths."""
    return [[model.tags[k] for k in ids] for ids in by_length(logits, model.decode, EVAL_BATCH)]


def scores(model: Tagger, rows: list[np.ndarray], y: list[np.ndarray], gold: list[list[str]],
           logits_fn=logits_of) -> dict:
    """Loss, entity scores and token accuracy of ``model`` on encoded sentences (``logits_fn``: how the
    logits are computed)."""
    logits = logits_fn(model, rows)
    return {"loss": mean_loss(model, logits, y), **entity_scores(gold, decoded(model, logits))}
