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
        counts = Counter(t for t in tokens if t not in specials)
        keep = [t for t, _ in counts.most_common(max(0, max_size - len(specials)))]
        return cls(list(specials) + keep, unk=UNK if UNK in specials else None)

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
        unk = d.get("unk")
        if unk is not None and unk not in tokens:
            raise RunError(f"{source}: the unknown token {unk!r} is not in the token list")
        return cls(tokens, unk)
