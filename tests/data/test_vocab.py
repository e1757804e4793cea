"""Vocabularies and batching."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.batching import pad_sequences, stream_batches, stream_steps
from rnnkit.data.vocab import EOS, UNK, Vocab, words
from rnnkit.errors import DataError, RunError


def test_char_vocab_round_trip_and_unknowns():
    v = Vocab.of_chars("hello")
    assert v.itos == ["e", "h", "l", "o"]
    np.testing.assert_array_equal(v.encode("hole"), [1, 3, 2, 0])
    assert "".join(v.decode(v.encode("hole"))) == "hole"
    with pytest.raises(DataError, match=r"TEXT: 2 symbol\(s\) not in the model's vocabulary: 'a', 'z'"):
        v.encode("haze", "TEXT")
    assert Vocab.from_json(v.to_json()).itos == v.itos


def test_word_vocab_caps_size_and_maps_unknown():
    toks = words("the cat, the dog. the cat!") + [EOS]
    v = Vocab.of_words(toks, max_size=4)
    assert v.itos[:2] == [UNK, EOS] and v.itos[2] == "the" and len(v) == 4
    assert v.decode(v.encode(["the", "zebra"])) == ["the", UNK]


def test_vocab_json_is_validated():
    with pytest.raises(RunError, match="vocab.json: expected"):
        Vocab.from_json({"tokens": "abc"})
    with pytest.raises(RunError, match="unknown token"):
        Vocab.from_json({"tokens": ["a"], "unk": "<unk>"})


def test_stream_batches_cover_the_text_in_order():
    ids = np.arange(101)
    chunks = list(stream_batches(ids, batch_size=4, bptt=10))
    assert len(chunks) == 3 and chunks[0][0].shape == (4, 10) and chunks[-1][0].shape == (4, 5)
    x = np.concatenate([c[0] for c in chunks], axis=1)
    y = np.concatenate([c[1] for c in chunks], axis=1)
    np.testing.assert_array_equal(x[1], np.arange(25, 50))
    np.testing.assert_array_equal(y, x + 1)
    assert stream_steps(101, 4, 10) == 3


def test_pad_sequences():
    out, lengths = pad_sequences([np.array([1, 2, 3]), np.array([4])], pad=0)
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])
