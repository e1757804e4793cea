"""A validation split of a data set of phrases that does not leak: whole texts out, and their parts with them.

A data set of phrases labels every sub-phrase of a parsed sentence on its own: the Stanford
Sentiment Treebank's 67k training "sentences" are the phrases of about 7k sentences. A random split
puts most validation phrases inside training sentences (:mod:`rnnkit.data.overlap` measures it), so
the validation score, and early stopping on it, is far above what unseen sentences get. The split
here holds out whole texts instead, as the treebank's own dev set does:

    key(p)      = the lower-cased words and punctuation of text p
    part(p, q)  = key(p) is a run of whole words inside key(q), shorter than it (runs of up to
                  MAX_SPAN words are looked for)
    whole texts = the keys that are a part of no other text (the sentences)
    validation  = every copy of a fixed random val_fraction of the whole texts
    training    = every copy of the other whole texts and of their parts
    left out    = the texts that are parts of validation texts only

So no validation text is a training text or inside one, and no phrase of a validation sentence is
trained on unless a training sentence holds it too. Looking for the parts costs one set lookup per
run of words: about L·min(L, MAX_SPAN) for a text of L words, a few seconds for the treebank.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.data.vocab import words
from rnnkit.errors import DataError

MAX_SPAN = 60            # longest run of words looked up as a possible part of a longer text
MAX_LOOKUPS = 30_000_000  # beyond this many lookups the split is not attempted (long documents, not phrases)


class PhraseSplit(NamedTuple):
    train: np.ndarray     # indices of the training texts
    val: np.ndarray       # indices of the validation texts
    wholes: int           # distinct texts that are part of no other text
    left_out: int         # texts that are parts of validation texts only


def key(text: str) -> tuple[str, ...]:
    """The lower-cased words and punctuation of a text."""
    return tuple(words(text.lower()))


def lookups(keys) -> int:
    """How many runs of words :func:`parts` looks up for these keys."""
    return sum(len(k) * min(len(k), MAX_SPAN) for k in keys)


def parts(k: tuple[str, ...], known: set) -> set:
    """The runs of whole words of ``k`` (of up to MAX_SPAN words, shorter than k) that are in ``known``."""
    L, found = len(k), set()
    for i in range(L):
        for j in range(i + 1, min(L, i + MAX_SPAN) + 1):
            if j - i < L and k[i:j] in known:
                found.add(k[i:j])
    return found


def phrase_split(texts: list[str], val_fraction: float, seed: int) -> PhraseSplit | None:
    """Hold out every copy of a fixed random ``val_fraction`` of the whole texts (see the module's
    docstring); None when the texts are too long to look for their parts (more than MAX_LOOKUPS).

    The shuffle comes from ``seed`` alone, so the split is the same on every run. DataError when the
    whole texts are too few to give both sides one."""
    keys = [key(t) for t in texts]
    known = set(keys) - {()}
    if lookups(known) > MAX_LOOKUPS:
        return None
    parts_of = {k: parts(k, known) for k in known}
    wholes = sorted(known - set().union(*parts_of.values()))
    n_val = int(len(wholes) * val_fraction)
    if n_val < 1 or n_val == len(wholes):
        raise DataError(f"the data has {len(wholes)} texts that are part of no other text: --val-fraction "
                        f"{val_fraction} leaves {n_val} of them for validation and {len(wholes) - n_val} for "
                        f"training; give more data, another --val-fraction or --val FILE")
    order = np.random.default_rng(seed).permutation(len(wholes))
    held = {wholes[i] for i in order[:n_val]}
    kept = {wholes[i] for i in order[n_val:]}
    kept |= set().union(*(parts_of[k] for k in kept))
    val = np.array([i for i, k in enumerate(keys) if k in held], dtype=np.int64)
    train = np.array([i for i, k in enumerate(keys) if k in kept or not k], dtype=np.int64)
    return PhraseSplit(train, val, len(wholes), len(keys) - len(train) - len(val))
