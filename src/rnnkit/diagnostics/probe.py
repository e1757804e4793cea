"""The record of what a diagnostic reads: one input for one recurrent stack, and how it was sampled.

Legend: B batch, T time steps, D the stack's input features, L layers, K directions, H hidden units.

A :class:`Probe` holds the stack (``model.rnn``, or a translation model's encoder or decoder), its
features x (B, T, D), a label per step, what the labels are, and the stack's initial state (zeros
except for a translation decoder). :mod:`.inputs` (charlm, classify, the generated tasks, and the
dispatch) and :mod:`.task_inputs` (tag, forecast, caption, translate) build them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

INPUT_TOKEN, GENERATED_TOKEN = "step (input token)", "step (generated token)"


class Probe(NamedTuple):
    """One input of one recurrent stack (see the module docstring)."""

    rnn: object                 # the Recurrent stack looked into
    x: np.ndarray               # (B, T, D) its input features
    labels: list                # (T,) one label per step (inspect), or [] (gradflow)
    axis: str = INPUT_TOKEN     # what the labels are, for the plot's x axis
    state0: object = None       # initial state (L·K, B, H) (a tuple (h, c) for LSTM), or None for zeros
    what: str = ""              # one line saying what was read


def windows(seq, T: int, batch: int, rng):
    """B windows (B, T) of a long sequence at random starts, or None when it is not longer than T."""
    if len(seq) <= T:
        return None
    starts = rng.integers(0, len(seq) - T, size=batch)
    return np.stack([np.asarray(seq[s:s + T]) for s in starts])
