"""Classification metrics: accuracy, per-class precision/recall/F1, macro-F1, the confusion matrix.

Legend: N examples, C classes; ``y_true`` and ``y_pred`` are (N,) integer class ids in 0..C-1.

    accuracy      = (1/N) Σ_n [ŷ_n = y_n]
    confusion     M[i, j] = #{n : y_n = i, ŷ_n = j}        rows = true class, columns = predicted
    per class c   TP = M[c, c],  FP = Σ_i M[i, c] − TP,  FN = Σ_j M[c, j] − TP
                  precision = TP / (TP + FP),  recall = TP / (TP + FN),  F1 = 2 TP / (2 TP + FP + FN)
    macro-F1      = the unweighted mean of F1 over the classes

A ratio whose denominator is 0 counts as 0, and by default the macro mean runs over the classes
that occur in ``y_true`` or ``y_pred``, so a class the data never mentions is left out while a class
that is only predicted (or only true) scores 0. That is scikit-learn's
``f1_score(y_true, y_pred, average="macro", zero_division=0)``; pass ``labels`` to average over a
fixed set instead (a listed class that never occurs then adds a 0, as in scikit-learn).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _ids(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected a 1-D array of integer class ids, given shape {arr.shape} "
                         f"and dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: expected class ids >= 0, given {int(arr.min())}")
    return arr.astype(np.int64)


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _ids("y_true", y_true), _ids("y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_pred: expected as many predictions as y_true has entries ({t.size}), given {p.size}")
    if t.size == 0:
        raise ValueError("y_true: expected at least one example, given none")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions equal to the true class."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """(C, C) int64 counts, rows = true class, columns = predicted (C: ``num_classes`` or the largest id + 1)."""
    t, p = _pair(y_true, y_pred)
    largest = int(max(t.max(), p.max()))
    C = largest + 1 if num_classes is None else num_classes
    if largest >= C:
        raise ValueError(f"num_classes: expected more than the largest class id {largest}, given {C}")
    return np.bincount(t * C + p, minlength=C * C).reshape(C, C)


def precision_recall_f1(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class ``precision``, ``recall``, ``f1`` (float64, 0 where undefined) and ``support`` of a
    confusion matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(m)
    predicted, support = m.sum(axis=0), m.sum(axis=1)              # TP + FP, TP + FN

    def ratio(num, den):
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    return {"precision": ratio(tp, predicted), "recall": ratio(tp, support),
            "f1": ratio(2 * tp, predicted + support), "support": support.astype(np.int64)}


def macro_f1(y_true, y_pred, labels: Sequence[int] | None = None) -> float:
    """The mean F1 over ``labels`` (default: the classes in ``y_true`` or ``y_pred``), as scikit-learn's."""
    t, p = _pair(y_true, y_pred)
    classes = np.union1d(t, p) if labels is None else _ids("labels", list(labels))
    if classes.size == 0:
        raise ValueError("labels: expected at least one class, given none")
    C = int(max(t.max(), p.max(), classes.max())) + 1
    f1 = precision_recall_f1(confusion_matrix(t, p, C))["f1"]
    return float(f1[classes].mean())


def classification_scores(y_true, y_pred, num_classes: int) -> dict:
    """accuracy, macro_f1 and the confusion matrix (as nested lists, ready for JSON) in one call."""
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    return {"accuracy": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred),
            "confusion": matrix.tolist()}


def format_confusion(matrix, names: Sequence[str]) -> str:
    """A text table of a confusion matrix with class names (rows true, columns predicted), and per-class scores.

    Example (two classes)::

        true \\ predicted    neg    pos   recall
        neg                 240     60    0.800
        pos                  52    248    0.827
        precision         0.822  0.805
    """
    m = np.asarray(matrix, dtype=np.int64)
    names = [str(n) for n in names]
    scores = precision_recall_f1(m)
    corner = "true \\ predicted"
    first = max([len(corner), len("precision")] + [len(n) for n in names])
    width = max([6] + [len(n) for n in names] + [len(str(v)) for v in m.ravel()])
    rows = [f"{corner:<{first}}  " + "  ".join(f"{n:>{width}}" for n in names) + "  recall"]
    for name, counts, recall in zip(names, m, scores["recall"]):
        rows.append(f"{name:<{first}}  " + "  ".join(f"{int(c):>{width}}" for c in counts) + f"  {recall:6.3f}")
    rows.append(f"{'precision':<{first}}  " + "  ".join(f"{v:>{width}.3f}" for v in scores["precision"]))
    return "\n".join(rows)
