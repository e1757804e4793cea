"""The modules' doors to other formats, filled in from above.

``Module.to_torch_state_dict``, ``LSTM.from_torch_state_dict``,
``LSTM.from_keras_weights`` and their kin are part of the modules' API, but
the conversions themselves live in :mod:`rnnkit.interop`, a layer above the
core. So that the core imports nothing above it, the modules look the
conversions up here by name, and ``rnnkit.interop`` registers them when it is
imported (``import rnnkit`` imports it).
"""
from __future__ import annotations

from typing import Callable

_registered: dict[str, Callable] = {}


def register(**conversions: Callable) -> None:
    """Make ``conversions`` (name -> function) available to the modules."""
    _registered.update(conversions)


def conversion(name: str) -> Callable:
    """The conversion registered as ``name``."""
    try:
        return _registered[name]
    except KeyError:
        raise RuntimeError(f"{name}: no such conversion is registered; it comes with rnnkit.interop "
                           f"(import rnnkit, or rnnkit.interop, first)") from None
