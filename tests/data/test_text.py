"""Text reading: clear errors with file, byte offset and line."""
from __future__ import annotations

import pytest

from rnnkit.data.text import read_lines, read_text
from rnnkit.errors import DataError


def test_missing_empty_directory(tmp_path):
    with pytest.raises(DataError, match="nope.txt: file not found"):
        read_text(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="empty.txt: the file is empty"):
        read_text(tmp_path / "empty.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_text(tmp_path)


def test_non_utf8_names_byte_offset_and_line(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("ok\nalso ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt: not valid UTF-8 at byte offset 14 \(line 3\): byte 0xe9"):
        read_text(tmp_path / "latin1.txt")


def test_bom_crlf_and_next_line_character(tmp_path):
    (tmp_path / "t.txt").write_bytes("\ufeffa\r\nb\u0085c\n".encode("utf-8"))
    assert read_text(tmp_path / "t.txt") == "a\nb\u0085c\n"
    assert read_lines(tmp_path / "t.txt") == ["a", "b\u0085c"]  # U+0085 is not a line break here
