"""Linear, Embedding, Dropout modules: gradient checks, initialisation, modes, entry checks."""
import numpy as np
import pytest

from rnnkit.gradcheck import gradcheck
from rnnkit.nn.layers import Dropout, Embedding, Linear


# -- Linear -------------------------------------------------------------------------
@pytest.mark.parametrize("shape, bias", [((2, 5, 3), True), ((4, 3), True), ((4, 3), False)])
def test_linear_gradcheck(rng, shape, bias):
    layer = Linear(3, 4, bias=bias, dtype="float64", seed=0)
    assert gradcheck(layer, rng.standard_normal(shape)) <= 1e-6


def test_linear_params_names_shapes_and_torch_init():
    layer = Linear(400, 50, seed=1)
    assert list(layer.params) == ["weight", "bias"] == list(layer.grads)
    assert layer.params["weight"].shape == (50, 400) and layer.params["bias"].shape == (50,)
    bound = 1 / np.sqrt(400)
    for p in layer.params.values():
        assert p.dtype == np.float32 and np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.9 * bound  # spread over the whole interval
    assert Linear(400, 50, seed=1).params["weight"].tobytes() == layer.params["weight"].tobytes()
    f64 = Linear(400, 50, dtype="float64", seed=1)
    np.testing.assert_array_equal(f64.params["weight"].astype(np.float32), layer.params["weight"])


def test_linear_keras_init():
    layer = Linear(30, 20, init="keras", seed=0)
    bound = np.sqrt(6 / 50)
    assert bound * 0.9 < np.abs(layer.params["weight"]).max() <= bound
    assert not layer.params["bias"].any()
    with pytest.raises(ValueError, match=r"init: expected one of \('torch', 'keras'\), given 'he'"):
        Linear(3, 4, init="he")


def test_linear_forward_values_and_float32(rng):
    layer = Linear(3, 4, seed=0)
    x = rng.standard_normal((2, 5, 3))  # float64 input is cast to the module's float32
    out = layer(x)
    assert out.dtype == np.float32 and out.shape == (2, 5, 4)
    w, b = layer.params["weight"], layer.params["bias"]
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-5)
    dx = layer.backward(np.ones_like(out))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_linear_backward_adds_into_grads(rng):
    layer = Linear(3, 2, dtype="float64", seed=0)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once = {k: v.copy() for k, v in layer.grads.items()}
    layer.backward(g)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k])
    layer.zero_grad()
    assert not any(v.any() for v in layer.grads.values())


def test_linear_entry_checks(rng):
    layer = Linear(3, 4)
    with pytest.raises(RuntimeError, match=r"Linear.backward called before forward"):
        layer.backward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"x: expected shape \(\*, 3\), given shape \(2, 5\)"):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"x: expected a 1-D array of shape \(3\), given shape \(\)"):
        layer(np.float32(1.0))
    layer(np.ones((2, 6, 3)))
    with pytest.raises(ValueError, match=r"dout: expected a 3-D array of shape \(2, 6, 4\), given shape \(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"in_features: expected a positive integer, given 0"):
        Linear(0, 4)


# -- Embedding ------------------------------------------------------------------------
def test_embedding_gradcheck_with_repeated_ids():
    ids = np.array([[1, 2, 1, 5], [2, 2, 0, 1]])
    assert gradcheck(Embedding(6, 3, dtype="float64", seed=0), ids) <= 1e-6


def test_embedding_padding_row_gets_no_gradient():
    # by design (as in PyTorch) the padding row's gradient is zeroed, not the true gradient
    layer = Embedding(6, 3, padding_idx=2, dtype="float64", seed=0)
    out = layer(np.array([[1, 2, 1, 5], [2, 2, 0, 1]]))
    assert layer.backward(np.ones_like(out)) is None
    np.testing.assert_array_equal(layer.grads["weight"][:, 0], [1, 3, 0, 0, 0, 1])


def test_embedding_init_and_padding_row():
    layer = Embedding(500, 40, padding_idx=-1, seed=0)
    w = layer.params["weight"]
    assert w.shape == (500, 40) and w.dtype == np.float32 and layer.padding_idx == 499
    assert not w[499].any()
    assert abs(w[:499].mean()) < 0.02 and abs(w[:499].std() - 1) < 0.02  # N(0, 1)
    out = layer(np.array([[499, 3]]))
    assert out.shape == (1, 2, 40) and not out[0, 0].any()


def test_embedding_entry_checks():
    layer = Embedding(5, 2)
    with pytest.raises(RuntimeError, match=r"Embedding.backward called before forward"):
        layer.backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"ids: expected an integer array, given dtype float64"):
        layer(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"given ids\[0, 2\] = 7"):
        layer(np.array([[0, 1, 7], [8, 0, 0]]))
    layer(np.array([[0, 1, 4]]))
    with pytest.raises(ValueError, match=r"dout: expected a 3-D array of shape \(1, 3, 2\), given shape \(3, 2\)"):
        layer.backward(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"padding_idx: expected an integer in -5\.\.4, given 5"):
        Embedding(5, 2, padding_idx=5)


# -- Dropout --------------------------------------------------------------------------
def test_dropout_gradcheck_in_training_mode(rng):
    assert gradcheck(Dropout(0.3, seed=0), rng.standard_normal((3, 4, 5))) <= 1e-6


def test_dropout_train_and_eval():
    layer = Dropout(0.25, seed=3)
    x = np.random.default_rng(0).uniform(1, 2, (100, 100)).astype(np.float32)
    out = layer(x)
    assert out.dtype == np.float32 and abs((out == 0).mean() - 0.25) < 0.02
    np.testing.assert_allclose(out[out != 0], x[out != 0] / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)) == 0, out == 0)
    np.testing.assert_array_equal(out, Dropout(0.25, seed=3)(x))  # same seed, same mask
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    assert layer.state_dict() == {}


def test_dropout_entry_checks():
    with pytest.raises(ValueError, match=r"p: expected a dropout probability in \[0, 1\), given 1"):
        Dropout(1)
    layer = Dropout(0.5)
    with pytest.raises(RuntimeError, match=r"Dropout.backward called before forward"):
        layer.backward(np.ones(3))
    with pytest.raises(ValueError, match=r"x: expected a float32 or float64 array, given dtype int64"):
        layer(np.arange(3))
    layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 3\), given shape \(3, 2\)"):
        layer.backward(np.ones((3, 2)))
