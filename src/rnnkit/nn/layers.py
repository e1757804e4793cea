"""The building blocks around the recurrent layers: Linear, Embedding, Dropout.

Thin stateful wrappers over ``rnnkit.functional``: each checks its input
where it enters, calls the ``*_forward`` function, keeps the cache, and on
``backward`` adds the parameter gradients into ``grads``.

Dimensions: D = in features, M = out features, V = number of embeddings,
E = embedding size, ``...`` = any leading axes (B, T for sequences).

    Linear:     y = x W^T + b,   W (M, D), b (M,)     x (..., D) -> y (..., M)
    Embedding:  y = W[ids],      W (V, E)             ids (...) -> y (..., E)
    Dropout:    y = x ⊙ m / (1 - p), m ~ Bernoulli(1 - p); y = x in eval mode

Initialisation: Linear's ``init="torch"`` (default) draws W and b from
U(-1/√D, 1/√D), as PyTorch (kaiming-uniform with a = √5); ``init="keras"``
draws W from Glorot's U(-√(6/(D+M)), √(6/(D+M))) with b = 0, as Keras' Dense.
Embedding draws W from N(0, 1) and zeroes the ``padding_idx`` row, as PyTorch.
Values are drawn in float64 and then cast, so one seed gives the same model
in both dtypes.
"""
from __future__ import annotations

import numpy as np

from rnnkit._checks import FLOAT_DTYPES, check_array
from rnnkit.functional.dropout import check_p, dropout_backward, dropout_forward
from rnnkit.functional.embedding import embedding_backward, embedding_forward
from rnnkit.functional.linear import linear_backward, linear_forward
from rnnkit.nn.init import INITS, glorot_uniform, uniform
from rnnkit.nn.module import Module


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, given {value!r}")
    return int(value)


class _Cached(Module):
    """A module whose backward needs the cache of its last forward and checks dout's shape."""

    _cache = None

    def _keep(self, out: np.ndarray, cache) -> np.ndarray:
        """Remember the forward pass (its cache, and the shape and dtype dout must have)."""
        self._cache, self._out_shape, self._out_dtype = cache, out.shape, out.dtype
        return out

    def _check_dout(self, dout) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "there is no cached forward pass to differentiate")
        return check_array("dout", dout, self._out_shape, self._out_dtype)


class Linear(_Cached):
    """y = x W^T + b on the last axis; params ``weight`` (M, D) and ``bias`` (M,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype="float32", seed=None, init: str = "torch"):
        super().__init__(dtype)
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        rng = np.random.default_rng(seed)
        shape = (self.out_features, self.in_features)
        if init == "torch":
            bound = 1.0 / np.sqrt(self.in_features)
            weight, b = uniform(rng, shape, bound), uniform(rng, self.out_features, bound)
        elif init == "keras":
            weight, b = glorot_uniform(rng, shape), np.zeros(self.out_features)
        else:
            raise ValueError(f"init: expected one of {INITS}, given {init!r}")
        self.add_param("weight", weight)
        if bias:
            self.add_param("bias", b)

    def forward(self, x) -> np.ndarray:
        """x (..., D) -> y (..., M); x is cast to the module's dtype."""
        lead = [None] * max(np.ndim(x) - 1, 0)
        x = check_array("x", x, (*lead, self.in_features), self.dtype)
        return self._keep(*linear_forward(x, self.params["weight"], self.params.get("bias")))

    def backward(self, dout) -> np.ndarray:
        """dout (..., M) -> dx (..., D); adds dW (and db) into ``grads``."""
        dx, dweight, dbias = linear_backward(self._check_dout(dout), self._cache)
        self.grads["weight"] += dweight
        if dbias is not None:
            self.grads["bias"] += dbias
        return dx

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={'bias' in self.params}, dtype={self.dtype.name})")


class Embedding(_Cached):
    """Lookup table; param ``weight`` (V, E). ``padding_idx`` (may be negative, as in PyTorch)
    names a row that starts at zero and never receives a gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype="float32", seed=None):
        super().__init__(dtype)
        self.num_embeddings = _check_size("num_embeddings", num_embeddings)
        self.embedding_dim = _check_size("embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not isinstance(padding_idx, (int, np.integer)) or not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx: expected an integer in {-num_embeddings}..{num_embeddings - 1}, "
                                 f"given {padding_idx!r}")
            padding_idx = int(padding_idx) % num_embeddings
        self.padding_idx = padding_idx
        weight = np.random.default_rng(seed).standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.add_param("weight", weight)

    def forward(self, ids) -> np.ndarray:
        """ids (...) integer in 0..V-1 -> y (..., E)."""
        return self._keep(*embedding_forward(ids, self.params["weight"], self.padding_idx))

    def backward(self, dout) -> None:
        """dout (..., E) -> None (ids have no gradient); adds dW into ``grads``."""
        self.grads["weight"] += embedding_backward(self._check_dout(dout), self._cache)

    def __repr__(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}{pad}, dtype={self.dtype.name})"


class Dropout(_Cached):
    """Inverted dropout with its own generator ``rng``; the identity in eval mode.

    Keeps the input's dtype (float32 or float64), whatever ``self.dtype`` is.
    """

    def __init__(self, p: float = 0.5, seed=None):
        super().__init__()
        self.p = check_p(p)
        self.rng = np.random.default_rng(seed)

    def forward(self, x) -> np.ndarray:
        """x (...) float -> y (...) of the same shape and dtype."""
        x = np.asarray(x)
        if x.dtype not in FLOAT_DTYPES:
            raise ValueError(f"x: expected a float32 or float64 array, given dtype {x.dtype}")
        return self._keep(*dropout_forward(x, self.p, self.rng, self.training))

    def backward(self, dout) -> np.ndarray:
        """dout (...) -> dx (...): the mask of the last forward pass."""
        return dropout_backward(self._check_dout(dout), self._cache)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
