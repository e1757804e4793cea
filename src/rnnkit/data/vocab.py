"""Vocabularies: tokens <-> integer ids, stored as JSON in the run directory.

Characters: every distinct character of the training text, sorted. Words:
the most frequent ``max_size`` tokens plus the specials ``<unk>`` (unknown
word) and ``<eos>`` (end of sentence, the notes' <EOS>), as in the notes'
language model ("Cats average 15 hours of sleep a day. <EOS>").
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from rnnkit.errors import DataError, RunError

UNK, EOS, PAD = "<unk>", "<eos>", "<pad>"
CODE_POINTS = 0x110000
MAX_TOKENS = 2**24      # a stored vocabulary larger than this is refused
_WORD = re.compile(r"\w+|[^\w\s]")


def words(line: str) -> list[str]:
    """Split a line into words and punctuation marks: "Hi, you." -> ["Hi", ",", "you", "."]."""
    return _WORD.findall(line)


class Vocab:
    """An ordered list of tokens; ``unk`` (if set) absorbs tokens not in it."""

    def __init__(self, tokens: Sequence[str], unk: str | None = None):
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("tokens: expected distinct tokens")
        self.unk = unk
        self.unk_id = self.stoi[unk] if unk is not None else None

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    @classmethod
    def of_chars(cls, text: str) -> "Vocab":
        return cls(sorted(set(text)))

    @classmethod
    def of_words(cls, tokens: Iterable[str], max_size: int, specials: Sequence[str] = (UNK, EOS)) -> "Vocab":
        """The ``max_size`` most frequent tokens (ties by first appearance) after the specials."""
        return cls.of_word_counts(Counter(tokens), max_size, specials)

    @classmethod
    def of_word_counts(cls, counts: Counter, max_size: int, specials: Sequence[str] = (UNK, EOS)) -> "Vocab":
        """As :meth:`of_words`, from counts gathered beforehand (e.g. streamed over a large file)."""
        counts = Counter({t: c for t, c in counts.items() if t not in specials})
        keep = [t for t, _ in counts.most_common(max(0, max_size - len(specials)))]
        return cls(list(specials) + keep, unk=UNK if UNK in specials else None)

    @classmethod
    def of_char_counts(cls, counts: np.ndarray) -> "Vocab":
        """The characters with a nonzero count in ``counts`` (indexed by code point), sorted."""
        return cls([chr(c) for c in np.flatnonzero(counts)])

    def id_dtype(self) -> np.dtype:
        """The smallest unsigned dtype that holds every id (uint8, uint16, else uint32)."""
        n = len(self)
        return np.dtype(np.uint8 if n <= 2**8 else np.uint16 if n <= 2**16 else np.uint32)

    def char_table(self) -> np.ndarray:
        """A lookup table code point -> id (int64; -1 for characters not in the vocabulary)."""
        table = np.full(CODE_POINTS, -1, dtype=np.int64)
        for i, t in enumerate(self.itos):
            if len(t) == 1:
                table[ord(t)] = i
        return table

    def encode(self, tokens: Iterable[str], source: str = "text") -> np.ndarray:
        """Token ids (int64); unknown tokens map to ``unk`` or raise DataError listing them."""
        tokens = list(tokens)
        if self.unk_id is not None:
            return np.fromiter((self.stoi.get(t, self.unk_id) for t in tokens), np.int64, len(tokens))
        missing = sorted({t for t in tokens if t not in self.stoi})
        if missing:
            shown = ", ".join(repr(t) for t in missing[:10])
            raise DataError(f"{source}: {len(missing)} symbol(s) not in the model's vocabulary: {shown}")
        return np.fromiter((self.stoi[t] for t in tokens), np.int64, len(tokens))

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[int(i)] for i in ids]

    def to_json(self) -> dict:
        return {"tokens": self.itos, "unk": self.unk}

    @classmethod
    def from_json(cls, d: dict, source: str = "vocab.json") -> "Vocab":
        tokens = d.get("tokens") if isinstance(d, dict) else None
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
            raise RunError(f"{source}: expected {{'tokens': [non-empty list of strings], 'unk': ...}}")
        unknown_keys = sorted(set(d) - {"tokens", "unk"})
        if unknown_keys:
            raise RunError(f"{source}: unknown key(s) {', '.join(map(repr, unknown_keys))}"[:300])
        if len(tokens) > MAX_TOKENS:
            raise RunError(f"{source}: tokens: {len(tokens)} entries, over the limit of {MAX_TOKENS}")
        if len(set(tokens)) != len(tokens):
            dup = next(t for t, c in Counter(tokens).items() if c > 1)
            raise RunError(f"{source}: tokens: {dup!r} appears more than once")
        unk = d.get("unk")
        if unk is not None and (not isinstance(unk, str) or unk not in tokens):
            raise RunError(f"{source}: the unknown token {unk!r} is not in the token list"[:300])
        return cls(tokens, unk)


# -- streaming: counting and encoding a corpus larger than memory ---------------------------------------

MEMORY_IDS = 64 * 2**20   # id arrays larger than this many bytes go to a temporary file, memory-mapped


def code_points(chunk: str) -> np.ndarray:
    """The code points of a string as a uint32 array (no Python objects per character)."""
    return np.frombuffer(chunk.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def count_chars(chunks: Iterable[str]) -> np.ndarray:
    """How often each code point occurs in the stream: int64 (0x110000,)."""
    counts = np.zeros(CODE_POINTS, dtype=np.int64)
    for chunk in chunks:
        counts += np.bincount(code_points(chunk), minlength=CODE_POINTS)
    return counts


def line_tokens(chunk: str, final: bool) -> list[str]:
    """Words with <eos> after every line of a :func:`~rnnkit.data.text.line_chunks` chunk.

    Every chunk but the final one ends with "\\n"; over the whole stream this gives
    ``[t for line in text.split("\\n") for t in words(line) + [EOS]]``.
    """
    lines = (chunk if final else chunk[:-1]).split("\n")
    return [t for line in lines for t in words(line) + [EOS]]


def count_words(line_chunks: Iterable[tuple[str, bool]]) -> Counter:
    """Token counts (with <eos>) of a stream of ``(chunk, final)`` line chunks, in order of first appearance."""
    counts: Counter = Counter()
    for chunk, final in line_chunks:
        counts.update(line_tokens(chunk, final))
    return counts


class IdWriter:
    """Collects id chunks into one array: in memory while small, else in an unlinked temporary file (memmap)."""

    def __init__(self, dtype, limit: int | None = None):
        self.dtype, self.limit = np.dtype(dtype), MEMORY_IDS if limit is None else limit
        self.parts: list[np.ndarray] = []
        self.size, self.file = 0, None

    def write(self, ids: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=self.dtype)
        self.size += len(ids)
        if self.file is None and self.size * self.dtype.itemsize > self.limit:
            import tempfile
            self.file = tempfile.TemporaryFile(prefix="rnnkit-ids-")
            for part in self.parts:
                self.file.write(part.tobytes())
            self.parts = []
        if self.file is None:
            self.parts.append(ids)
        else:
            self.file.write(ids.tobytes())

    def array(self) -> np.ndarray:
        """All ids written, as one read-only array (a memory map if they went to the file)."""
        if self.file is None:
            return np.concatenate(self.parts) if self.parts else np.zeros(0, self.dtype)
        self.file.flush()
        ids = np.memmap(self.file, dtype=self.dtype, mode="r", shape=(self.size,))
        self.file.close()  # the map keeps the (unlinked) file alive until it is freed
        return ids


def _unknown(source: str, symbols) -> DataError:
    missing = sorted(set(symbols))
    shown = ", ".join(repr(t) for t in missing[:10])
    return DataError(f"{source}: {len(missing)} symbol(s) not in the model's vocabulary: {shown}")


def encode_chars(chunks: Iterable[str], vocab: Vocab, source: str = "text") -> np.ndarray:
    """The ids of a character stream (``vocab.id_dtype()``); DataError listing characters not in ``vocab``."""
    table, out = vocab.char_table(), IdWriter(vocab.id_dtype())
    for chunk in chunks:
        cps = code_points(chunk)
        ids = table[cps]
        if ids.size and ids.min() < 0:
            raise _unknown(source, (chr(c) for c in np.unique(cps[ids < 0])))
        out.write(ids)
    return out.array()


def encode_words(line_chunks: Iterable[tuple[str, bool]], vocab: Vocab, source: str = "text") -> np.ndarray:
    """The ids of a word stream (see :func:`line_tokens`); unknown words become ``vocab.unk``."""
    out = IdWriter(vocab.id_dtype())
    for chunk, final in line_chunks:
        out.write(vocab.encode(line_tokens(chunk, final), source))
    return out.array()
