"""Entity-level precision, recall and F1 as conlleval computes them, and token accuracy.

A tag is ``O`` or PREFIX-TYPE with PREFIX one of B, I (IOB1, IOB2) or E, S (IOBES). Reading a
sentence left to right, with ``O`` before its first tag and after its last, a chunk ends before
tag t and another starts at t by conlleval's rules (prev = the tag before t, types compared as strings):

    ends   before t:  prev is E or S; prev B/I and tag B/S/O; prev not O and prev type ≠ type
    starts at t:      tag B or S; prev E/S/O and tag I/E; tag not O and type ≠ prev type

so ``I-X`` after ``O`` starts a chunk (IOB1) and every ``B-X`` starts one (IOB2). Chunks are
(sentence, type, first, last) and a predicted chunk is correct only if the same chunk is in the gold
tags. With G gold chunks, P predicted chunks and C correct ones (overall, or of one type):

    precision = C / P,   recall = C / G,   F1 = 2 · precision · recall / (precision + recall)

each 0 when its denominator is 0. Token accuracy is the fraction of tokens, ``O`` included, whose
tag equals the gold tag. This is what conlleval.pl prints (as percentages) and what ``seqeval``'s
default mode computes; ``tests/train/test_entities.py`` checks it against recorded seqeval numbers.
Reference: Tjong Kim Sang & De Meulder, "Introduction to the CoNLL-2003 Shared Task", 2003.
"""
from __future__ import annotations

from collections import Counter

from rnnkit.errors import RnnkitError


def _parts(tag: str) -> tuple[str, str]:
    """(prefix, type): "B-PER" -> ("B", "PER"), "O" -> ("O", "")."""
    return ("O", "") if tag == "O" else (tag[:1], tag[2:])


def _ends(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    return (prev in "ES" or (prev in "BI" and tag in "BSO")
            or (prev != "O" and prev_type != kind))


def _starts(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    return (tag in "BS" or (prev in "ESO" and tag in "IE")
            or (tag != "O" and prev_type != kind))


def chunks(tags: list[str]) -> list[tuple[str, int, int]]:
    """The chunks (type, first, last) of one sentence's tags, conlleval's way."""
    found, prev, prev_type, begin = [], "O", "", 0
    for t, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = _parts(tag)
        if _ends(prev, prefix, prev_type, kind):
            found.append((prev_type, begin, t - 1))
        if _starts(prev, prefix, prev_type, kind):
            begin = t
        prev, prev_type = prefix, kind
    return found


def _chunk_sets(sentences: list[list[str]]) -> set[tuple[int, str, int, int]]:
    return {(i, *c) for i, tags in enumerate(sentences) for c in chunks(tags)}


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "gold": gold, "predicted": predicted, "correct": correct}


def _check(gold: list[list[str]], pred: list[list[str]]) -> None:
    if len(gold) != len(pred):
        raise RnnkitError(f"pred: expected {len(gold)} sentences (as many as gold), given {len(pred)}")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise RnnkitError(f"pred: sentence {i} has {len(p)} tags, the gold sentence {len(g)}")


def entity_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """conlleval's scores of predicted against gold tags (lists of sentences of tags).

    Returns ``{"precision", "recall", "f1", "accuracy", "tokens", "gold", "predicted", "correct",
    "types": {TYPE: {"precision", "recall", "f1", "gold", "predicted", "correct"}}}``, fractions in
    [0, 1]; the types are those found in either, sorted.
    """
    _check(gold, pred)
    g, p = _chunk_sets(gold), _chunk_sets(pred)
    hit = g & p
    count = lambda spans: Counter(c[1] for c in spans)  # noqa: E731 - chunks per type
    gold_n, pred_n, hit_n = count(g), count(p), count(hit)
    tokens = sum(len(s) for s in gold)
    same = sum(a == b for gs, ps in zip(gold, pred) for a, b in zip(gs, ps))
    types = {k: _prf(hit_n[k], pred_n[k], gold_n[k]) for k in sorted(set(gold_n) | set(pred_n))}
    return {**_prf(len(hit), len(p), len(g)), "accuracy": same / tokens if tokens else 0.0,
            "tokens": tokens, "types": types}


def format_entity_scores(scores: dict) -> str:
    """A conlleval-like table: one row per type and one overall, then the token accuracy."""
    rows = [f"{'type':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'gold':>6} {'predicted':>9}"]
    for name, s in [*scores["types"].items(), ("overall", scores)]:
        rows.append(f"{name:<10} {s['precision']:>9.4f} {s['recall']:>7.4f} {s['f1']:>7.4f} "
                    f"{s['gold']:>6} {s['predicted']:>9}")
    rows.append(f"token accuracy {scores['accuracy']:.4f} ({scores['tokens']} tokens)")
    return "\n".join(rows)
