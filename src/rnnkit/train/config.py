"""The options every training run shares, as a typed dataclass with checks.

Tasks subclass :class:`TrainConfig` to add their own fields; the command line
builds one from its flags (``--hidden`` sets ``hidden``) and the run stores it
as ``config.json``, so ``--resume`` continues with exactly the same settings.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from rnnkit.errors import RnnkitError

CELLS = ("lstm", "gru", "rnn", "rnn_relu")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")


def flag(name: str) -> str:
    """The command-line flag of a config field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


@dataclass
class TrainConfig:
    """Model, optimisation, budget and evaluation settings of one run."""

    # model
    cell: str = "lstm"
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    embed: int = 64
    init: str = "torch"
    # optimisation
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    clip: float = 5.0  # 0 = no clipping
    batch_size: int = 32
    schedule: str = "constant"
    lr_step: int = 1000
    lr_gamma: float = 0.5
    # budget: the first one reached stops training; none given -> the task's default epochs
    epochs: int | None = None
    max_steps: int | None = None
    time_limit: float | None = None
    # evaluation and checkpoints
    val_fraction: float = 0.1
    eval_every: int | None = None
    patience: int | None = None
    checkpoint_every: int | None = None
    # run
    seed: int = 0
    dtype: str = "float32"
    out: str | None = None
    quiet: bool = False

    def check(self) -> "TrainConfig":
        """Raise RnnkitError naming the flag of the first bad value; return self."""
        choices = {"cell": CELLS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "dtype": DTYPES,
                   "init": ("torch", "keras")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise RnnkitError(f"{flag(name)}: expected one of {', '.join(allowed)}; given {getattr(self, name)!r}")
        positive = ("hidden", "layers", "embed", "batch_size", "lr_step", "epochs", "max_steps",
                    "eval_every", "patience", "checkpoint_every")
        for name in positive:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise RnnkitError(f"{flag(name)}: expected a positive integer, given {value!r}")
        if self.clip is not None and self.clip < 0:
            raise RnnkitError(f"--clip: expected a number >= 0 (0 turns clipping off), given {self.clip!r}")
        for name in ("lr", "time_limit", "lr_gamma"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise RnnkitError(f"{flag(name)}: expected a positive number, given {value!r}")
        for name, hi in (("dropout", 1.0), ("val_fraction", 1.0)):
            if not 0 <= getattr(self, name) < hi:
                raise RnnkitError(f"{flag(name)}: expected a number in [0, {hi}), given {getattr(self, name)!r}")
        if self.weight_decay < 0:
            raise RnnkitError(f"--weight-decay: expected a number >= 0, given {self.weight_decay!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        """Build from a stored dict; RnnkitError on unknown keys."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise RnnkitError(f"{source}: unknown option(s) {', '.join(unknown)}")
        return cls(**d).check()
