"""The phrase split: whole texts held out with their copies, nothing of them inside a training text."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data import phrases
from rnnkit.data.overlap import overlap
from rnnkit.data.phrases import key, parts, phrase_split
from rnnkit.errors import DataError


def treebank(sentences: list[str]) -> list[str]:
    """Every sentence and every run of its words, as a treebank of phrases labels them."""
    out = []
    for s in sentences:
        w = s.split()
        out += [" ".join(w[i:j]) for i in range(len(w)) for j in range(i + 1, len(w) + 1)]
    return out


def inside(text: str, other: str) -> bool:
    return f" {' '.join(key(text))} " in f" {' '.join(key(other))} "


def test_parts_are_shorter_runs_of_whole_words_up_to_max_span(monkeypatch):
    known = {key(t) for t in ("a b", "b c d", "a b c d", "c", "d a")}
    assert parts(key("a b c d"), known) == {key("a b"), key("b c d"), key("c")}
    assert parts(key("c"), known) == set()                      # a text is not its own part
    monkeypatch.setattr(phrases, "MAX_SPAN", 2)
    assert parts(key("a b c d"), known) == {key("a b"), key("c")}


def test_treebank_sentences_are_held_out_with_all_their_phrases():
    sentences = [f"s{i} the film was {w} ." for i, w in enumerate(["good", "bad", "dull", "great", "fine"] * 4)]
    texts = treebank(sentences) + ["THE film was GOOD ."]          # a copy of a phrase, in other case
    split = phrase_split(texts, 0.25, seed=3)
    assert split.wholes == 20 and len(split.val) == 5                # the sentences are the whole texts
    held = {texts[i] for i in split.val}
    assert held <= set(sentences)
    assert overlap([texts[i] for i in split.train], [texts[i] for i in split.val])["contained_rate"] == 0
    trained_sentences = [s for s in sentences if s not in held]
    for i in split.train:                                            # training: the other sentences and their parts
        assert any(inside(texts[i], s) for s in trained_sentences)
    left = set(range(len(texts))) - set(split.train) - set(split.val)
    assert len(left) == split.left_out > 0
    for i in left:                                                   # left out: parts of held-out sentences only
        assert any(inside(texts[i], s) for s in held) and not any(inside(texts[i], s) for s in trained_sentences)
    again = phrase_split(texts, 0.25, seed=3)
    assert np.array_equal(again.val, split.val) and np.array_equal(again.train, split.train)


def test_copies_go_to_the_same_side_and_blank_texts_train():
    texts = ["a b", "c d", "A  B", "e f", "g h", "", "c d"]
    split = phrase_split(texts, 0.5, seed=0)
    sides = {}
    for side, idx in (("train", split.train), ("val", split.val)):
        for i in idx:
            sides.setdefault(key(texts[i]), set()).add(side)
    assert all(len(s) == 1 for s in sides.values()) and 5 in split.train


def test_too_few_whole_texts_and_too_long_texts(monkeypatch):
    with pytest.raises(DataError, match="2 texts that are part of no other text: --val-fraction 0.2 leaves 0"):
        phrase_split(["a b", "a", "c"], 0.2, seed=0)
    monkeypatch.setattr(phrases, "MAX_LOOKUPS", 10)
    assert phrase_split(["one two three four", "five six seven"], 0.5, seed=0) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6), min_size=4, max_size=30),
       st.integers(0, 5))
def test_no_validation_text_is_inside_a_training_text(word_lists, seed):
    texts = [" ".join(w) for w in word_lists]
    try:
        split = phrase_split(texts, 0.3, seed)
    except DataError:
        return
    assert len(split.train) + len(split.val) + split.left_out == len(texts)
    for v in split.val:
        assert not any(inside(texts[v], texts[t]) for t in split.train)
