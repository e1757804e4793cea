"""Attention modules: gradients in float64 (parameters and queries through rk.gradcheck, keys by finite
differences), agreement with the functional pairs, accumulation, checks and float32."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.functional.attention import luong_forward, source_mask
from rnnkit.nn.attention import ATTENTIONS, BahdanauAttention, LuongAttention
from tests.conftest import numeric_grad

LENGTHS = [4, 1, 3]


def make(kind, dtype="float64"):
    return LuongAttention(5, 6, dtype=dtype, seed=0) if kind == "luong" else \
        BahdanauAttention(5, 6, attention_size=7, dtype=dtype, seed=0)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_gradcheck_parameters_and_query(kind, rng):
    att, query, keys = make(kind), rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 4, 6))
    errors = rk.gradcheck_errors(att, query, keys=keys, lengths=LENGTHS)
    assert set(errors) == set(att.params) | {"x"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_key_gradient(kind, rng):
    att, query, keys = make(kind), rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 4, 6))
    G, Ga = rng.standard_normal((3, 2, 6)), rng.standard_normal((3, 2, 4))

    def loss():
        context, alpha = att.forward(query, keys, LENGTHS)
        return np.sum(G * context) + np.sum(Ga * alpha)

    loss()
    _, dkeys = att.backward(G, Ga)
    np.testing.assert_allclose(dkeys, numeric_grad(loss, keys), atol=1e-8)


def test_module_equals_functional_and_gradients_accumulate(rng):
    att, query, keys = make("luong"), rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 4, 6))
    context, alpha = att.forward(query, keys, LENGTHS)
    c, a, _ = luong_forward(query, keys, att.params["weight"], source_mask(LENGTHS, 4))
    np.testing.assert_array_equal(context, c)
    np.testing.assert_array_equal(alpha, a)
    G = rng.standard_normal(context.shape)
    att.backward(G)
    once = att.grads["weight"].copy()
    att.forward(query, keys, LENGTHS)
    att.backward(G)
    np.testing.assert_allclose(att.grads["weight"], 2 * once)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_float32_and_no_lengths(kind, rng):
    att = make(kind, "float32")
    context, alpha = att.forward(rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 4, 6)))
    assert context.dtype == np.float32 and alpha.shape == (2, 3, 4) and np.all(alpha > 0)
    dq, dk = att.backward(np.ones_like(context))
    assert dq.dtype == dk.dtype == np.float32 and dq.shape == (2, 3, 5) and dk.shape == (2, 4, 6)


def test_checks_name_the_argument(rng):
    att = make("luong")
    with pytest.raises(ValueError, match="query: expected shape"):
        att.forward(np.zeros((2, 3, 4)), np.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match="keys: expected shape"):
        att.forward(np.zeros((2, 3, 5)), np.zeros((3, 4, 6)))
    with pytest.raises(ValueError, match="lengths"):
        att.forward(np.zeros((2, 3, 5)), np.zeros((2, 4, 6)), lengths=[5, 1])
    with pytest.raises(RuntimeError, match="call forward first"):
        make("bahdanau").backward(np.zeros((2, 3, 6)))
    with pytest.raises(ValueError, match="key_size: expected a positive integer"):
        LuongAttention(3, 0)
    assert set(ATTENTIONS) == {"luong", "bahdanau"}
    assert repr(make("bahdanau")) == "BahdanauAttention(5, 6, attention_size=7, dtype=float64)"


def test_state_dict_names():
    assert sorted(make("bahdanau").state_dict()) == ["key_weight", "query_weight", "v"]
    assert list(make("luong").state_dict()) == ["weight"]
