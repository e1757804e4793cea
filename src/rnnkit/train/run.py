"""A run directory: everything one training run writes, and nothing else.

    config.json          the task name and the full configuration
    <task files>.json    vocabulary, label set, scalers (task-specific)
    best.safetensors     weights with the best validation metric
    last.safetensors     the latest weights
    state.safetensors    optimizer state and carried tensors, for --resume
    state.json           step, epoch, position, random-generator states, best metric
    metrics.jsonl        one JSON line per evaluation
    summary.json         the final summary

All files are written atomically (see :mod:`rnnkit.train.checkpoint`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnkit.errors import RunError
from rnnkit.nn.module import Module
from rnnkit.train.checkpoint import atomic_write_bytes, load_tensors, read_json, save_tensors, write_json


def fresh_run_dir(base: str | Path) -> Path:
    """``base`` if it does not exist yet, else ``base-2``, ``base-3``, ... (never overwrite a run)."""
    base = Path(base)
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


class Run:
    """Read and write the files of one run directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | Path) -> "Run":
        run = cls(path)
        run.path.mkdir(parents=True, exist_ok=True)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        """An existing run; RunError if ``path`` is not one."""
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"RUN: {str(path)!r} is not a directory")
        if not (run.path / "config.json").is_file():
            raise RunError(f"RUN: {str(path)!r} is not an rnnkit run directory (it has no config.json)")
        return run

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self, name: str) -> bool:
        return self.file(name).is_file()

    # -- JSON -------------------------------------------------------------------
    def write_json(self, name: str, obj) -> None:
        write_json(self.file(name), obj)

    def read_json(self, name: str) -> dict:
        return read_json(self.file(name))

    @property
    def config(self) -> dict:
        return self.read_json("config.json")

    def metrics(self) -> list[dict]:
        """The evaluation records of ``metrics.jsonl`` (empty before the first)."""
        if not self.exists("metrics.jsonl"):
            return []
        lines = self.file("metrics.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def write_metrics(self, records: list[dict]) -> None:
        text = "".join(json.dumps(r) + "\n" for r in records)
        atomic_write_bytes(self.file("metrics.jsonl"), text.encode("utf-8"))

    # -- tensors ------------------------------------------------------------------
    def save_model(self, name: str, model: Module, **metadata) -> None:
        save_tensors(self.file(name), model.state_dict(), {k: str(v) for k, v in metadata.items()})

    def load_model(self, name: str, model: Module) -> None:
        """Load ``name`` into ``model``; RunError naming the file on any mismatch."""
        tensors = load_tensors(self.file(name))
        try:
            model.load_state_dict(tensors)
        except ValueError as exc:
            raise RunError(f"{self.file(name)}: {exc}") from None

    def save_tensors(self, name: str, tensors: dict[str, np.ndarray]) -> None:
        save_tensors(self.file(name), tensors)

    def load_tensors(self, name: str) -> dict[str, np.ndarray]:
        return load_tensors(self.file(name))
