"""Reading text files, with errors that say exactly what is wrong and where.

UTF-8 is required; a file that is not valid UTF-8 is refused with the byte
offset and line of the first bad byte, so the user can find it. Lines are
split on "\\n" only (never on U+0085 or other Unicode line breaks, which
``str.splitlines`` would also split on).

Large files: :func:`iter_text` streams a file as decoded chunks (a few MiB of
bytes at a time) with exactly the text :func:`read_text` would give, so a
corpus larger than memory is never held whole; :func:`line_chunks` re-cuts
such a stream at line ends for readers that work line by line.
"""
from __future__ import annotations

import codecs
from pathlib import Path
from typing import Iterable, Iterator

from rnnkit.errors import DataError

CHUNK_BYTES = 4 * 2**20


def check_file(path) -> Path:
    """``path`` as a Path; DataError if it is missing, a directory or empty."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    return path


def read_bytes(path) -> bytes:
    """The bytes of a data file; DataError if it is missing, a directory or empty."""
    data = check_file(path).read_bytes()
    if not data:
        raise DataError(f"{path}: the file is empty")
    return data


def _bad_utf8(source: str, data: bytes, start: int, offset: int, line: int) -> DataError:
    return DataError(f"{source}: not valid UTF-8 at byte offset {offset} (line {line}): "
                     f"byte 0x{data[start]:02x}; convert the file to UTF-8")


def decode_utf8(data: bytes, source: str) -> str:
    """Decode UTF-8 or raise DataError naming the byte offset and line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_utf8(source, data, exc.start, exc.start, data.count(b"\n", 0, exc.start) + 1) from None


def iter_text(path, chunk_bytes: int | None = None) -> Iterator[str]:
    """The text of ``path`` in chunks; joined, they equal :func:`read_text`'s string.

    Reads ``chunk_bytes`` (default :data:`CHUNK_BYTES`) at a time; a UTF-8
    sequence or a CR LF pair cut by a chunk boundary is completed from the
    next read. DataError as read_text's.
    """
    path = check_file(path)
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = newlines = 0
    pending, first = "", True
    with path.open("rb") as f:
        while True:
            raw = f.read(chunk_bytes)
            final = not raw
            try:
                text = pending + decoder.decode(raw, final)
            except UnicodeDecodeError as exc:  # exc.object = the decoder's buffered bytes + raw
                start = offset - (len(exc.object) - len(raw)) + exc.start
                line = newlines + exc.object.count(b"\n", 0, exc.start) + 1
                raise _bad_utf8(str(path), exc.object, exc.start, start, line) from None
            offset, newlines = offset + len(raw), newlines + raw.count(b"\n")
            cut = len(text) - (not final and text.endswith("\r"))  # keep a CR whose LF may follow
            emit, pending = text[:cut], text[cut:]
            if first and emit:
                emit, first = emit.removeprefix("\ufeff"), False
            if emit:
                yield emit.replace("\r\n", "\n")
            if final:
                return


def line_chunks(chunks: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Re-cut a text stream at line ends: ``(chunk, final)``; every chunk but the final one ends with "\\n".

    The final chunk is the text after the last "\\n" (possibly empty). A single line is held whole.
    """
    carry = ""
    for chunk in chunks:
        text = carry + chunk
        cut = text.rfind("\n") + 1
        if cut:
            yield text[:cut], False
        carry = text[cut:]
    yield carry, True


def read_text(path) -> str:
    """The whole file as a string (UTF-8, a leading BOM dropped, CRLF turned into LF)."""
    text = decode_utf8(read_bytes(path), str(path))
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def read_lines(path) -> list[str]:
    """The file's lines, split on "\\n" only, without their line ends."""
    text = read_text(path)
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
