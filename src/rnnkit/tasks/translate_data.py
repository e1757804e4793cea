"""translate's pairs: the bundled set, the held-out split, the tokens of each side, the vocabularies and the ids.

Sources are lower-cased, targets keep their case (:func:`rnnkit.data.pairs.tokenize`). The held-out pairs
are a fixed random ``--val-fraction`` drawn with their own generator (``SPLIT_SEED``), whatever ``--seed``
is. The config is the task's :class:`rnnkit.tasks.translate.Config`.
"""
from __future__ import annotations

import gzip
from collections import Counter
from importlib import resources

import numpy as np

from rnnkit.data.pairs import Pairs, parse_pairs, read_pairs, tokenize
from rnnkit.data.vocab import UNK, Vocab
from rnnkit.tasks.base import validation_size
from rnnkit.tasks.seq2seq import Seq2Seq

BUNDLED = "eng-fra.txt.gz"
SPLIT_SEED = 0x7E57   # the held-out split's own generator: the same split whatever --seed is


def bundled_pairs() -> Pairs:
    """The bundled Tatoeba English–French pairs (CC BY 2.0 FR; manythings.org/anki, tatoeba.org)."""
    data = resources.files("rnnkit.datasets").joinpath("translation", BUNDLED).read_bytes()
    return parse_pairs(gzip.decompress(data).decode("utf-8"), f"bundled {BUNDLED}")


def load_pairs(paths: list[str]) -> Pairs:
    return read_pairs(paths) if paths else bundled_pairs()


def split_indices(n: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices: a fixed random permutation, held-out = its first ``val_fraction``."""
    n_val = validation_size(n, val_fraction, "pairs", "more pairs or another --val-fraction")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def source_tokens(text: str) -> list[str]:
    return tokenize(text, lower=True)


def target_tokens(text: str) -> list[str]:
    return tokenize(text)


def build_vocab(token_lists, specials: list[str], config) -> Vocab:
    """``specials``, then tokens seen ``--min-count`` times, most frequent first, at most ``--vocab-size``."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t, c in counts.most_common() if c >= config.min_count and t not in specials]
    return Vocab(specials + kept[:config.vocab_size - len(specials)], unk=UNK)


def encode_pairs(model: Seq2Seq, sources: list[str], targets: list[str]) -> tuple[list, list]:
    """(source ids, target ids) of every pair: (S_i,) and (T_i,) int64 arrays (no <bos>/<eos>)."""
    src = [model.source_vocab.encode(source_tokens(s)) for s in sources]
    tgt = [model.target_vocab.encode(target_tokens(t)) for t in targets]
    return src, tgt
