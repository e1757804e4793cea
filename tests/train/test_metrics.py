"""Classification metrics against values worked out by hand and, when installed, scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.train.metrics import (
    accuracy,
    classification_scores,
    confusion_matrix,
    format_confusion,
    macro_f1,
    precision_recall_f1,
)

# rows true, columns predicted:   [[1, 1, 0],   class 0: TP 1, FP 1, FN 1 -> F1 2/4 = 0.5
#                                  [0, 2, 0],   class 1: TP 2, FP 1, FN 0 -> F1 4/5 = 0.8
#                                  [1, 0, 2]]   class 2: TP 2, FP 0, FN 1 -> F1 4/5 = 0.8
TRUE = [0, 0, 1, 1, 2, 2, 2]
PRED = [0, 1, 1, 1, 2, 0, 2]


def test_by_hand():
    np.testing.assert_array_equal(confusion_matrix(TRUE, PRED), [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert accuracy(TRUE, PRED) == pytest.approx(5 / 7)
    assert macro_f1(TRUE, PRED) == pytest.approx((0.5 + 0.8 + 0.8) / 3)
    per = precision_recall_f1(confusion_matrix(TRUE, PRED))
    np.testing.assert_allclose(per["precision"], [1 / 2, 2 / 3, 1.0])
    np.testing.assert_allclose(per["recall"], [1 / 2, 1.0, 2 / 3])
    np.testing.assert_array_equal(per["support"], [2, 2, 3])
    scores = classification_scores(TRUE, PRED, 4)
    assert scores["confusion"][3] == [0, 0, 0, 0] and scores["accuracy"] == pytest.approx(5 / 7)


def test_zero_division_follows_scikit_learn():
    # class 1 is never predicted: precision 0/0 -> 0, F1 0; class 2 occurs nowhere: left out of the mean
    assert macro_f1([0, 0, 1], [0, 0, 0]) == pytest.approx((0.8 + 0.0) / 2)
    assert macro_f1([0, 0, 1], [0, 0, 0], labels=[0, 1, 2]) == pytest.approx(0.8 / 3)  # listed: adds a 0
    assert macro_f1([0, 0], [0, 1]) == pytest.approx((2 / 3 + 0.0) / 2)  # predicted, never true: 0
    assert macro_f1([1, 1], [1, 1]) == 1.0
    np.testing.assert_array_equal(confusion_matrix([0, 0, 1], [0, 0, 0], 3), [[2, 0, 0], [1, 0, 0], [0, 0, 0]])


def test_bad_input():
    with pytest.raises(ValueError, match="expected as many predictions"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one example"):
        macro_f1([], [])
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix([0.5], [0])
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix([0, 3], [0, 0], 2)


def test_format_confusion_names_rows_and_columns():
    text = format_confusion(confusion_matrix(TRUE, PRED), ["neg", "neutral", "pos"])
    lines = text.splitlines()
    assert lines[0].split()[-4:] == ["neg", "neutral", "pos", "recall"]
    assert lines[1].split() == ["neg", "1", "1", "0", "0.500"]
    assert lines[3].split() == ["pos", "1", "0", "2", "0.667"]
    assert lines[4].split() == ["precision", "0.500", "0.667", "1.000"]


def test_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for trial in range(20):
        C = int(rng.integers(2, 6))
        t, p = rng.integers(0, C, 30), rng.integers(0, C, 30)
        if trial % 3 == 0:
            p[p == C - 1] = 0  # a class never predicted
        assert accuracy(t, p) == pytest.approx(metrics.accuracy_score(t, p))
        assert macro_f1(t, p) == pytest.approx(metrics.f1_score(t, p, average="macro", zero_division=0))
        assert macro_f1(t, p, labels=range(C + 1)) == pytest.approx(
            metrics.f1_score(t, p, labels=list(range(C + 1)), average="macro", zero_division=0))
        np.testing.assert_array_equal(confusion_matrix(t, p, C), metrics.confusion_matrix(t, p, labels=range(C)))
