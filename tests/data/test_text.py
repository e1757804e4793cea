"""Text reading: clear errors with file, byte offset and line."""
from __future__ import annotations

import pytest

from rnnkit.data.text import iter_text, line_chunks, read_lines, read_text
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


TRICKY = ["\ufeffa\r\nb\u0085c\n", "caf\u00e9\r\r\n\u20ac\U0001f600\r", "no newline", "\r\n\r\n", "\ufeff", "x\n\n"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_streamed_text_equals_read_text(tmp_path, chunk):
    for k, text in enumerate(TRICKY):
        path = tmp_path / f"{k}.txt"
        path.write_bytes(text.encode("utf-8"))
        assert "".join(iter_text(path, chunk)) == read_text(path), text
        pieces = list(line_chunks(iter_text(path, chunk)))
        assert all(c.endswith("\n") for c, final in pieces[:-1]) and pieces[-1][1]
        assert "".join(c for c, _ in pieces) == read_text(path)


@pytest.mark.parametrize("chunk", [1, 4, 13, 1000])
def test_streamed_errors_name_the_same_offset_and_line(tmp_path, chunk):
    path = tmp_path / "bad.txt"
    path.write_bytes("ok\nalso \u20ac ok\ncaf".encode() + b"\xe9\n" + b"x" * 20)
    with pytest.raises(DataError) as whole:
        read_text(path)
    with pytest.raises(DataError) as streamed:
        "".join(iter_text(path, chunk))
    assert str(streamed.value) == str(whole.value)
    assert "byte offset 18 (line 3)" in str(whole.value)
    path.write_bytes(b"truncated \xe2\x82")  # a sequence cut by the end of the file
    with pytest.raises(DataError, match="byte offset 10 \\(line 1\\): byte 0xe2"):
        "".join(iter_text(path, chunk))
    for bad in ("missing.txt", ""):
        with pytest.raises(DataError):
            list(iter_text(tmp_path / bad))
