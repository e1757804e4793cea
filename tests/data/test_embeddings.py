"""Pre-trained vectors: GloVe and word2vec text files, matching, and clear refusals."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.embeddings import embedding_matrix, read_vectors
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.errors import DataError

GLOVE = "the 0.1 0.2 0.3\ngood 1 0 0\nGood 9 9 9\nBad -1 0 0\nnew york 0 1 0\n"


def test_glove_lines_case_fallback_and_words_with_spaces(tmp_path):
    (tmp_path / "g.txt").write_text(GLOVE, encoding="utf-8")
    dim, vectors = read_vectors(tmp_path / "g.txt", {"good", "bad", "new york", "zebra"})
    assert dim == 3 and set(vectors) == {"good", "bad", "new york"}
    np.testing.assert_array_equal(vectors["good"], [1, 0, 0])   # the exact match wins over "Good"
    np.testing.assert_array_equal(vectors["bad"], [-1, 0, 0])   # "Bad" serves "bad"
    assert set(read_vectors(tmp_path / "g.txt")[1]) == {"the", "good", "Good", "Bad", "new york"}


def test_word2vec_header(tmp_path):
    (tmp_path / "w.txt").write_text("2 2\nhello 0.5 -0.5\nworld 1 2\n", encoding="utf-8")
    dim, vectors = read_vectors(tmp_path / "w.txt", {"world"})
    assert dim == 2 and list(vectors) == ["world"]


def test_embedding_matrix_rows(tmp_path):
    vocab = Vocab([PAD, UNK, "good", "zebra"], unk=UNK)
    vectors = {"good": np.array([1.0, 2.0])}
    W, found = embedding_matrix(vocab, vectors, 2, np.random.default_rng(0), zero=[PAD])
    assert found == 1 and W.shape == (4, 2)
    np.testing.assert_array_equal(W[0], [0, 0])
    np.testing.assert_array_equal(W[2], [1, 2])
    assert np.all(W[3] != 0)  # random, not zero


def test_errors(tmp_path):
    with pytest.raises(DataError, match="nope.txt: file not found"):
        read_vectors(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="empty.txt: the file is empty"):
        read_vectors(tmp_path / "empty.txt")
    (tmp_path / "short.txt").write_text("a 1 2 3\nb 1 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"short.txt, line 2: expected a word and 3 numbers"):
        read_vectors(tmp_path / "short.txt")
    (tmp_path / "text.txt").write_text("a 1 2\nb x y\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"text.txt, line 2: expected 2 numbers after the word 'b'"):
        read_vectors(tmp_path / "text.txt")
    (tmp_path / "latin.txt").write_bytes("a 1 2\ncaf\xe9 1 2\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt: not valid UTF-8 at byte offset 9 \(line 2\)"):
        read_vectors(tmp_path / "latin.txt")
    (tmp_path / "words.txt").write_text("just words\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"words.txt, line 1: expected 1 numbers after the word 'just'"):
        read_vectors(tmp_path / "words.txt")
