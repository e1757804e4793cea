"""A run directory: everything one training run writes, and nothing else.

    config.json          the task name and the full configuration
    <task files>.json    vocabulary, label set, scalers (task-specific)
    best.safetensors     weights with the best validation metric
    last.safetensors     the latest weights
    state.safetensors    optimizer state and carried tensors, for --resume
    state.json           step, epoch, position, random-generator states, best metric
    manifest.json        SHA-256 and size of every tensor file and of state.json: the commit record
    metrics.jsonl        one JSON line per evaluation
    steps.jsonl          one JSON line per optimizer step (loss, gradient norm, clipping, lr)
    summary.json         the final summary

All files are written atomically (see :mod:`rnnkit.train.checkpoint`). Files
that must agree with each other (a checkpoint is ``last.safetensors``,
``state.safetensors`` and ``state.json`` of one step) are written with
:meth:`Run.commit`, a small journal:

1. each new file is written atomically as ``NAME.next``;
2. ``manifest.json`` is rewritten (atomically) with their checksums: the commit point;
3. each ``NAME.next`` is renamed to ``NAME``.

A crash before 2 leaves the previous checkpoint intact (the ``.next`` files
are discarded by :meth:`Run.recover`); a crash after 2 is completed by
:meth:`Run.recover`, which renames the ``.next`` files whose checksum the
manifest records. A reader checks every file against the manifest and names
the file on a mismatch.
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Mapping

import numpy as np

from rnnkit.errors import RunError
from rnnkit.nn.module import Module
from rnnkit.train.checkpoint import (
    atomic_write_bytes,
    fsync_dir,
    json_bytes,
    load_tensors,
    parse_json,
    read_json,
    sha256_bytes,
    sha256_file,
    tensors_bytes,
    write_json,
)

MANIFEST = "manifest.json"
PENDING = ".next"
MODEL_FILES = ("best.safetensors", "last.safetensors", "state.safetensors")
CHECKED_FILES = (*MODEL_FILES, "state.json")  # never read unless the manifest records them


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

    def preferred_weights(self) -> str | None:
        """The weights to use when nobody says which: "best" once a validation has written best.safetensors,
        else "last" (a run before its first evaluation), else None (no checkpoint yet)."""
        return next((which for which in ("best", "last") if self.exists(f"{which}.safetensors")), None)

    # -- JSON -------------------------------------------------------------------
    def write_json(self, name: str, obj) -> None:
        write_json(self.file(name), obj)

    def read_json(self, name: str):
        return read_json(self.file(name))

    @cached_property
    def config(self) -> dict:
        """config.json (read once: a run's configuration does not change after it is created)."""
        return self.read_json("config.json")

    def read_jsonl(self, name: str) -> list[dict]:
        """The records of a JSON-lines file (empty if it does not exist); RunError naming file:line."""
        if not self.exists(name):
            return []
        records = []
        for n, line in enumerate(self.file(name).read_bytes().split(b"\n"), start=1):
            if line.strip():
                record = parse_json(line, f"{self.file(name)}:{n}")
                if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                    raise RunError(f"{self.file(name)}:{n}: expected a JSON object with an integer 'step'")
                records.append(record)
        return records

    def write_jsonl(self, name: str, records: list[dict]) -> None:
        """Atomically replace ``name`` with one JSON line per record."""
        atomic_write_bytes(self.file(name), "".join(json.dumps(r) + "\n" for r in records).encode("utf-8"))

    def append_jsonl(self, name: str, records: list[dict]) -> None:
        """Atomically replace ``name`` with its old content followed by ``records`` (one line each)."""
        old = self.file(name).read_bytes() if self.exists(name) else b""
        new = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
        atomic_write_bytes(self.file(name), old + new)

    def truncate_jsonl(self, name: str, step: int) -> list[dict]:
        """Keep the records with ``step`` <= ``step`` (a resumed run forgets what came after its checkpoint)."""
        records = self.read_jsonl(name)
        kept = [r for r in records if r["step"] <= step]
        if len(kept) != len(records):
            self.write_jsonl(name, kept)
        return kept

    def metrics(self) -> list[dict]:
        """The evaluation records of ``metrics.jsonl`` (empty before the first)."""
        return self.read_jsonl("metrics.jsonl")

    def write_metrics(self, records: list[dict]) -> None:
        self.write_jsonl("metrics.jsonl", records)

    # -- the manifest and commits -------------------------------------------------
    def manifest(self) -> dict:
        """``{"files": {name: {"sha256", "bytes"}}, ...}``; an empty record if there is none yet."""
        if not self.exists(MANIFEST):
            return {"files": {}}
        m = self.read_json(MANIFEST)
        files = m.get("files") if isinstance(m, dict) else None
        if not isinstance(files, dict) or not all(
                isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("bytes"), int)
                for e in files.values()):
            raise RunError(f"{self.file(MANIFEST)}: expected {{'files': {{name: {{'sha256': str, 'bytes': int}}}}}}")
        return m

    def commit(self, files: Mapping[str, bytes], **record) -> None:
        """Write several files as one unit: ``.next`` files, then the manifest (commit), then renames.

        ``record`` (e.g. ``step=120``) is stored in the manifest next to the checksums.
        """
        manifest = self.manifest()
        for name, data in files.items():
            atomic_write_bytes(self.file(name + PENDING), data, sync_dir=False)
        fsync_dir(self.path)
        for name, data in files.items():
            manifest["files"][name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
        manifest.update(record)
        atomic_write_bytes(self.file(MANIFEST), json_bytes(manifest))
        for name in files:
            os.replace(self.file(name + PENDING), self.file(name))
        fsync_dir(self.path)

    def recover(self) -> None:
        """Finish or discard an interrupted commit, and remove leftover temporary files.

        Called before resuming (never by readers, which may run while training writes).
        """
        recorded = self.manifest()["files"]
        for pending in self.path.glob("*" + PENDING):
            name = pending.name[:-len(PENDING)]
            entry = recorded.get(name)
            if entry and not self._matches(self.file(name), entry) and self._matches(pending, entry):
                os.replace(pending, self.file(name))   # committed but not yet renamed: roll forward
            else:
                pending.unlink(missing_ok=True)         # never committed: roll back
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)                  # a write cut short by a crash
        fsync_dir(self.path)

    @staticmethod
    def _matches(path: Path, entry: dict) -> bool:
        return path.is_file() and path.stat().st_size == entry["bytes"] and sha256_file(path) == entry["sha256"]

    def verified(self, name: str) -> Path:
        """The path of ``name``, checked against the manifest's checksum; RunError naming it on a mismatch.

        A file the manifest does not list is returned unchecked, unless it is a
        model file and the run has a manifest. While a commit is in flight the
        committed ``.next`` copy is the right one, and is returned instead.
        """
        path = self.file(name)
        entry = self.manifest()["files"].get(name)
        if entry is None:
            if name in CHECKED_FILES and path.exists() and not self.exists(MANIFEST):
                raise RunError(f"{self.path}: the run is damaged: it has {name} but no {MANIFEST}, so its files "
                               f"cannot be verified. If you trust them: rnnkit train --resume {self.path} "
                               f"--reverify (records their checksums anew)")
            if name in CHECKED_FILES and path.exists():
                raise RunError(f"{path}: not recorded in {MANIFEST} (written by an interrupted run?); "
                               f"refusing an unverified model file")
            return path
        if self._matches(path, entry):
            return path
        if self._matches(self.file(name + PENDING), entry):
            return self.file(name + PENDING)
        if not path.exists():
            raise RunError(f"{path}: file not found (listed in {MANIFEST})")
        raise RunError(f"{path}: checksum mismatch: the file is not the one {MANIFEST} records "
                       f"(corrupted or modified)")

    def reverify(self) -> None:
        """Record the checksums of the run's checkpoint files as they are now (a run that lost its manifest).

        The files must still agree with each other (``state.json``'s step is the manifest's)."""
        files = {name: self.file(name).read_bytes() for name in CHECKED_FILES if self.exists(name)}
        state = parse_json(files["state.json"], str(self.file("state.json"))) if "state.json" in files else {}
        step = state.get("train", {}).get("step") if isinstance(state, dict) else None
        if not isinstance(step, int):
            raise RunError(f"{self.file('state.json')}: missing or without train.step: nothing to re-verify")
        manifest = {"files": {n: {"sha256": sha256_bytes(d), "bytes": len(d)} for n, d in files.items()}, "step": step}
        atomic_write_bytes(self.file(MANIFEST), json_bytes(manifest))

    # -- tensors ------------------------------------------------------------------
    def save_model(self, name: str, model: Module, **metadata) -> None:
        self.commit({name: model_bytes(model, **metadata)})

    def load_model(self, name: str, model: Module) -> None:
        """Load ``name`` into ``model``; RunError naming the file on any mismatch."""
        tensors = self.load_tensors(name)
        try:
            model.load_state_dict(tensors)
        except ValueError as exc:
            raise RunError(f"{self.file(name)}: {exc}") from None

    def save_tensors(self, name: str, tensors: dict[str, np.ndarray]) -> None:
        self.commit({name: tensors_bytes(tensors)})

    def load_tensors(self, name: str) -> dict[str, np.ndarray]:
        path = self.verified(name)
        try:
            return load_tensors(path)
        except RunError as exc:  # report the file under its own name, not its .next copy
            raise RunError(str(exc).replace(str(path), str(self.file(name)), 1)) from None

    def read_verified_json(self, name: str):
        """A JSON file checked against the manifest (like :meth:`load_tensors`)."""
        path = self.verified(name)
        return parse_json(path.read_bytes(), str(self.file(name)))


def model_bytes(model: Module, **metadata) -> bytes:
    """The safetensors encoding of a model's weights with string ``metadata``."""
    return tensors_bytes(model.state_dict(), {k: str(v) for k, v in metadata.items()})
