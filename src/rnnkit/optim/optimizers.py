"""Optimizers: SGD (with momentum and Nesterov), Adagrad, RMSprop, Adam and AdamW.

Every optimizer updates a flat dict of parameters in place from a dict of
gradients with the same keys, ``opt.step(model.parameters(), model.gradients())``,
and keeps its per-parameter state (momentum buffers, running averages) keyed
by the parameter's name. Arithmetic stays in each parameter's own dtype.

Notation: p a parameter, g its gradient at step t (counted per parameter from
1), lr the learning rate, wd the weight decay, and every operation elementwise.

SGD (PyTorch's ``torch.optim.SGD`` with dampening 0)::

    g   = g + wd * p
    b_t = mu * b_{t-1} + g                 (b_0 = 0; only when momentum mu > 0)
    g   = g + mu * b_t   if nesterov, else  g = b_t
    p   = p - lr * g

Adagrad in the form of Karpathy's min-char-rnn (eps *inside* the square root;
``torch.optim.Adagrad`` adds eps *outside* it, so the two differ slightly)::

    s_t = s_{t-1} + g * g                   (s_0 = 0)
    p   = p - lr * g / sqrt(s_t + eps)

RMSprop (PyTorch's ``torch.optim.RMSprop``, centered=False)::

    g   = g + wd * p
    v_t = alpha * v_{t-1} + (1 - alpha) * g * g
    b_t = mu * b_{t-1} + g / (sqrt(v_t) + eps);  p = p - lr * b_t   (momentum mu > 0)
    p   = p - lr * g / (sqrt(v_t) + eps)                             (otherwise)

Adam and AdamW (PyTorch's ``torch.optim.Adam`` / ``AdamW``, amsgrad=False)::

    g   = g + wd * p                        (Adam: L2 penalty added to the gradient)
    p   = p * (1 - lr * wd)                 (AdamW: decoupled decay of the weights)
    m_t = beta1 * m_{t-1} + (1 - beta1) * g
    v_t = beta2 * v_{t-1} + (1 - beta2) * g * g
    p   = p - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

``opt.lr`` is a plain attribute: a learning-rate schedule may change it
between steps (any finite value >= 0, so a warm-up may start at 0).

Checkpoints: ``opt.state_dict()`` gives ``(arrays, meta)``, the state tensors
under ``"<slot>.<parameter name>"`` (e.g. ``"exp_avg.weight_ih_l0"``, ready for
safetensors) and a JSON-serialisable dict (class name, hyper-parameters, step
count of every parameter); ``load_state_dict(arrays, meta)`` restores them so
that training continues bit for bit as if never interrupted.

References: Sutskever et al., "On the importance of initialization and
momentum in deep learning" (2013); Duchi et al., "Adaptive subgradient methods"
(2011); Tieleman & Hinton, Lecture 6.5 of "Neural Networks for Machine
Learning" (2012); Kingma & Ba, "Adam" (2015); Loshchilov & Hutter, "Decoupled
weight decay regularization" (2019); Karpathy, min-char-rnn.py (2015).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from rnnkit._checks import FLOAT_DTYPES


def _number(name: str, value, expected: str, ok: Callable[[float], bool]) -> float:
    """``value`` as a finite float satisfying ``ok``; ``ValueError`` naming ``name`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or not ok(v):
        raise ValueError(f"{name}: expected {expected}, given {value!r}")
    return v


def _betas(betas) -> tuple[float, float]:
    """``betas`` as a pair of floats, each in [0, 1)."""
    expected = f"two numbers in [0, 1), given {betas!r}"
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"betas: expected {expected}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas: expected {expected}")
    return b1, b2


class Optimizer:
    """Base class: argument checks, per-parameter state, state dicts.

    A subclass lists its constructor arguments in ``hyper_names`` (stored as
    attributes of the same names), the state arrays it keeps per parameter in
    ``slots``, and implements ``_update(key, p, g, lr)``, which changes ``p``
    in place and may read or create state through ``_slot``.
    """

    hyper_names: tuple[str, ...] = ("lr",)

    def __init__(self, lr):
        self.lr = _number("lr", lr, "a number > 0", lambda v: v > 0)
        self.steps: dict[str, int] = {}  # updates applied to each parameter
        self.state: dict[str, dict[str, np.ndarray]] = {}  # state[slot][parameter name]

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the state arrays kept for every parameter."""
        return ()

    def hyper_parameters(self) -> dict[str, Any]:
        """The constructor arguments (``lr`` as it is now), JSON-serialisable."""
        values = {n: getattr(self, n) for n in self.hyper_names}
        # a schedule may have set lr to a NumPy scalar; betas is a tuple
        return {n: v.item() if isinstance(v, np.generic) else list(v) if isinstance(v, tuple) else v
                for n, v in values.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
        return f"{type(self).__name__}({args})"

    # -- the update -------------------------------------------------------------
    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes).

        Everything is checked before anything changes, so a ``ValueError``
        leaves the parameters and the state untouched.
        """
        lr = _number("lr", self.lr, "a number >= 0 (opt.lr, set after construction)", lambda v: v >= 0)
        self._check(params, grads)
        for key, p in params.items():
            self.steps[key] = self.steps.get(key, 0) + 1
            self._update(key, p, np.asarray(grads[key], dtype=p.dtype), lr)

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Same keys, float arrays to update in place, gradients and state of the parameters' shapes."""
        if params.keys() != grads.keys():
            no_grad, no_param = sorted(params.keys() - grads.keys()), sorted(grads.keys() - params.keys())
            raise ValueError("params and grads: expected the same keys, given "
                             f"parameters without a gradient {no_grad} and gradients without a parameter {no_param}")
        for key, p in params.items():
            if not isinstance(p, np.ndarray):
                raise TypeError(f"params[{key!r}]: expected a NumPy array (updated in place), given {type(p).__name__}")
            if p.dtype not in FLOAT_DTYPES:
                raise ValueError(f"params[{key!r}]: expected a float32 or float64 array, given dtype {p.dtype}")
            if np.shape(grads[key]) != p.shape:
                raise ValueError(f"grads[{key!r}]: expected shape {p.shape} (the parameter's), "
                                 f"given shape {np.shape(grads[key])}")
            for slot, bufs in self.state.items():
                if key in bufs and bufs[key].shape != p.shape:
                    raise ValueError(f"optimizer state {slot}.{key}: has shape {bufs[key].shape}, "
                                     f"the parameter has shape {p.shape} (a checkpoint of another model?)")

    def _slot(self, slot: str, key: str, p: np.ndarray) -> np.ndarray:
        """The state array ``slot`` of parameter ``key``: zeros at first, always in ``p``'s dtype."""
        bufs = self.state.setdefault(slot, {})
        buf = bufs.get(key)
        if buf is None or buf.dtype != p.dtype:
            bufs[key] = buf = np.zeros_like(p) if buf is None else buf.astype(p.dtype)
        return buf

    # -- checkpoints ---------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: copies of the state tensors and a JSON-serialisable description."""
        arrays = {f"{slot}.{key}": buf.copy() for slot, bufs in self.state.items() for key, buf in bufs.items()}
        meta = {"class": type(self).__name__, "hyper_parameters": self.hyper_parameters(),
                "steps": dict(self.steps)}
        return arrays, meta

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave (hyper-parameters included).

        Raises ``ValueError`` on another optimizer's class, invalid
        hyper-parameters, or missing, unexpected or non-float tensors; nothing
        changes unless everything matches.
        """
        fresh = self._from_meta(meta)
        steps = dict(meta["steps"])
        expected = {f"{slot}.{key}" for slot in fresh.slots for key in steps}
        problems = [f"missing: {k}" for k in sorted(expected - arrays.keys())]
        problems += [f"unexpected: {k}" for k in sorted(arrays.keys() - expected)]
        problems += [f"not a float array: {k} ({np.asarray(arrays[k]).dtype})" for k in sorted(expected & arrays.keys())
                     if np.asarray(arrays[k]).dtype not in FLOAT_DTYPES]
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: arrays do not match meta:\n  "
                             + "\n  ".join(problems))
        for name in self.hyper_names:
            setattr(self, name, getattr(fresh, name))
        self.steps = steps
        self.state = {slot: {key: np.array(arrays[f"{slot}.{key}"]) for key in steps} for slot in fresh.slots}

    def _from_meta(self, meta: Mapping[str, Any]) -> "Optimizer":
        """A new optimizer of this class built (and so checked) from ``meta``'s hyper-parameters."""
        missing = [k for k in ("class", "hyper_parameters", "steps") if k not in meta]
        if missing:
            raise ValueError(f"meta: expected the keys 'class', 'hyper_parameters' and 'steps', missing {missing}")
        if meta["class"] != type(self).__name__:
            raise ValueError(f"meta['class']: expected {type(self).__name__!r}, given {meta['class']!r}")
        hyper = dict(meta["hyper_parameters"])
        if set(hyper) != set(self.hyper_names):
            raise ValueError(f"meta['hyper_parameters']: expected the keys {sorted(self.hyper_names)}, "
                             f"given {sorted(hyper)}")
        bad = {k: n for k, n in meta["steps"].items() if isinstance(n, bool) or not isinstance(n, int) or n < 1}
        if bad:
            raise ValueError(f"meta['steps']: expected integers >= 1, given {bad}")
        return type(self)(**hyper)


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and weight decay.

    Example::

        >>> import numpy as np
        >>> params, grads = {"w": np.ones(2)}, {"w": np.array([0.5, -1.0])}
        >>> opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
        >>> opt.step(params, grads)  # with a model: opt.step(model.parameters(), model.gradients())
        >>> params["w"]
        array([0.905, 1.19 ])
    """

    hyper_names = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = _number("momentum", momentum, "a number >= 0", lambda v: v >= 0)
        self.weight_decay = _number("weight_decay", weight_decay, "a number >= 0", lambda v: v >= 0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov: expected True or False, given {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError(f"nesterov: Nesterov momentum needs momentum > 0, given nesterov=True "
                             f"with momentum={momentum!r}")
        self.nesterov = bool(nesterov)

    @property
    def slots(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum else ()

    def _update(self, key, p, g, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = self._slot("momentum_buffer", key, p)
            buf *= self.momentum
            buf += g  # b_t = mu * b_{t-1} + g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= lr * g


class Adagrad(Optimizer):
    """Adagrad as in min-char-rnn: ``s += g*g; p -= lr * g / sqrt(s + eps)``.

    eps sits inside the square root, unlike ``torch.optim.Adagrad`` (outside).
    """

    hyper_names = ("lr", "eps")

    def __init__(self, lr=0.1, eps=1e-8):
        super().__init__(lr)
        self.eps = _number("eps", eps, "a number > 0", lambda v: v > 0)

    @property
    def slots(self) -> tuple[str, ...]:
        return ("sum",)

    def _update(self, key, p, g, lr):
        mem = self._slot("sum", key, p)
        mem += g * g
        p -= lr * g / np.sqrt(mem + self.eps)


class RMSprop(Optimizer):
    """RMSprop with optional momentum and weight decay, as ``torch.optim.RMSprop`` (not centered)."""

    hyper_names = ("lr", "alpha", "eps", "momentum", "weight_decay")

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(lr)
        self.alpha = _number("alpha", alpha, "a number in [0, 1)", lambda v: 0 <= v < 1)
        self.eps = _number("eps", eps, "a number > 0", lambda v: v > 0)
        self.momentum = _number("momentum", momentum, "a number >= 0", lambda v: v >= 0)
        self.weight_decay = _number("weight_decay", weight_decay, "a number >= 0", lambda v: v >= 0)

    @property
    def slots(self) -> tuple[str, ...]:
        return ("square_avg", "momentum_buffer") if self.momentum else ("square_avg",)

    def _update(self, key, p, g, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        square_avg = self._slot("square_avg", key, p)
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * g * g  # v_t
        avg = np.sqrt(square_avg) + self.eps
        if self.momentum:
            buf = self._slot("momentum_buffer", key, p)
            buf *= self.momentum
            buf += g / avg  # b_t
            p -= lr * buf
        else:
            p -= lr * (g / avg)


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` adds ``wd * p`` to the gradient (L2 penalty).

    For weight decay applied to the weights themselves, use :class:`AdamW`.
    """

    hyper_names = ("lr", "betas", "eps", "weight_decay")
    decoupled = False  # AdamW: decay the weights, not the gradient

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = _number("eps", eps, "a number > 0", lambda v: v > 0)
        self.weight_decay = _number("weight_decay", weight_decay, "a number >= 0", lambda v: v >= 0)

    @property
    def slots(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _update(self, key, p, g, lr):
        beta1, beta2 = self.betas
        if self.weight_decay and self.decoupled:
            p *= 1 - lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * p
        exp_avg, exp_avg_sq = self._slot("exp_avg", key, p), self._slot("exp_avg_sq", key, p)
        exp_avg += (1 - beta1) * (g - exp_avg)  # m_t, PyTorch's lerp
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g  # v_t
        t = self.steps[key]
        step_size = lr / (1 - beta1 ** t)
        denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2 ** t) + self.eps
        p -= step_size * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, betas, eps, weight_decay)
