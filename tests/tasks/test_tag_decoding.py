"""tag_decoding: IOB2 transitions, and Viterbi against every tag sequence of short sentences."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.functional.losses import log_softmax
from rnnkit.tasks.tag_decoding import iob2_transitions, viterbi
from rnnkit.train.entities import chunks

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_iob2_transitions():
    allowed, first = iob2_transitions(TAGS)
    assert list(first) == [True, True, False, True, False]
    assert [TAGS[i] for i in np.flatnonzero(allowed[:, 2])] == ["B-PER", "I-PER"]
    assert [TAGS[i] for i in np.flatnonzero(allowed[:, 4])] == ["B-LOC", "I-LOC"]
    assert allowed[:, [0, 1, 3]].all()


def _is_iob2(tags: list[str]) -> bool:
    return all(not t.startswith("I-") or (p != "O" and p[2:] == t[2:]) for p, t in zip(["O"] + tags, tags))


def _brute_force(log_probs: np.ndarray) -> tuple[float, list[int]]:
    """The best total over every IOB2-valid sequence of one sentence (T, M)."""
    T, M = log_probs.shape
    return max((log_probs[np.arange(T), list(seq)].sum(), list(seq))
               for seq in itertools.product(range(M), repeat=T) if _is_iob2([TAGS[k] for k in seq]))


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_equals_brute_force_with_padding(seed):
    rng = np.random.default_rng(seed)
    lengths = np.array([4, 1, 3, 2])
    log_probs = log_softmax(rng.normal(scale=2.0, size=(4, 4, len(TAGS))))
    best = viterbi(log_probs, lengths, *iob2_transitions(TAGS))
    for b, n in enumerate(lengths):
        total, seq = _brute_force(log_probs[b, :n])
        assert best[b, :n].tolist() == seq
        assert log_probs[b, np.arange(n), best[b, :n]].sum() == pytest.approx(total)
        assert (best[b, n:] == best[b, n - 1]).all()                      # padding repeats the last tag


def test_viterbi_mends_what_argmax_breaks():
    # argmax reads O I-PER I-PER: conlleval would start a chunk at the stray I-PER
    p = np.array([[0.9, 0.02, 0.05, 0.02, 0.01], [0.3, 0.25, 0.4, 0.03, 0.02], [0.2, 0.1, 0.6, 0.05, 0.05]])
    best = viterbi(np.log(p)[None], [3], *iob2_transitions(TAGS))[0]
    assert [TAGS[k] for k in best] == ["O", "B-PER", "I-PER"]
    assert chunks([TAGS[k] for k in best]) == [("PER", 1, 2)]


def test_viterbi_without_constraints_is_argmax():
    log_probs = log_softmax(np.random.default_rng(0).normal(size=(3, 6, len(TAGS))))
    free = np.ones((len(TAGS), len(TAGS)), bool)
    np.testing.assert_array_equal(viterbi(log_probs, [6, 6, 6], free, np.ones(len(TAGS), bool)),
                                  log_probs.argmax(axis=-1))

