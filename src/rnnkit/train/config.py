"""The options every training run shares, as a typed dataclass with checks.

Tasks subclass :class:`TrainConfig` to add their own fields; the command line
builds one from its flags (``--hidden`` sets ``hidden``) and the run stores it
as ``config.json``, so ``--resume`` continues with exactly the same settings.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from argparse import SUPPRESS
from dataclasses import dataclass, fields

from rnnkit.errors import RnnkitError, RunError

CELLS = ("lstm", "gru", "rnn", "rnn_relu")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "cosine")
DTYPES = ("float32", "float64")
ON_NAN = ("rollback", "stop")
MERGE_MODES = ("concat", "sum", "mul", "ave")
# the cell-variant fields (see rnnkit.nn.variants) and the cells that take each
VARIANT_FIELDS = ("proj_size", "peephole", "layer_norm", "recurrent_dropout", "weight_drop", "zoneout", "merge_mode")
VARIANT_CELLS = {"proj_size": ("lstm",), "peephole": ("lstm",), "layer_norm": ("lstm", "gru")}
# upper bounds on sizes: a stored config asking for more is refused before anything is allocated
MAX_SIZES = {"hidden": 2**16, "layers": 64, "embed": 2**16, "batch_size": 2**20, "bptt": 2**20,
             "vocab_size": 2**24, "max_rollbacks": 1000, "length": 2**16, "lag": 2**16, "features": 2**16,
             "symbols": 2**16}


def flag(name: str) -> str:
    """The command-line flag of a config field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def add_options(parser, options: dict) -> None:
    """A ``--flag`` per config field in ``options`` ({name: (argparse keywords, help)}); a flag not
    given leaves no attribute (``SUPPRESS``), so the task's Config keeps its own default."""
    for name, (kwargs, text) in options.items():
        parser.add_argument(flag(name), dest=name, default=SUPPRESS, help=text, **kwargs)


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
    # cell variants (all off by default; see rnnkit.nn.variants)
    proj_size: int = 0
    peephole: bool = False
    layer_norm: bool = False
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float = 0.0
    merge_mode: str = "concat"
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
    # divergence guard: a non-finite loss or gradient rolls back to the last checkpoint with half the lr
    on_nan: str = "rollback"
    max_rollbacks: int = 3
    # run
    seed: int = 0
    dtype: str = "float32"
    out: str | None = None
    quiet: bool = False

    def check(self) -> "TrainConfig":
        """Raise RnnkitError naming the flag of the first bad value; return self."""
        _check_numbers(self)
        choices = {"cell": CELLS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "dtype": DTYPES,
                   "init": ("torch", "keras"), "on_nan": ON_NAN, "merge_mode": MERGE_MODES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise RnnkitError(f"{flag(name)}: expected one of {', '.join(allowed)}; given {getattr(self, name)!r}")
        positive = ("hidden", "layers", "embed", "batch_size", "lr_step", "epochs", "max_steps",
                    "eval_every", "checkpoint_every")
        for name in positive:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise RnnkitError(f"{flag(name)}: expected a positive integer, given {value!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or isinstance(self.patience, bool)
                                          or self.patience < 0):
            raise RnnkitError(f"--patience: expected an integer >= 0 (0 turns early stopping off), given "
                              f"{self.patience!r}")
        if self.clip is not None and self.clip < 0:
            raise RnnkitError(f"--clip: expected a number >= 0 (0 turns clipping off), given {self.clip!r}")
        for name in ("lr", "time_limit", "lr_gamma"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise RnnkitError(f"{flag(name)}: expected a positive number, given {value!r}")
        for name, hi in (("dropout", 1.0), ("val_fraction", 1.0), ("recurrent_dropout", 1.0),
                         ("weight_drop", 1.0), ("zoneout", 1.0)):
            if not 0 <= getattr(self, name) < hi:
                raise RnnkitError(f"{flag(name)}: expected a number in [0, {hi}), given {getattr(self, name)!r}")
        if self.weight_decay < 0:
            raise RnnkitError(f"--weight-decay: expected a number >= 0, given {self.weight_decay!r}")
        _check_variants(self)
        mr = self.max_rollbacks
        if not isinstance(mr, int) or isinstance(mr, bool) or mr < 0:
            raise RnnkitError(f"--max-rollbacks: expected an integer >= 0, given {mr!r}")
        for name, hi in MAX_SIZES.items():
            value = getattr(self, name, None)
            if isinstance(value, int) and value > hi:
                raise RnnkitError(f"{flag(name)}: expected at most {hi}, given {value!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        """Build from a stored (untrusted) dict, checked against the schema.

        Unknown keys, values of the wrong type and out-of-range values raise
        :class:`~rnnkit.errors.RunError` naming ``source`` and the key.
        """
        if not isinstance(d, dict):
            raise RunError(f"{source}: expected a JSON object of options, given {type(d).__name__}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise RunError(f"{source}: unknown option(s) {', '.join(map(str, unknown))}"[:300])
        for key, value in d.items():
            if not _matches_type(value, hints.get(key)):
                raise RunError(f"{source}: {key}: expected {_type_name(hints.get(key))}, given {value!r}"[:300])
        try:
            return cls(**d).check()
        except RnnkitError as exc:
            raise RunError(f"{source}: {exc}") from None


def _check_numbers(config: TrainConfig) -> None:
    """Every float field of any task's config is finite and every integer field >= 0 (the command
    line refuses the others when it parses them; this is the same rule for Python callers)."""
    hints = typing.get_type_hints(type(config))
    for f in fields(config):
        value, hint = getattr(config, f.name), hints[f.name]
        if isinstance(value, float) and not math.isfinite(value):
            raise RnnkitError(f"{flag(f.name)}: expected a finite number, given {value!r}")
        integer_field = _matches_type(0, hint) and not _matches_type(0.5, hint)
        if integer_field and isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise RnnkitError(f"{flag(f.name)}: expected an integer >= 0, given {value!r}")


def _check_variants(config: TrainConfig) -> None:
    """The cell variants fit the cell, the hidden size and the directions (RnnkitError naming the flag)."""
    for name, cells in VARIANT_CELLS.items():
        if getattr(config, name) and config.cell not in cells:
            raise RnnkitError(f"{flag(name)}: the {config.cell} cell has no such option; it is an option of "
                              f"--cell {' and '.join(cells)}")
    if config.proj_size and config.proj_size >= config.hidden:
        raise RnnkitError(f"--proj-size: expected a projection smaller than --hidden {config.hidden} "
                          f"(0: none), given {config.proj_size!r}")
    if config.merge_mode != "concat" and not config.bidirectional:
        raise RnnkitError(f"--merge-mode: joins the two directions of a --bidirectional stack; this one has one "
                          f"(given {config.merge_mode!r})")


def _matches_type(value, hint) -> bool:
    """Whether a JSON value fits a dataclass annotation (int, float, bool, str, X | None, list[X], ...)."""
    if hint is None or hint is typing.Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(types, "UnionType", typing.Union)):
        return any(_matches_type(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple):
        return isinstance(value, list) and all(_matches_type(v, args[0]) for v in value) if args else \
            isinstance(value, list)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True  # a type this check does not know: left to the config's own check()


def _type_name(hint) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")
