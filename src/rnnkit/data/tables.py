"""Reading labelled examples: text and label columns of CSV/TSV files, or numeric sequences from .npz.

Legend: N examples, T time steps, D features per step.

Text tables, one example per line (split on "\\n" only, see :mod:`rnnkit.data.text`):

    *.csv        comma-separated, with CSV quoting ("a, b" is one field; "" inside quotes is ")
    other names  tab-separated, no quoting: ``sentence<TAB>label`` as the UCI sentiment sentences,
                 whose sentences contain bare " characters (a CSV reader would swallow them)

Columns are given by name (needs a header line) or by 0-based index (negative counts from the
end). Without ``text_col`` the text is the first column named like a text (text, sentence,
review, ...) or else column 0; without ``label_col`` the label is the first column named like a
label (label, class, sentiment, ...) or else the last column. ``header=None`` detects the header:
the first line is one when it names such a text and such a label column, or when its label cell
occurs nowhere else in a label column that is numeric or repeats (the labels of a classifier),
e.g. ``review,stars`` over ``...,5`` and ``...,3``. ``header=False`` (``--no-header``) reads it as data.

.npz archives: ``X`` (N, T, D) float (or (N, T) for one feature), ``y`` (N,) labels of any
kind, and optionally ``lengths`` (N,) ints in 1..T marking the real steps of right-padded rows.

Labels are kept as strings ("1", "pos"); :func:`label_order` sorts them for the class ids.
"""
from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit.data.text import read_bytes, read_text
from rnnkit.errors import DataError

TEXT_NAMES = ("text", "sentence", "sentences", "review", "document", "content", "comment", "tweet", "body")
LABEL_NAMES = ("label", "labels", "class", "category", "sentiment", "target", "y", "tag")


class Labelled(NamedTuple):
    """Examples read from one or more files."""

    inputs: list          # str texts, or (T_i, D) float64 arrays
    labels: list[str]
    numeric: bool         # True for .npz sequences


def is_npz(path) -> bool:
    return Path(path).suffix.lower() == ".npz"


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def label_order(labels) -> list[str]:
    """The distinct labels, sorted; numbers by value ("2" before "10"), then the other strings."""
    return sorted(set(labels), key=lambda s: (0, float(s), s) if _is_number(s) else (1, 0.0, s))


# -- text tables ------------------------------------------------------------------------------------------


def csv_rows(path: Path, text: str | None = None) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row of a CSV file, one row per line.

    A quoted field may hold commas but not a line break: a row that runs onto the next line is
    almost always an unterminated quote, reported at the line where it starts."""
    reader = csv.reader(io.StringIO(read_text(path) if text is None else text, newline="\n"))
    rows, start = [], 1
    try:
        for row in reader:
            if reader.line_num > start or any("\n" in cell for cell in row):
                raise DataError(f"{path}, line {start}: a quoted field is not closed on its line (an "
                                f"unterminated \" quote?); a row must end on its own line")
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank line: CSV for *.csv, tab-separated otherwise."""
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        return csv_rows(path, text)
    rows = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"{path}, line {n}: no tab; expected tab-separated columns such as "
                            f"'sentence<TAB>label' (for comma-separated files name them *.csv)")
        rows.append((n, line.split("\t")))
    return rows


def _index(spec: str, columns: int, names: list[str] | None, option: str, path: Path) -> int:
    """The 0-based column of ``spec`` (a name, or an index as a string)."""
    shown = ", ".join(repr(c) for c in names) if names else f"indices 0..{columns - 1}"
    try:
        i = int(spec)
    except ValueError:
        if names is None:
            raise DataError(f"{path}: {option} {spec!r} names a column, but the file is read without a header "
                            f"line (--no-header); give a 0-based index instead") from None
        if spec not in names:
            raise DataError(f"{path}: no column named {spec!r} ({option}); the columns are: {shown}") from None
        return names.index(spec)
    if not -columns <= i < columns:
        raise DataError(f"{path}: {option} {i}: the file has {columns} columns ({shown})")
    return i % columns


def _default_index(names: list[str] | None, wanted: Sequence[str], fallback: int) -> int:
    folded = [n.strip().casefold() for n in names] if names else []
    return next((folded.index(w) for w in wanted if w in folded), fallback)


def _looks_like_header(cells: list[str], first: str, others: list[str]) -> bool:
    """A header names a text and a label column, or has a label cell that is new over labels
    that are numbers or repeat a lot."""
    folded = {c.strip().casefold() for c in cells}
    if folded & set(TEXT_NAMES) and folded & set(LABEL_NAMES):
        return True
    if not others or first in set(others):
        return False
    numeric = all(_is_number(s) for s in others) and not _is_number(first)
    return numeric or len(set(others)) <= len(others) / 2


def read_table(path, text_col: str | None = None, label_col: str | None = None,
               header: bool | None = None) -> tuple[list[str], list[str]]:
    """Texts and labels of a CSV/TSV file; DataError naming the file, line or columns at fault."""
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise DataError(f"{path}: no examples (only blank lines)")
    columns = len(rows[0][1])
    if header is None:
        named = any(spec is not None and not spec.lstrip("-").isdigit() for spec in (text_col, label_col))
        label_guess = _index(label_col, columns, None, "--label-col", path) if label_col and not named else -1
        others = [r[label_guess].strip() for _, r in rows[1:] if len(r) > label_guess % columns]
        header = named or _looks_like_header(rows[0][1], rows[0][1][label_guess].strip(), others)
    names = [c.strip() for c in rows[0][1]] if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: no examples after the header line")
    ti = _index(text_col, columns, names, "--text-col", path) if text_col is not None \
        else _default_index(names, TEXT_NAMES, 0)
    li = _index(label_col, columns, names, "--label-col", path) if label_col is not None \
        else _default_index(names, LABEL_NAMES, columns - 1)
    if ti == li:
        raise DataError(f"{path}: the text and the label are the same column ({ti}); set --text-col and --label-col")
    texts, labels = [], []
    for n, row in body:
        if len(row) <= max(ti, li):
            raise DataError(f"{path}, line {n}: expected at least {max(ti, li) + 1} columns "
                            f"(text in {ti}, label in {li}), found {len(row)}")
        label = row[li].strip()
        if not label:
            raise DataError(f"{path}, line {n}: the label (column {li}) is empty")
        texts.append(row[ti])
        labels.append(label)
    return texts, labels


# -- numeric sequences --------------------------------------------------------------------------------------


def _label_strings(y: np.ndarray) -> list[str]:
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # 0.0 / 1.0 -> "0" / "1"
    return [str(v) for v in y.tolist()]


# what a damaged zip archive raises, opened or read (NotImplementedError: a bogus "zip version" field;
# RuntimeError: a member whose header has the "encrypted" bit set)
_DAMAGED_ZIP = (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


def npz_arrays(path: Path, wanted: str = "arrays X and y") -> dict[str, np.ndarray]:
    """Every array of an .npz archive, read without pickle; DataError for anything unreadable."""
    return npz_from_bytes(read_bytes(path), path, wanted)


def npz_from_bytes(data: bytes, path, wanted: str = "arrays X and y") -> dict[str, np.ndarray]:
    """Every array of the .npz archive ``data`` (named ``path`` in errors), as :func:`npz_arrays`."""
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise DataError(f"{path}: not an npz/zip file (it starts with {data[:16]!r}); expected an .npz archive "
                        f"with {wanted}, as numpy.savez writes it")
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, *_DAMAGED_ZIP) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array; expected an .npz archive with {wanted}")
    try:
        arrays = {k: archive[k] for k in archive.files}
    except ValueError as exc:  # e.g. object arrays, which would need pickle
        raise DataError(f"{path}: cannot read its arrays without pickle ({exc})") from None
    except _DAMAGED_ZIP as exc:  # a damaged member
        raise DataError(f"{path}: a damaged .npz archive ({type(exc).__name__}: {exc})") from None
    for name, a in arrays.items():  # complex values would lose their imaginary part without a word
        if np.iscomplexobj(a):
            raise DataError(f"{path}: {name}: complex numbers (dtype {a.dtype}); expected real numbers")
    return arrays


def read_sequences(path, labelled: bool = True) -> tuple[list[np.ndarray], list[str] | None]:
    """The (T_i, D) float64 sequences of an .npz archive and their labels (None if not ``labelled``)."""
    path = Path(path)
    arrays = npz_arrays(path)
    needed = ("X", "y") if labelled else ("X",)
    missing = [k for k in needed if k not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "no arrays"
        raise DataError(f"{path}: expected arrays X (N, T, D) and y (N,), optionally lengths (N,); "
                        f"missing {' and '.join(missing)} (the archive has: {found})")
    X = arrays["X"]
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3 or 0 in X.shape or not np.issubdtype(X.dtype, np.number):
        raise DataError(f"{path}: X: expected a numeric array of shape (N, T, D) with N, T, D >= 1, "
                        f"given shape {X.shape} and dtype {X.dtype}")
    N, T, _ = X.shape
    labels = None
    if labelled:
        y = arrays["y"]
        if y.ndim != 1 or len(y) != N:
            raise DataError(f"{path}: X holds {N} sequences but y has shape {y.shape}; expected ({N},), one label each")
        labels = _label_strings(y)
    lengths = arrays.get("lengths")
    if lengths is None:
        lengths = np.full(N, T)
    elif lengths.shape != (N,) or not np.issubdtype(lengths.dtype, np.integer):
        raise DataError(f"{path}: lengths: expected ({N},) integers, given shape {lengths.shape} "
                        f"and dtype {lengths.dtype}")
    bad = np.flatnonzero((lengths < 1) | (lengths > T))
    if bad.size:
        raise DataError(f"{path}: lengths[{bad[0]}] = {lengths[bad[0]]}: expected a length in 1..{T} (the T of X)")
    seqs = [X[i, :lengths[i]].astype(np.float64) for i in range(N)]
    for i, s in enumerate(seqs):
        if not np.all(np.isfinite(s)):
            t = int(np.argwhere(~np.isfinite(s))[0][0])
            raise DataError(f"{path}: X[{i}] is not finite at step {t} (NaN or inf)")
    return seqs, labels


# -- several files ------------------------------------------------------------------------------------------


def read_labelled(paths: Sequence, text_col: str | None = None, label_col: str | None = None,
                  header: bool | None = None) -> Labelled:
    """The examples of all ``paths`` pooled: all text tables, or all .npz archives with the same D."""
    kinds = {is_npz(p) for p in paths}
    if len(kinds) > 1:
        raise DataError(f"{', '.join(map(str, paths))}: cannot pool .npz sequences with text files")
    inputs, labels = [], []
    for p in paths:
        if is_npz(p):
            seqs, ys = read_sequences(p)
            if inputs and seqs[0].shape[1] != inputs[0].shape[1]:
                raise DataError(f"{p}: sequences of {seqs[0].shape[1]} features; {paths[0]} has "
                                f"{inputs[0].shape[1]}: pooled archives need the same D")
        else:
            seqs, ys = read_table(p, text_col, label_col, header)
        inputs += seqs
        labels += ys
    return Labelled(inputs, labels, kinds == {True})
