"""Numerical gradient checking for any rnnkit module.

The loss is a random projection of every output, L = Σ_k <G_k, Y_k>, so the
upstream gradient of output Y_k is G_k. The analytical gradient comes from
``module.backward``; the numerical one from the five-point central
difference (error O(ε⁴), so ε can be large enough for rounding not to matter),

    ∂L/∂θ_j ≈ Σ_k <G_k, 8 (Y_k(θ + ε e_j) − Y_k(θ − ε e_j)) − (Y_k(θ + 2ε e_j) − Y_k(θ − 2ε e_j))> / 12ε,

with the differences taken output by output (not from L itself) so that
rounding in a large loss does not swamp them.

Relative error of one element: |a − n| / max(|a|, |n|, 1e-3·s), where s is
the largest numerical gradient of that tensor: entries a thousand times
smaller than the tensor's scale are judged against that scale rather than
against themselves, where rounding dominates. Use float64 modules: float32
cannot resolve errors below about 1e-3.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from rnnkit.nn.module import Module


def _leaves(tree) -> list[np.ndarray]:
    """Flatten nested tuples/lists of arrays (None dropped) into a list."""
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [tree]


def _rebuild(tree, leaves: Iterable[np.ndarray]):
    """The structure of ``tree`` with its leaves taken in order from ``leaves``."""
    it = iter(leaves)

    def build(t):
        if t is None:
            return None
        if isinstance(t, (tuple, list)):
            return type(t)(build(s) for s in t)
        return next(it)

    return build(tree)


def _rng_states(module: Module):
    """Snapshot of every sub-module's random generator, so dropout repeats."""
    return [(m, m.rng.bit_generator.state) for _, m in module.named_modules() if hasattr(m, "rng")]


def _restore(states) -> None:
    for m, s in states:
        m.rng.bit_generator.state = s


def _rel_error(a: np.ndarray, n: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    floor = max(1e-3 * float(np.abs(n).max()), 1e-30)
    den = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return float((np.abs(a - n) / den).max())


def gradcheck_errors(module: Module, x, eps: float = 1e-4, seed: int = 0,
                     n_checks: int | None = None, **forward_kwargs) -> dict[str, float]:
    """Relative error of every gradient ``module.backward`` produces.

    Args:
        module: any rnnkit module. ``forward(x, **forward_kwargs)`` returns an
            array or a tuple ``(out, state)``; ``backward`` takes the matching
            upstream gradients and returns ``dx`` or ``(dx, dstate)``.
        x: the input; checked too when it is a float array.
        eps: finite-difference step.
        seed: seed of the random upstream gradients and of the sampled entries.
        n_checks: check at most this many random entries per tensor (all when None).
        forward_kwargs: passed to ``forward``; a float ``state`` is checked too.

    Returns:
        ``{name: max relative error}`` for each parameter (PyTorch's names),
        ``"x"`` and ``"state[i]"``.
    """
    rng = np.random.default_rng(seed)
    rngs = _rng_states(module)

    def run():
        _restore(rngs)
        return module.forward(x, **forward_kwargs)

    outs = run()
    upstream = [rng.standard_normal(o.shape).astype(o.dtype) for o in _leaves(outs)]
    module.zero_grad()
    if isinstance(outs, tuple):
        dstructure = _rebuild(outs, upstream)
        back = module.backward(*dstructure)
    else:
        back = module.backward(upstream[0])
    dx, dstate = back if isinstance(back, tuple) else (back, None)

    tensors = {name: (p, module.gradients()[name]) for name, p in module.parameters().items()}
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        tensors["x"] = (x, dx)
    state = forward_kwargs.get("state")
    for i, (s, ds) in enumerate(zip(_leaves(state), _leaves(dstate))):
        tensors[f"state[{i}]"] = (s, ds)

    errors = {}
    for name, (value, analytic) in tensors.items():
        analytic = np.array(analytic, dtype=np.float64)
        idx = np.arange(value.size) if n_checks is None or value.size <= n_checks \
            else rng.choice(value.size, n_checks, replace=False)
        numeric = np.zeros(len(idx))
        flat = value.reshape(-1)
        if not np.shares_memory(flat, value):
            raise ValueError(f"{name}: gradcheck needs a C-contiguous array, given one with strides {value.strides}")
        for j, k in enumerate(idx):
            old = flat[k]
            runs = []
            for step in (2 * eps, eps, -eps, -2 * eps):
                flat[k] = old + step
                runs.append(_leaves(run()))
            flat[k] = old
            numeric[j] = sum(float(np.sum(g * (8 * (p1 - m1) - (p2 - m2)), dtype=np.float64))
                             for g, p2, p1, m1, m2 in zip(upstream, *runs)) / (12 * eps)
        errors[name] = _rel_error(analytic.reshape(-1)[idx], numeric)
    _restore(rngs)
    return errors


def gradcheck(module: Module, x, eps: float = 1e-4, seed: int = 0,
              n_checks: int | None = None, **forward_kwargs) -> float:
    """Largest relative error over all gradients of ``module`` (see :func:`gradcheck_errors`).

    Example::

        >>> import numpy as np, rnnkit as rk
        >>> lstm = rk.LSTM(3, 4, dtype="float64", seed=0)
        >>> x = np.random.default_rng(0).standard_normal((2, 5, 3))
        >>> rk.gradcheck(lstm, x) < 1e-6
        True
    """
    return max(gradcheck_errors(module, x, eps, seed, n_checks, **forward_kwargs).values())
