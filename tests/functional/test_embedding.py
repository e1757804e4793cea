"""embedding_forward / embedding_backward: lookup, repeated ids, padding, id checks."""
import numpy as np
import pytest

from rnnkit.functional.embedding import check_ids, embedding_backward, embedding_forward


def naive_dweight(ids, dout, num_embeddings):
    dweight = np.zeros((num_embeddings, dout.shape[-1]))
    for pos in np.ndindex(ids.shape):
        dweight[ids[pos]] += dout[pos]
    return dweight


def test_forward_looks_up_rows(rng):
    w, ids = rng.standard_normal((7, 3)), np.array([[1, 1, 6], [0, 2, 1]])
    out, _ = embedding_forward(ids, w)
    assert out.shape == (2, 3, 3)
    for pos in np.ndindex(ids.shape):
        np.testing.assert_array_equal(out[pos], w[ids[pos]])


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_backward_with_repeated_ids_equals_a_loop(rng, shape):
    ids = rng.integers(0, 4, shape)  # few ids: many repeats
    w = rng.standard_normal((6, 3))
    dout = rng.standard_normal(shape + (3,))
    dweight = embedding_backward(dout, embedding_forward(ids, w)[1])
    np.testing.assert_allclose(dweight, naive_dweight(ids, dout, 6), rtol=1e-12, atol=1e-15)
    assert not dweight[4:].any()  # rows nobody looked up


def test_gradient_float64_central_differences(rng):
    ids, w = rng.integers(0, 5, (3, 4)), rng.standard_normal((5, 2))
    g = rng.standard_normal((3, 4, 2))
    dweight = embedding_backward(g, embedding_forward(ids, w)[1])
    numeric, flat, eps = np.zeros(w.size), w.reshape(-1), 1e-6
    for i in range(w.size):
        old = flat[i]
        flat[i] = old + eps
        plus = np.sum(g * embedding_forward(ids, w)[0])
        flat[i] = old - eps
        minus = np.sum(g * embedding_forward(ids, w)[0])
        flat[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    err = np.abs(dweight.reshape(-1) - numeric) / np.maximum(np.abs(numeric), 1e-3 * np.abs(numeric).max())
    assert err.max() <= 1e-6


def test_padding_row_gets_no_gradient(rng):
    ids = np.array([[0, 2, 0], [1, 0, 0]])
    w, dout = rng.standard_normal((3, 2)), rng.standard_normal((2, 3, 2))
    dweight = embedding_backward(dout, embedding_forward(ids, w, padding_idx=0)[1])
    expected = naive_dweight(ids, dout, 3)
    expected[0] = 0
    np.testing.assert_allclose(dweight, expected, rtol=1e-12)


def test_empty_ids(rng):
    out, cache = embedding_forward(np.zeros((2, 0), dtype=int), rng.standard_normal((4, 3)))
    assert out.shape == (2, 0, 3)
    np.testing.assert_array_equal(embedding_backward(np.zeros((2, 0, 3)), cache), np.zeros((4, 3)))


def test_float32_stays_float32(rng):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    out, cache = embedding_forward(np.array([1, 1, 3]), w)
    assert out.dtype == np.float32
    assert embedding_backward(np.ones_like(out), cache).dtype == np.float32


def test_ids_must_be_integers():
    with pytest.raises(ValueError, match=r"ids: expected an integer array, given dtype float64"):
        check_ids(np.array([1.0, 2.0]), 5)


@pytest.mark.parametrize("bad, where", [(5, r"ids\[1, 0\] = 5"), (-1, r"ids\[1, 0\] = -1")])
def test_out_of_range_id_is_named_with_its_position(rng, bad, where):
    ids = np.array([[0, 1], [bad, 2]])
    with pytest.raises(ValueError, match=r"expected ids in 0\.\.4 \(num_embeddings = 5\), given " + where):
        embedding_forward(ids, rng.standard_normal((5, 2)))
