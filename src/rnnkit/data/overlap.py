"""How much of a validation set the training set already holds: duplicates and contained phrases.

A validation split cut at random from a data set of *phrases* (every sub-phrase of a parsed sentence
labelled on its own, as the Stanford Sentiment Treebank's 67k training phrases) leaks: most
validation phrases are also training phrases, or parts of training sentences, so the validation
score, and early stopping on it, is far above what unseen sentences get. This measures it:

    norm(t)    = the text lower-cased, as words and punctuation joined by single spaces
    duplicate  = norm(v) is norm(t) for some training text t
    contained  = norm(v) is a run of whole words inside some norm(t), or a duplicate

    rates = (number of validation texts that are duplicates / contained) / (number checked)

Containment is a substring search over all training texts joined into one string, which costs
about a millisecond per validation text for a few MB of training text; at most ``sample``
validation texts (a fixed random sample) are checked, so the rates are estimates for large sets.
"""
from __future__ import annotations

import numpy as np

from rnnkit.data.vocab import words

SAMPLE = 500          # validation texts checked at most
WARN_RATE = 0.05      # a contained rate above this deserves a warning


def normalise(text: str) -> str:
    """Lower-cased words and punctuation joined by single spaces."""
    return " ".join(words(text.lower()))


def overlap(train: list[str], val: list[str], sample: int = SAMPLE, seed: int = 0) -> dict:
    """``{"checked", "duplicate_rate", "contained_rate"}`` of the validation texts ``val`` in ``train``."""
    pick = np.random.default_rng(seed).permutation(len(val))[:sample] if len(val) > sample else range(len(val))
    normal = [normalise(t) for t in train]
    whole = set(normal)
    haystack = "\n " + " \n ".join(normal) + " \n"     # every text between " " ... " " on its own line
    checked = duplicates = contained = 0
    for i in pick:
        v = normalise(val[i])
        if not v:
            continue
        checked += 1
        if v in whole:
            duplicates += 1
            contained += 1
        elif f" {v} " in haystack:
            contained += 1
    return {"checked": checked, "duplicate_rate": duplicates / max(checked, 1),
            "contained_rate": contained / max(checked, 1)}


def leak_warning(rates: dict, where: str) -> str | None:
    """A warning when more than ``WARN_RATE`` of the validation texts are found in the training texts."""
    if rates["contained_rate"] <= WARN_RATE:
        return None
    return (f"warning: {rates['contained_rate']:.0%} of the validation texts ({where}; {rates['duplicate_rate']:.0%} "
            f"exact duplicates, of {rates['checked']} checked) also occur in the training texts, whole or inside a "
            f"longer one (a data set of phrases?): the validation score, and the early stopping and best weights "
            f"chosen by it, will be higher than on unseen texts; give held-out texts with --val FILE")
