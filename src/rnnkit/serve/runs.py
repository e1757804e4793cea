"""Finding the run directories under the served folders and describing each, read-only.

A run's status:

    running    its ``.lock`` names a live process and no summary.json was written since it was taken
    finished   summary.json says it stopped on its budget or by early stopping
    diverged   summary.json says so (the divergence guard gave up)
    stopped    interrupted (Ctrl-C), or killed before it could write summary.json

The lock file is read, never locked: taking even a shared lock could make a ``rnnkit train
--resume`` starting at that moment fail. A directory whose config.json is damaged is listed with
its error; the others are still served.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from rnnkit.errors import RnnkitError
from rnnkit.serve.folders import Folders
from rnnkit.tasks.base import open_run
from rnnkit.train.checkpoint import numbers_held
from rnnkit.train.lock import LOCK_FILE
from rnnkit.train.run import Run

MAX_DEPTH = 4         # how deep below a served folder run directories are looked for
MAX_RUNS = 1000       # a folder with more is listed up to this many
CONFIG_SHOWN = ("cell", "hidden", "layers", "embed", "lr", "batch_size", "seed")


def find_runs(folders: Folders) -> list[tuple[int, Path]]:
    """(folder index, directory) of every directory holding a config.json, without following links
    out of the folder, breadth first, sorted by path."""
    found = []
    for k, root in enumerate(folders.roots):
        for top, dirs, files in os.walk(root):
            depth = len(Path(top).relative_to(root).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
            if "config.json" in files:
                found.append((k, Path(top)))
                dirs[:] = []  # a run's subfolders are not runs
            if len(found) >= MAX_RUNS:
                return found
    return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(path: Path, summary: dict | None) -> str:
    """running, finished, diverged or stopped (see the module docstring)."""
    lock = path / LOCK_FILE
    try:
        pid = int(lock.read_text(encoding="ascii").strip() or 0)
        locked_at = lock.stat().st_mtime
    except (OSError, ValueError):
        pid, locked_at = 0, 0.0
    written_at = (path / "summary.json").stat().st_mtime if summary is not None else 0.0
    if pid > 0 and pid != os.getpid() and _pid_alive(pid) and written_at < locked_at:
        return "running"
    if summary is None:
        return "stopped"
    stopped = summary.get("stopped")
    if stopped == "diverged":
        return "diverged"
    return "finished" if stopped in ("budget", "early stopping") else "stopped"


def weights_count(path: Path) -> int | None:
    """How many numbers the run's weights (:meth:`Run.preferred_weights`) hold, read from the safetensors
    header; None without weights."""
    which = Run(path).preferred_weights()
    return numbers_held(path / f"{which}.safetensors") if which else None


def _summary(path: Path) -> dict | None:
    try:
        summary = json.loads((path / "summary.json").read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RnnkitError(f"{path / 'summary.json'}: unreadable ({exc})") from None
    return summary if isinstance(summary, dict) else None


def describe_run(folders: Folders, k: int, path: Path) -> dict:
    """What the runs list shows of one run; a damaged run gets ``error`` and whatever could be read."""
    entry = {"id": folders.run_id(k, path), "name": path.name, "folder": str(folders.roots[k]), "task": None,
             "config": {}, "weights": None, "best": {}, "steps": None, "status": None, "error": None}
    try:
        _, task, config = open_run(path)
        summary = _summary(path)
        entry.update(task=task, config={k: config[k] for k in CONFIG_SHOWN if k in config},
                     weights=weights_count(path), status=status(path, summary))
        if summary:
            entry["best"] = {k: v for k, v in summary.items() if k.startswith("best_") and isinstance(v, (int, float))}
            entry["steps"] = summary.get("steps")
    except (RnnkitError, OSError, ValueError) as exc:
        entry["error"] = str(exc)
    return entry


def list_runs(folders: Folders) -> list[dict]:
    """:func:`describe_run` of every run under the served folders."""
    return [describe_run(folders, k, path) for k, path in find_runs(folders)]
