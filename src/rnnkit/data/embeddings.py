"""Pre-trained word vectors from a GloVe or word2vec text file, and the embedding matrix they give.

Legend: V vocabulary size, E embedding size (the file's vector length).

The file has one word per line, ``word v_1 v_2 ... v_E`` separated by spaces, UTF-8; a word2vec
file starts with a header line ``count E``. GloVe's own files (glove.6B.100d.txt, ...) and
word2vec files saved as text (``binary=False``) both read. The file is streamed, so a large one is
never held in memory; only the vectors of the wanted words are kept. A word matches exactly, or
else in lower case (``Good`` in the file serves ``good``), the first line of a word winning.

    W[v] = the file's vector of word v                       (words found in the file)
    W[v] ~ N(0, σ²), σ = the standard deviation of the file's vectors that were used   (the others)

References: Pennington, Socher & Manning, "GloVe" (2014); Mikolov et al., "Distributed
representations of words and phrases" (2013).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from rnnkit.data.text import check_file
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError


def _lines(path: Path):
    """(line number, decoded line) of a UTF-8 file, streamed; DataError at the first bad byte."""
    check_file(path)
    offset = 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: not valid UTF-8 at byte offset {offset + exc.start} (line {n}): "
                                f"byte 0x{raw[exc.start]:02x}; convert the file to UTF-8") from None
            offset += len(raw)
            yield n, line.removeprefix("\ufeff") if n == 1 else line


def _is_header(parts: list[str]) -> bool:
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def read_vectors(path, wanted: Iterable[str] | None = None) -> tuple[int, dict[str, np.ndarray]]:
    """E and ``{word: vector}`` (float64) for the ``wanted`` words found in the file (all if None)."""
    path = Path(path)
    wanted = None if wanted is None else set(wanted)
    dim, exact, folded = None, {}, {}
    for n, line in _lines(path):
        parts = line.rstrip("\r\n").rstrip(" ").split(" ")
        if parts == [""]:
            continue
        if n == 1 and _is_header(parts):
            dim = int(parts[1])
            continue
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise DataError(f"{path}, line {n}: expected a word followed by its vector (numbers separated "
                                f"by spaces), found {line.strip()[:40]!r}")
        if len(parts) < dim + 1:
            raise DataError(f"{path}, line {n}: expected a word and {dim} numbers separated by spaces, "
                            f"found {len(parts) - 1} value(s)")
        word = " ".join(parts[:-dim])  # a few GloVe files have words with spaces in them
        target = word if wanted is None or word in wanted else word.lower() if word.lower() in wanted else None
        if target is None or target in exact or (target != word and target in folded):
            continue
        try:
            vector = np.array(parts[-dim:], dtype=np.float64)
        except ValueError:
            raise DataError(f"{path}, line {n}: expected {dim} numbers after the word {word!r}") from None
        if not np.all(np.isfinite(vector)):
            bad = parts[-dim:][int(np.flatnonzero(~np.isfinite(vector))[0])]
            raise DataError(f"{path}, line {n}: the vector of {word!r} holds {bad!r}, not a finite number")
        (exact if target == word else folded)[target] = vector
    if dim is None:
        raise DataError(f"{path}: no vectors (only blank lines)")
    return dim, folded | exact


def embedding_matrix(vocab: Vocab, vectors: dict[str, np.ndarray], dim: int, rng: np.random.Generator,
                     zero: Iterable[str] = ()) -> tuple[np.ndarray, int]:
    """(V, E) float64 rows for ``vocab`` from ``vectors``, random N(0, σ²) for the rest; and how many were found.

    Tokens in ``zero`` (e.g. the padding token) get a zero row.
    """
    found = [i for i, t in enumerate(vocab.itos) if t in vectors]
    sigma = float(np.std([vectors[vocab.itos[i]] for i in found])) if found else 1.0
    W = rng.normal(0.0, sigma or 1.0, size=(len(vocab), dim))
    for i in found:
        W[i] = vectors[vocab.itos[i]]
    for t in zero:
        if t in vocab:
            W[vocab.stoi[t]] = 0.0
    return W, len(found)
