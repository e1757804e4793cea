"""Files that never end up half-written, and tensor files that are checked before they are trusted.

Every write goes to a temporary file in the same directory, is flushed and
fsynced, then renamed over the target (``os.replace`` is atomic on POSIX and
Windows), and the directory is fsynced so the rename itself survives a crash.
A crash therefore leaves either the old file or the new one, never a mix.

Tensors are stored as safetensors (an 8-byte little-endian header length N,
an N-byte JSON header ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``,
then the raw little-endian bytes); everything else as JSON. No pickle, and no
code is ever executed on load. :func:`load_tensors` treats the file as
untrusted: the header is checked against the file's real size *before*
anything is allocated (see :func:`check_safetensors_header`), so a file that
claims a huge tensor, or a huge header, is refused with a :class:`RunError`
naming it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from rnnkit.errors import RunError

MAX_HEADER_BYTES = 100 * 2**20   # a safetensors header larger than this is refused unread
# safetensors dtype -> little-endian NumPy dtype (BF16 and the F8 types have no NumPy equivalent)
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path, data: bytes, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename, then fsync of the directory
    unless ``sync_dir`` is False, for a caller that syncs it once after several writes)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; give what open() would (0666 less the umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make renames inside ``directory`` durable (a no-op where directories cannot be fsynced)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on some platforms; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_fsync_dir = fsync_dir  # the old private name


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_json(path, obj) -> None:
    """Atomically write ``obj`` as indented UTF-8 JSON."""
    atomic_write_bytes(path, json_bytes(obj))


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {dup!r}")
    return dict(pairs)


def parse_json(data: bytes, source: str):
    """Parse JSON bytes (UTF-8, no duplicate keys, no NaN/Infinity); RunError naming ``source``."""
    def refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    def finite_float(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"the number {text[:20]} is out of range")
        return value

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys,
                          parse_constant=refuse_constant, parse_float=finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RunError(f"{source}: not valid JSON ({exc})") from None


def read_json(path):
    """Read a JSON file; RunError naming the file if it is missing or malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a directory, expected a JSON file") from None
    return parse_json(data, str(path))


def tensors_bytes(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> bytes:
    """The safetensors encoding of ``tensors`` (names -> arrays)."""
    from safetensors.numpy import save

    arrays = {k: np.asarray(v, order="C") for k, v in tensors.items()}  # (ascontiguousarray makes 0-d 1-d)
    return save(arrays, metadata=dict(metadata) if metadata else None)


def save_tensors(path, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> None:
    """Atomically write ``tensors`` (names -> arrays) as a safetensors file."""
    atomic_write_bytes(path, tensors_bytes(tensors, metadata))


# -- reading untrusted safetensors files -------------------------------------------------------------


def _check_entry(name, entry, source: str) -> tuple[str, tuple[int, ...], int, int]:
    """(numpy dtype, shape, begin, end) of one header entry; RunError naming the tensor if malformed."""
    where = f"{source}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise RunError(f"{where}: expected exactly the keys dtype, shape, data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise RunError(f"{where}: unsupported dtype {dtype!r} (expected one of {', '.join(DTYPES)})")
    if not isinstance(shape, list) or len(shape) > 32 or not all(_is_count(d) for d in shape):
        raise RunError(f"{where}: shape must be a list of at most 32 integers >= 0, given {shape!r}"[:300])
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise RunError(f"{where}: data_offsets must be [begin, end] with 0 <= begin <= end, given {offsets!r}"[:300])
    nbytes = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise RunError(f"{where}: shape {shape} of {dtype} needs {nbytes} bytes but data_offsets "
                       f"give {offsets[1] - offsets[0]}")
    return DTYPES[dtype], tuple(shape), offsets[0], offsets[1]


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_safetensors_header(head: bytes, file_size: int, source: str) -> dict[str, tuple]:
    """Validate a parsed-from-bytes safetensors header against the file size.

    ``head`` is the JSON header (without the 8-byte length). Checks: valid
    JSON object, optional ``__metadata__`` of strings, known dtypes, shapes of
    integers, offsets inside the data section and equal to dtype size × shape,
    no two tensors overlapping, and no unused bytes. Returns ``{name: (dtype,
    shape, begin, end)}`` with offsets relative to the data section.
    """
    header = parse_json(head, f"{source}: header")
    if not isinstance(header, dict):
        raise RunError(f"{source}: the header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise RunError(f"{source}: __metadata__ must map names to strings")
    data_size = file_size - 8 - len(head)
    entries = {name: _check_entry(name, entry, source) for name, entry in header.items()}
    spans = sorted((begin, end, name) for name, (_, _, begin, end) in entries.items())
    position = 0
    for begin, end, name in spans:
        if begin < position:
            raise RunError(f"{source}: tensor {name!r} overlaps another tensor (bytes {begin}..{end})")
        if begin > position:
            raise RunError(f"{source}: {begin - position} unused bytes before tensor {name!r}")
        position = end
    if position > data_size:
        raise RunError(f"{source}: the header claims {position} bytes of tensor data but the file holds "
                       f"{data_size} (truncated or forged)")
    if position < data_size:
        raise RunError(f"{source}: {data_size - position} bytes after the last tensor (not a safetensors file)")
    return entries


def load_tensors(path, max_header: int = MAX_HEADER_BYTES) -> dict[str, np.ndarray]:
    """Read a safetensors file into ``{name: array}``; RunError naming the file on failure.

    The file is untrusted: its header is validated against its size before any
    tensor is allocated, so the memory used is bounded by the file's size.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a directory, expected a safetensors file") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        prefix = f.read(8)
        if len(prefix) < 8:
            raise RunError(f"{path}: not a valid safetensors file (only {size} bytes, no header)")
        n = int.from_bytes(prefix, "little")
        if n > max_header:
            raise RunError(f"{path}: not a valid safetensors file (header of {n} bytes, over the "
                           f"{max_header}-byte limit)")
        if n > size - 8:
            raise RunError(f"{path}: not a valid safetensors file (header of {n} bytes, but the file "
                           f"has {size})")
        entries = check_safetensors_header(f.read(n), size, f"{path}: not a valid safetensors file")
        out = {}
        for name, (dtype, shape, begin, end) in entries.items():
            arr = np.empty(shape, dtype=dtype)
            f.seek(8 + n + begin)
            if end > begin and f.readinto(memoryview(arr).cast("B")) != end - begin:
                raise RunError(f"{path}: tensor {name!r} is truncated (the file changed while read)")
            out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        return out


def tensor_metadata(path) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file (checked like :func:`load_tensors`)."""
    return _header(path)[0]


def tensor_shapes(path) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor of a safetensors file, from its header alone (nothing else is read)."""
    return {name: shape for name, (_, shape, _, _) in _header(path)[1].items()}


def numbers_held(path) -> int:
    """How many numbers the tensors of a safetensors file hold in all, from its header alone."""
    return sum(math.prod(shape) for shape in tensor_shapes(path).values())


def _header(path) -> tuple[dict[str, str], dict[str, tuple]]:
    """A safetensors file's ``__metadata__`` and checked header entries, reading only the header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or n > min(MAX_HEADER_BYTES, size - 8):
                raise RunError(f"{path}: not a valid safetensors file (bad header length)")
            head = f.read(n)
    except FileNotFoundError:
        raise RunError(f"{path}: file not found") from None
    entries = check_safetensors_header(head, size, f"{path}: not a valid safetensors file")
    return dict(parse_json(head, str(path)).get("__metadata__", {})), entries
