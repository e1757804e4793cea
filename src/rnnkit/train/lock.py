"""Who may write a run directory: one training process at a time, and no other command.

:class:`RunLock` is an exclusive ``flock`` on the run's ``.lock`` file, taken by every
training entry point (a new run and ``--resume``) before it writes anything and held until
training ends. The kernel releases it when the process exits in any way, ``kill -9``
included, so a stale lock never blocks a run; the file keeps the holder's process id for
the message ``run R is in use by process N``. Readers (``sample``, ``evaluate``, ``info``...)
take no lock: every file is replaced atomically and checked against the manifest.

:func:`run_containing` tells whether a path lies in a run directory; the command line
refuses such a path for any output (``rnnkit export R R/best.safetensors``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from rnnkit.errors import RunError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a run is then not protected against two writers
    fcntl = None

LOCK_FILE = ".lock"


class RunLock:
    """An exclusive lock on the run directory ``path`` (which must exist)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        """Take the lock or raise RunError naming the process that holds it."""
        if fcntl is None or self.fd is not None:
            return self
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunError(f"run {str(self.path)!r} is in use by process {holder} (another 'rnnkit train'); "
                           f"wait for it to finish or stop it, then --resume {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a directory written by ``rnnkit train`` (its config.json names a task)."""
    config = path / "config.json"
    try:
        if not config.is_file() or config.stat().st_size > 1 << 20:
            return False
        info = json.loads(config.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "task" in info and isinstance(info.get("config"), dict)


def run_containing(path: str | Path) -> Path | None:
    """The run directory that ``path`` is, or lies inside (at any depth); None if there is none."""
    p = Path(path).resolve()  # symlinks too: a link into a run is inside it
    for d in (p, *p.parents):
        if is_run_dir(d):
            return d
    return None
