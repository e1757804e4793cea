"""Fuzzing the text readers: any bytes give the text or a DataError, and streaming agrees with reading whole."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.text import iter_text, line_chunks, read_lines, read_text
from rnnkit.errors import DataError
from tests.conftest import directory_snapshot, fuzzed_bytes

VALID = "\ufeffline one\r\nline \u00e9\u20ac\U0001f600 two\n\nthree\r".encode()


@settings(max_examples=150, deadline=None)
@given(data=fuzzed_bytes(VALID), chunk=st.integers(1, 9))
def test_any_bytes_read_whole_or_streamed_agree(data, chunk):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.txt"
        path.write_bytes(data)
        before = directory_snapshot(tmp)
        try:
            whole = read_text(path)
        except DataError as exc:
            assert str(path) in str(exc)
            whole = exc
        try:
            streamed = "".join(iter_text(path, chunk))
        except DataError as exc:
            streamed = exc
        if isinstance(whole, DataError):
            assert isinstance(streamed, DataError) and str(streamed) == str(whole)
        else:
            assert streamed == whole
            assert "".join(c for c, _ in line_chunks(iter_text(path, chunk))) == whole
            assert read_lines(path) == (whole[:-1] if whole.endswith("\n") else whole).split("\n") or whole == ""
        assert directory_snapshot(tmp) == before
