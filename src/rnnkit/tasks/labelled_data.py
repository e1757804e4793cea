"""classify's examples: the labelled files read, and the validation split.

``--val FILE`` is the validation set when given. Otherwise the last ``--val-fraction`` of the examples
after a fixed shuffle (``SPLIT_SEED``, whatever ``--seed`` is) validates, unless more than 5% of those
validation texts occur inside training texts (a data set of phrases): then whole texts and their
phrases are held out instead (``--val-split auto``; :mod:`rnnkit.data.phrases`). The config is the
task's :class:`rnnkit.tasks.classify.Config`.
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from rnnkit.data.overlap import WARN_RATE, overlap
from rnnkit.data.phrases import phrase_split
from rnnkit.data.tables import Labelled, read_labelled
from rnnkit.errors import DataError
from rnnkit.tasks.base import split_indices

BUNDLED = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
SPLIT_SEED = 0x5EED  # the validation split's own generator: the same split whatever --seed is
VAL_SPLITS = ("auto", "random", "phrases")


def bundled_paths() -> list[str]:
    """The UCI sentiment sentences shipped with rnnkit (Kotzias et al., KDD 2015; CC BY 4.0)."""
    root = resources.files("rnnkit.datasets") / "sentiment"
    return [str(root / name) for name in BUNDLED]


def read_data(paths: list[str], config) -> Labelled:
    return read_labelled(paths or bundled_paths(), config.text_col, config.label_col,
                         False if config.no_header else None)


def split_data(config) -> tuple[Labelled, np.ndarray, np.ndarray, dict, str | None]:
    """The examples (DATA, then ``--val`` if given), the training and validation indices into them, and
    how much of the validation texts the training texts hold (:func:`~rnnkit.data.overlap.overlap`),
    with how the split was made (``val_split``) when there is no ``--val``; and a note for the user when
    whole texts were held out (or None)."""
    data = read_data(config.data, config)
    if config.val:
        val = read_data([config.val], config)
        if val.numeric != data.numeric:
            raise DataError(f"--val {config.val}: holds {'.npz sequences' if val.numeric else 'texts'}, the training "
                            f"data {'.npz sequences' if data.numeric else 'texts'}")
        n = len(data.labels)
        data = Labelled(data.inputs + val.inputs, data.labels + val.labels, data.numeric)
        return (data, np.arange(n), np.arange(n, n + len(val.labels)),
                {} if data.numeric else _overlap_of(data.inputs[:n], data.inputs[n:]), None)
    train_idx, val_idx = split_indices(len(data.labels), config.val_fraction, SPLIT_SEED)
    if data.numeric:
        return data, train_idx, val_idx, {}, None
    rates = _overlap_of([data.inputs[i] for i in train_idx], [data.inputs[i] for i in val_idx])
    leaks = rates["val_contained_rate"] > WARN_RATE
    split = None
    if config.val_split == "phrases":
        split = phrase_split(data.inputs, config.val_fraction, SPLIT_SEED)
    elif config.val_split == "auto" and leaks:
        try:
            split = phrase_split(data.inputs, config.val_fraction, SPLIT_SEED)
        except DataError:  # too few whole texts to hold some out: the random split stays, with its warning
            split = None
    if split is None:
        return data, train_idx, val_idx, {**rates, "val_split": "random"}, None
    note = (f"note: validation holds {len(split.val):,} whole texts ({config.val_fraction:.0%} of the {split.wholes:,} "
            f"that are part of no other text) and their copies; {split.left_out:,} phrases found only inside them "
            f"are left out of training" + (f" (a random split had {rates['val_contained_rate']:.0%} of its "
                                           "validation texts inside training texts)" if leaks else ""))
    phrases = _overlap_of([data.inputs[i] for i in split.train], [data.inputs[i] for i in split.val])
    return data, split.train, split.val, {**phrases, "val_split": "phrases", "val_left_out": split.left_out}, note


def split_name(config, leak: dict) -> str:
    if config.val:
        return f"--val {config.val}"
    if leak["val_split"] == "phrases":
        return f"whole texts held out by --val-split {config.val_split}"
    return f"the last --val-fraction {config.val_fraction} of the shuffled examples"


def _overlap_of(train: list[str], val: list[str]) -> dict:
    return {f"val_{k}": round(v, 4) if k != "checked" else v for k, v in overlap(train, val).items()}
