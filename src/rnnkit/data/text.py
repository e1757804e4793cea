"""Reading text files, with errors that say exactly what is wrong and where.

UTF-8 is required; a file that is not valid UTF-8 is refused with the byte
offset and line of the first bad byte, so the user can find it. Lines are
split on "\\n" only (never on U+0085 or other Unicode line breaks, which
``str.splitlines`` would also split on).
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.errors import DataError


def read_bytes(path) -> bytes:
    """The bytes of a data file; DataError if it is missing, a directory or empty."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a file")
    data = path.read_bytes()
    if not data:
        raise DataError(f"{path}: the file is empty")
    return data


def decode_utf8(data: bytes, source: str) -> str:
    """Decode UTF-8 or raise DataError naming the byte offset and line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{source}: not valid UTF-8 at byte offset {exc.start} (line {line}): "
                        f"byte 0x{data[exc.start]:02x}; convert the file to UTF-8") from None


def read_text(path) -> str:
    """The whole file as a string (UTF-8, a leading BOM dropped, CRLF turned into LF)."""
    text = decode_utf8(read_bytes(path), str(path))
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def read_lines(path) -> list[str]:
    """The file's lines, split on "\\n" only, without their line ends."""
    text = read_text(path)
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
