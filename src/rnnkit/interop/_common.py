"""What the interop formats share: reading tensors from a file or a dict, and their errors.

A *source* of tensors is a path to a safetensors file (read through
:func:`rnnkit.train.checkpoint.load_tensors`, which checks the file before
trusting it) or a mapping ``{name: array}`` (NumPy arrays, or anything
``np.asarray`` accepts, such as CPU ``torch.Tensor``s).
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Mapping

import numpy as np

from rnnkit.errors import RnnkitError


class InteropError(RnnkitError):
    """Weights that cannot be moved into or out of rnnkit (names the file or argument at fault)."""


def describe(source) -> str:
    """How to name ``source`` in an error message."""
    return str(source) if isinstance(source, (str, PathLike)) else "state_dict"


def read_tensors(source) -> dict[str, np.ndarray]:
    """``{name: array}`` from a safetensors path or a mapping (arrays are not copied)."""
    if isinstance(source, (str, PathLike)):
        from rnnkit.train.checkpoint import load_tensors
        if Path(source).is_dir():
            raise InteropError(f"{source}: is a directory; give a .safetensors file (a run's best.safetensors)")
        return load_tensors(Path(source))
    if not isinstance(source, Mapping):
        raise InteropError(f"state_dict: expected a path to a .safetensors file or a dict of arrays, "
                           f"given {type(source).__name__}")
    tensors = {}
    for name, value in source.items():
        if not isinstance(name, str):
            raise InteropError(f"state_dict: tensor names must be strings, given {name!r}")
        try:
            tensors[name] = np.asarray(value)
        except (TypeError, RuntimeError) as exc:           # e.g. a torch tensor that requires grad
            raise InteropError(f"state_dict: {name}: cannot be read as an array ({exc}); "
                               "pass tensor.detach().cpu().numpy()") from None
    return tensors


def load_checked(model, tensors: Mapping[str, np.ndarray], source) -> None:
    """``model.load_state_dict(tensors)``; one InteropError naming ``source`` and every mismatch."""
    try:
        model.load_state_dict(tensors)
    except ValueError as exc:
        raise InteropError(f"{describe(source)}: {exc}") from None


def float_dtype(tensors: Mapping[str, np.ndarray], dtype) -> str:
    """``dtype`` if given, else float64 when every tensor is float64, else float32."""
    if dtype is not None:
        return dtype
    return "float64" if tensors and all(t.dtype == np.float64 for t in tensors.values()) else "float32"


def refuse_variants(module, target: str, allowed: tuple = ()) -> None:
    """InteropError naming the first cell-variant option of ``module`` (a recurrent stack; anything else
    passes) that ``target`` cannot express; options in ``allowed`` are let through."""
    variants = getattr(module, "variants", None)
    given = {} if variants is None else {k: v for k, v in variants.given().items() if k not in allowed}
    if given:
        name, value = next(iter(given.items()))
        raise InteropError(f"{name}: {target} has no such option ({type(module).__name__} with {name}={value!r}); "
                           f"{target} can take: {', '.join(allowed) or 'none of the cell variants'}")
