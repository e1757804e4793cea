"""Fuzzing the word-vector reader: any bytes give vectors of one length or a DataError."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.embeddings import read_vectors
from rnnkit.errors import DataError
from tests.conftest import fuzzed_bytes, read_in_tmp

GLOVE = "the 0.1 0.2 0.3\ngood 1 0 0\nGood 9 9 9\nnew york 0 1 0\n".encode()
WORD2VEC = "2 2\nhello 0.5 -0.5\nworld 1e3 2\n".encode()


@settings(max_examples=150, deadline=None)
@given(data=fuzzed_bytes(GLOVE, WORD2VEC), wanted=st.sampled_from([None, {"good", "world", "the"}]))
def test_vectors_or_a_data_error(data, wanted):
    result = read_in_tmp("v.txt", data, lambda path: read_vectors(path, wanted), DataError)
    if not isinstance(result, DataError):
        dim, vectors = result
        assert dim >= 1
        assert all(v.shape == (dim,) and v.dtype == np.float64 for v in vectors.values())
        assert wanted is None or set(vectors) <= wanted
