"""What every task shares: building the recurrent stack, opening runs, splitting data, sharing batches.

A task module (``charlm``, ``classify``, ...) provides ``NAME``, a ``Config``
dataclass (a :class:`~rnnkit.train.config.TrainConfig` with task fields), a
``prepare(config, run) -> Plan`` and its ``RECIPE`` for the task driver, a
``train(config, resume=None, changes=None, world=None) -> summary`` function (the one Python
call that the ``rnnkit train TASK`` command makes, handed to :func:`rnnkit.tasks.driver.train`),
a ``load(run) -> model`` function and ``add_arguments(parser)`` for its command-line options.
Its objective shares each batch among several ranks with :class:`RowShares` (or its own
``distribute``/``share``, as charlm's streams do); with :class:`HeldRows` each rank also keeps only its
block of the training rows.
"""
from __future__ import annotations

import hashlib

import numpy as np

from rnnkit.errors import DataError, RunError
from rnnkit.nn.recurrent import GRU, LSTM, RNN, Recurrent
from rnnkit.train.checkpoint import numbers_held
from rnnkit.train.config import VARIANT_FIELDS, TrainConfig
from rnnkit.train.distributed import SINGLE, World, concat_shares, same_everywhere, share
from rnnkit.train.run import Run


def make_recurrent(config: TrainConfig, input_size: int, seed: int, bidirectional: bool | None = None) -> Recurrent:
    """The recurrent stack that ``config`` describes (``--cell --hidden --layers --dropout ...`` and the cell
    variants ``--proj-size --peephole --layer-norm --recurrent-dropout --weight-drop --zoneout --merge-mode``)."""
    kwargs = dict(num_layers=config.layers, dropout=config.dropout, dtype=config.dtype, seed=seed,
                  init=config.init,
                  bidirectional=config.bidirectional if bidirectional is None else bidirectional,
                  **variant_options(config))
    if config.cell == "lstm":
        return LSTM(input_size, config.hidden, **kwargs)
    if config.cell == "gru":
        return GRU(input_size, config.hidden, **kwargs)
    return RNN(input_size, config.hidden, nonlinearity="relu" if config.cell == "rnn_relu" else "tanh", **kwargs)


def variant_options(config: TrainConfig) -> dict:
    """The cell-variant keyword arguments of ``config`` that differ from their defaults (none: the plain cells)."""
    plain = TrainConfig()
    return {name: getattr(config, name) for name in VARIANT_FIELDS if getattr(config, name) != getattr(plain, name)}


def open_run(path, task: str | None = None) -> tuple[Run, str, dict]:
    """An existing run (a path or a Run), its task name and its stored config dict (RunError if not a run)."""
    run = path if isinstance(path, Run) else Run.open(path)
    info = run.config
    if not isinstance(info, dict) or "task" not in info or not isinstance(info.get("config"), dict):
        raise RunError(f"{run.file('config.json')}: expected keys 'task' and 'config'")
    if task is not None and info["task"] != task:
        raise RunError(f"RUN: {str(path)!r} is a {info['task']!r} run, not {task!r}")
    return run, info["task"], info["config"]


def open_task_run(path, task: str, config_cls: type[TrainConfig]) -> tuple[Run, TrainConfig]:
    """An existing run of ``task`` and its stored configuration, checked as ``config_cls`` and
    against the headers of its weight files (before anything is built from it)."""
    run, _, stored = open_run(path, task)
    config = config_cls.from_dict(stored, str(run.file("config.json")))
    check_config_fits_weights(run, config)
    return run, config


GATES = {"lstm": 4, "gru": 3}


def check_config_fits_weights(run: Run, config: TrainConfig) -> None:
    """RunError if config.json asks for a recurrent stack larger than the stored weights hold.

    The stack alone has layers × directions × G·H × H recurrent weights (G gates; × P with a projection
    of size P, the width of h); a config whose
    count exceeds every tensor of ``best``/``last.safetensors`` (read from their headers) disagrees
    with them, and building its model could exhaust memory (``hidden`` 65536: 128 GiB)."""
    least = config.layers * (2 if config.bidirectional else 1) * GATES.get(config.cell, 1) * config.hidden \
        * (config.proj_size or config.hidden)
    for name in ("best.safetensors", "last.safetensors"):
        if run.exists(name):
            held = numbers_held(run.file(name))
            if least > held:
                raise RunError(f"{run.file('config.json')}: --hidden {config.hidden}, --layers {config.layers} "
                               f"need at least {least:,} recurrent weights but {name} holds {held:,} numbers in "
                               f"all: the configuration and the weights disagree (the run is damaged)")


def validation_size(n: int, val_fraction: float, what: str = "examples",
                    advice: str = "more data or another --val-fraction") -> int:
    """How many of ``n`` items ``val_fraction`` holds out; DataError unless both parts are non-empty."""
    n_val = int(n * val_fraction)
    if n_val < 1 or n - n_val < 1:
        raise DataError(f"the data has {n} {what}: --val-fraction {val_fraction} leaves {n_val} for validation "
                        f"and {n - n_val} for training; give {advice}")
    return n_val


def split_indices(n: int, val_fraction: float, seed: int, what: str = "examples",
                  advice: str = "more data or another --val-fraction") -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices: a fixed shuffle drawn from the task's own ``seed`` (so the split is
    the same whatever ``--seed`` is), then the last ``val_fraction`` for validation."""
    n_val = validation_size(n, val_fraction, what, advice)
    order = np.random.default_rng(seed).permutation(n)
    return order[:n - n_val], order[n - n_val:]


def fit_scaler(rows: np.ndarray) -> dict:
    """Per-feature mean and standard deviation of (N, D) training rows, σ = 1 for a constant feature:
    ``{"mean": [D floats], "std": [D floats]}``, ready for JSON; inputs become (x − mean) / std."""
    std = rows.std(axis=0)
    return {"mean": rows.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}


class RowShares:
    """Data parallel for an objective whose batch is a tuple of arrays with one row per sequence: on
    several ranks each takes its share of the rows of every batch. Subclasses say what their loss
    averages over (:meth:`weight`: sequences, unless it counts real tokens), and may share the forward
    passes of their validation with :meth:`spread`."""

    world: World = SINGLE

    def distribute(self, world: World) -> None:
        self.world = world

    def share(self, batch: tuple) -> tuple[tuple, int]:
        """This rank's rows of ``batch`` and their weight (0 if the batch has fewer rows than ranks)."""
        part = share(len(batch[0]), self.world.rank, self.world.size)
        rows = [None if a is None else a[part] for a in batch]
        mine = type(batch)(*rows) if hasattr(batch, "_fields") else tuple(rows)
        return mine, self.weight(mine) if part.stop > part.start else 0

    def weight(self, batch: tuple) -> int:
        """How many items the loss of ``batch`` is the mean over: its sequences."""
        return len(batch[0])

    def spread(self, items, compute):
        """``compute(items)`` with the work shared among the ranks: each runs ``compute`` on its share of
        ``items`` (its rows of the result, in order); the rows of all, joined, on every rank."""
        return self.joined(len(items), compute(self.val_share(items)))

    def val_share(self, items):
        """This rank's share of ``items`` (validation examples, a list or an array): all of them on one
        process or when fewer than the ranks; a rank may keep only this share (:meth:`joined`, :meth:`each_share`)."""
        return items if len(items) < self.world.size else items[share(len(items), self.world.rank, self.world.size)]

    def joined(self, n: int, rows: np.ndarray) -> np.ndarray:
        """Every rank's ``rows``, computed from its :meth:`val_share` of ``n`` items, joined in rank order, on
        every rank."""
        return rows if n < self.world.size else concat_shares(self.world, rows, 0)

    def each_share(self, n: int, compute) -> list:
        """``compute(part)`` of every rank's share ``part`` (a slice) of ``n`` items, in rank order, on every
        rank (its result must be JSON: numbers, strings, lists); one share of all if fewer than the ranks."""
        if n < self.world.size:
            return [compute(slice(None))]
        return self.world.allgather(compute(share(n, self.world.rank, self.world.size)))


class HeldRows(RowShares):
    """Data parallel where each rank holds only its block of the training rows, so that the examples
    a rank keeps shrink as ranks grow.

    The objective keeps its training rows in ``self.held`` (columns: lists or arrays, one entry per
    training row) and ``self.lengths`` (one number per row, of all N rows: what the batches are drawn
    from). Every rank draws the same global batches of row indices as one process does; on R ranks,
    rank r keeps only the rows share(N, r, R) and builds, of each global batch, the rows it holds
    (:meth:`mine`): an uneven share, perhaps none, which the weighted Allreduce averages exactly
    (:mod:`rnnkit.train.distributed`). Memory per rank: N/R rows and N lengths."""

    start = 0  # the first training row held here

    def distribute(self, world: World) -> None:
        """Keep this rank's block of the training rows; every rank must have drawn the same rows."""
        super().distribute(world)
        digest = hashlib.sha256(np.ascontiguousarray(self.lengths, dtype=np.int64).tobytes()).hexdigest()
        same_everywhere(world, digest, "read other training rows (their lengths differ)",
                        "give every process the same data files and the same rnnkit")
        part = share(len(self.lengths), world.rank, world.size)
        self.held = {k: v[part].copy() for k, v in self.held.items()}  # the other rows can be freed
        self.start = part.start

    def holds(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx),) bool: which of the training rows ``idx`` this rank holds (all on one process)."""
        n = len(next(iter(self.held.values())))
        return (idx >= self.start) & (idx < self.start + n)

    def mine(self, idx: np.ndarray) -> np.ndarray:
        """The rows of ``idx`` (indices of training rows) that this rank holds, in their order in ``idx``."""
        return idx[self.holds(idx)]

    def held_batches(self, index_batches, build):
        """``build(rows)`` of the rows held here of each global batch of ``index_batches`` (all of them on one
        process), in order; None for a batch of which this rank holds none."""
        for idx in index_batches:
            mine = self.mine(idx)
            yield build(mine) if len(mine) else None

    def rows(self, name: str, idx: np.ndarray):
        """The held column ``name``'s entries of the training rows ``idx`` (held here: see :meth:`mine`)."""
        column = self.held[name]
        return column[idx - self.start] if isinstance(column, np.ndarray) else [column[i - self.start] for i in idx]

    def share(self, batch) -> tuple:
        """The batch that :meth:`batches` built of this rank's rows (None if it holds none), its weight."""
        return batch, 0 if batch is None else self.weight(batch)
