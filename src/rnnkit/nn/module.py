"""The module protocol every rnnkit layer and model follows.

A module owns two dicts with the same keys, PyTorch's parameter names:
``params`` (the arrays) and ``grads`` (their gradients, same shapes). Its
``forward`` caches what ``backward`` needs; ``backward`` *adds* into ``grads``
(so gradients of several calls accumulate, as in PyTorch) and returns the
gradient with respect to the input. Sub-modules assigned as attributes are
registered by name, and their parameters appear under ``name.param``.

``parameters()`` / ``gradients()`` give flat dicts of references (not copies)
for the optimizers: ``opt.step(model.parameters(), model.gradients())``.
"""
from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from rnnkit._checks import as_float_dtype
from rnnkit.nn.conversions import conversion


class Module:
    """Base class: parameters, gradients, sub-modules, train/eval mode."""

    def __init__(self, dtype="float32"):
        object.__setattr__(self, "_modules", {})
        self.dtype = as_float_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    def __setattr__(self, name, value):
        if isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- parameters -------------------------------------------------------
    def add_param(self, name: str, value: np.ndarray) -> None:
        """Register a parameter and a zero gradient of the same shape."""
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{name}.")

    def parameters(self) -> dict[str, np.ndarray]:
        """All parameters, recursively, as ``{qualified name: array}`` (references)."""
        return {p + k: v for p, m in self.named_modules() for k, v in m.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        """All gradients, with the same keys as :meth:`parameters` (references)."""
        return {p + k: v for p, m in self.named_modules() for k, v in m.grads.items()}

    def zero_grad(self) -> None:
        for g in self.gradients().values():
            g.fill(0)

    # -- mode ---------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # -- state dict -----------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters, keyed by PyTorch's names."""
        return {k: v.copy() for k, v in self.parameters().items()}

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray]) -> None:
        """Copy arrays of any float dtype into the parameters (cast to ``dtype``).

        Raises ``ValueError`` listing every missing, unexpected, wrongly
        shaped or non-finite tensor at once, each by name with its expected and
        given shape; nothing is changed unless all of them match. ``TypeError``
        if ``state_dict`` is not a mapping.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict: expected a mapping of names to arrays, given {type(state_dict).__name__}")
        own = self.parameters()
        problems = [f"missing: {k} {own[k].shape}" for k in own if k not in state_dict]
        problems += [f"unexpected: {k} {np.shape(state_dict[k])}" for k in state_dict if k not in own]
        arrays = {}
        for k in own.keys() & state_dict.keys():
            a = np.asarray(state_dict[k])
            if a.shape != own[k].shape:
                problems.append(f"wrong shape: {k} expected {own[k].shape}, given {a.shape}")
            elif not np.issubdtype(a.dtype, np.floating):
                problems.append(f"wrong dtype: {k} expected a float array, given {a.dtype}")
            elif not np.all(np.isfinite(a)):
                problems.append(f"not finite: {k} holds NaN or infinity")
            else:
                arrays[k] = a
        if problems:
            raise ValueError("state_dict does not match the model:\n  " + "\n  ".join(sorted(problems)))
        for k, a in arrays.items():
            own[k][...] = a

    def to_torch_state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters under the names and layouts of the matching ``torch.nn`` module
        (see :mod:`rnnkit.interop.torch_format`)."""
        return conversion("to_torch_state_dict")(self)

    def load_torch_state_dict(self, source) -> None:
        """Load a torch state dict (a safetensors path or a dict of arrays), checked by name and shape."""
        conversion("load_torch_state_dict")(self, source)

    def num_parameters(self) -> int:
        return sum(v.size for v in self.parameters().values())
