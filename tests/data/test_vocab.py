"""Vocabularies and batching."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import vocab as vocab_module
from rnnkit.data.batching import pad_sequences, stream_batches, stream_steps
from rnnkit.data.text import line_chunks
from rnnkit.data.vocab import (
    EOS,
    UNK,
    Vocab,
    count_chars,
    count_words,
    encode_chars,
    encode_words,
    words,
)
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


def test_streamed_counts_give_the_same_vocabularies():
    text = "the cat, the dog.\nthe cat!\n\u00e9t\u00e9 \U0001f600\n"
    chunks = [text[i:i + 5] for i in range(0, len(text), 5)]
    assert Vocab.of_char_counts(count_chars(chunks)).itos == Vocab.of_chars(text).itos
    whole = [t for line in text.split("\n") for t in words(line) + [EOS]]
    counts = count_words(line_chunks(chunks))
    assert sum(counts.values()) == len(whole)
    assert Vocab.of_word_counts(counts, 6).itos == Vocab.of_words(whole, 6).itos


def test_encoding_streams_into_a_memory_map_when_large(monkeypatch):
    text = "abcab" * 1000
    v = Vocab.of_chars(text)
    small = encode_chars([text[:2001], text[2001:]], v)
    assert small.dtype == np.uint8 and not isinstance(small, np.memmap)
    monkeypatch.setattr(vocab_module, "MEMORY_IDS", 100)
    big = encode_chars([text[:2001], text[2001:]], v)
    assert isinstance(big, np.memmap) and not big.flags.writeable
    np.testing.assert_array_equal(big, small)
    np.testing.assert_array_equal(small, v.encode(text))
    with pytest.raises(DataError, match=r"corpus: 2 symbol\(s\) not in the model's vocabulary: 'x', 'y'"):
        encode_chars(["abyx", "ax"], v, "corpus")


def test_word_ids_use_the_smallest_dtype():
    v = Vocab.of_words([f"w{i}" for i in range(300)], 1000)
    ids = encode_words(line_chunks(["w1 w2\nw299 zebra"]), v)
    assert ids.dtype == np.uint16
    assert v.decode(ids) == ["w1", "w2", EOS, "w299", UNK, EOS]


def test_vocab_json_refuses_duplicates_and_unknown_keys():
    with pytest.raises(RunError, match="vocab.json: tokens: 'a' appears more than once"):
        Vocab.from_json({"tokens": ["a", "a"]})
    with pytest.raises(RunError, match="vocab.json: unknown key"):
        Vocab.from_json({"tokens": ["a"], "extra": 1})
    with pytest.raises(RunError, match="unknown token 3"):
        Vocab.from_json({"tokens": ["a"], "unk": 3})
