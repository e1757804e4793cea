"""Following a .jsonl file that ``rnnkit train`` is appending to: read only what was appended.

A reader keeps a :class:`Position` per file: the file's inode, the byte offset just after the last
whole line it has read, and a checksum of the file's first bytes. The next read starts at that
offset and stops after the last newline, so a half-written last line is left for later. When the
file is no longer the one the position was taken in (replaced: another inode; cut: shorter than
the offset; rewritten: other first bytes, as by a run started again from scratch) the read starts
over from the beginning and says so.

A position travels to the page and back as text, ``INODE.OFFSET.HEAD`` (:func:`parse_position`).
"""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import NamedTuple

from rnnkit.diagnostics.curves import parse_records

HEAD = 64  # bytes of the file's beginning whose checksum tells a rewritten file


class Position(NamedTuple):
    inode: int = 0
    offset: int = 0    # bytes read: just after the last whole line
    head: int = 0      # crc32 of the first min(HEAD, offset) bytes

    def __str__(self) -> str:
        return f"{self.inode}.{self.offset}.{self.head}"


POSITION = re.compile(r"(\d{1,20})\.(\d{1,20})\.(\d{1,10})")


def parse_position(text: str, name: str) -> Position:
    """A :class:`Position` from its text (empty: the beginning); ValueError naming ``name`` otherwise."""
    if not text:
        return Position()
    match = POSITION.fullmatch(text)
    if match is None:
        raise ValueError(f"{name}: expected INODE.OFFSET.HEAD (numbers) as a previous reply gave it, given {text!r}")
    return Position(*map(int, match.groups()))


def read_appended(path: Path, since: Position) -> tuple[list[dict], Position, bool]:
    """(records of the whole lines after ``since``, the new position, whether the file started over).

    Records are what :func:`rnnkit.diagnostics.curves.read_records` keeps; a missing file has none."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return [], Position(), since.offset > 0
    with f:
        inode, size = os.fstat(f.fileno()).st_ino, f.seek(0, os.SEEK_END)
        f.seek(0)
        head = f.read(min(HEAD, size))
        same = (inode == since.inode and size >= since.offset
                and zlib.crc32(head[:min(HEAD, since.offset)]) == since.head)
        start = since.offset if same else 0
        f.seek(start)
        data = f.read(size - start)  # not what is appended after the size was taken
    end = start + data.rfind(b"\n") + 1
    records = parse_records(data[:end - start])
    return records, Position(inode, end, zlib.crc32(head[:min(HEAD, end)])), since.offset > 0 and not same
