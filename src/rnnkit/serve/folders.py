"""The served folders, and the one rule that turns a run id from a request into a path.

A run id is ``K/RELATIVE``: K the index of a served folder, RELATIVE a path below it with
``/`` between its parts (``0/charlm``, ``1/sweep/lr-0.01``). :meth:`Folders.resolve` refuses
anything else before touching the file system: an empty, ``.`` or ``..`` part, a backslash, a
NUL, an absolute path; and, after resolving symbolic links, a path that is not inside its served
folder or is not a run directory. Ids are built only by :meth:`Folders.run_id`, from a directory
found by walking the folder.
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.errors import RnnkitError


class PathRefused(RnnkitError):
    """A run id that does not name a run directory inside the served folders."""


class Folders:
    """The folders given to ``rnnkit serve``, resolved once."""

    def __init__(self, paths):
        self.roots = []
        for p in paths:
            root = Path(p).resolve()
            if not root.is_dir():
                raise RnnkitError(f"FOLDER: {str(p)!r} is not a directory")
            self.roots.append(root)
        if not self.roots:
            raise RnnkitError("FOLDER: give at least one folder holding run directories")

    def run_id(self, k: int, path: Path) -> str:
        """The id of the directory ``path`` found below root ``k``."""
        rel = path.relative_to(self.roots[k]).as_posix()
        return f"{k}/{rel}" if rel != "." else f"{k}/."

    def resolve(self, run_id: str) -> Path:
        """The run directory that ``run_id`` names; PathRefused unless it is one inside a served folder."""
        if not isinstance(run_id, str) or not run_id or len(run_id) > 4096:
            raise PathRefused("run: expected a run id such as '0/charlm'")
        k, _, rel = run_id.partition("/")
        parts = rel.split("/")
        if not k.isdigit() or int(k) >= len(self.roots):
            raise PathRefused(f"run {run_id!r}: no served folder {k!r}")
        if rel != "." and (any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\0" in rel):
            raise PathRefused(f"run {run_id!r}: refused (only plain names separated by '/')")
        root = self.roots[int(k)]
        path = (root / rel).resolve()
        if path != root and root not in path.parents:
            raise PathRefused(f"run {run_id!r}: refused (it leads outside the served folder)")
        if not (path / "config.json").is_file():
            raise PathRefused(f"run {run_id!r}: not a run directory")
        return path
