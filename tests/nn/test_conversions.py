"""The core reaches the format conversions through a registry that rnnkit.interop fills, never by import."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rnnkit
from rnnkit.nn import conversions

CORE = Path(rnnkit.__file__).parent
ABOVE = ("rnnkit.interop", "rnnkit.tasks", "rnnkit.train", "rnnkit.cli", "rnnkit.diagnostics", "rnnkit.data")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("layer", ["functional", "nn", "_fast"])
def test_the_core_imports_nothing_above_it(layer):
    bad = [(p.name, m) for p in sorted((CORE / layer).rglob("*.py")) for m in _imports(p) if m.startswith(ABOVE)]
    assert bad == []


def test_interop_registers_every_door_the_modules_use():
    for name in ("to_torch_state_dict", "load_torch_state_dict", "recurrent_from_torch", "recurrent_from_keras",
                 "to_keras_weights"):
        assert callable(conversions.conversion(name))


def test_a_missing_conversion_is_named():
    with pytest.raises(RuntimeError, match="no_such: no such conversion"):
        conversions.conversion("no_such")
