"""What the generated (toy) tasks share: data drawn on the fly, a fixed validation set, train and load.

A generated task has no data files. Each training batch is drawn from the
epoch's random generator that the trainer passes to ``batches(rng)``
(``default_rng([seed, epoch])``), so a run is deterministic given ``--seed``
and ``--resume`` replays an interrupted epoch exactly. An epoch is
``BATCHES_PER_EPOCH`` batches. The validation set (``VAL_SIZE`` examples) is
drawn once from a generator of its own, ``default_rng(VAL_KEY)``: it depends
on the task's options but not on ``--seed``, so runs with different seeds
and cells are scored on the same examples.

A task subclasses :class:`GeneratedTask` and defines ``examples`` (the
generator), ``build_model``, ``loss``, ``scores`` and ``baseline``; the
instance then offers what a task module offers (``NAME``, ``VERBS``,
``Config``, ``add_arguments``, ``train``, ``load``), see :mod:`rnnkit.tasks.base`.
"""
from __future__ import annotations

import inspect
from argparse import SUPPRESS
from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.nn.module import Module
from rnnkit.tasks import driver
from rnnkit.tasks.base import RowShares, open_task_run
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.train.config import TrainConfig, flag
from rnnkit.train.run import Run

BATCHES_PER_EPOCH = 100
VAL_SIZE = 1000
# the validation generator's key; three words, the last nonzero, so it never equals an epoch's
# [seed, epoch] (SeedSequence pads a short key with zeros: [a, b] and [a, b, 0] are the same seed)
VAL_KEY = (0x76616C, 0x746F79, 1)
CHUNK = 250  # evaluation forward passes take this many sequences at a time (bounded memory)


class Examples(NamedTuple):
    """A batch of generated examples (N sequences of T steps, D input features)."""

    x: np.ndarray                      # (N, T, D) float inputs
    y: np.ndarray                      # targets: class ids (N,) or (N, T), or values (N, 1)
    mask: np.ndarray | None = None     # (N, T) True where the loss and the metric look, or None


def one_hot(codes: np.ndarray, n: int, dtype) -> np.ndarray:
    """Integer codes (...) in 0..n-1 -> one-hot vectors (..., n) of ``dtype``."""
    return np.eye(n, dtype=dtype)[codes]


def check_at_least(config: TrainConfig, name: str, minimum: int, meaning: str) -> None:
    """RnnkitError naming the flag unless ``config.<name>`` is an integer >= ``minimum``."""
    value = getattr(config, name)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise RnnkitError(f"{flag(name)}: expected an integer >= {minimum} ({meaning}), given {value!r}")


def parse_ints(text: str, count: int, low: int, high: int) -> list[int]:
    """``"3 1 4 1 5"`` -> [3, 1, 4, 1, 5]: exactly ``count`` integers in low..high, else RnnkitError."""
    expected = f"{count} space-separated integers in {low}..{high}"
    try:
        values = [int(v) for v in text.split()]
    except ValueError:
        raise RnnkitError(f"INPUT: expected {expected}, given {text!r}") from None
    if len(values) != count or any(not low <= v <= high for v in values):
        raise RnnkitError(f"INPUT: expected {expected}, given {text!r}")
    return values


class GeneratedObjective(RowShares):
    """The trainer's view of a generated task: fresh batches every epoch, a fixed validation set."""

    unit = "examples"

    def __init__(self, task: "GeneratedTask", model: Module, config: TrainConfig):
        self.task, self.model, self.config = task, model, config
        self.metric, self.mode = task.metric, task.mode
        self.val = task.examples(np.random.default_rng(VAL_KEY), VAL_SIZE, config)

    def steps_per_epoch(self) -> int:
        return BATCHES_PER_EPOCH

    def batches(self, rng):
        # lazy: a resumed epoch regenerates (and skips) the batches before its position
        return (self.task.examples(rng, self.config.batch_size, self.config) for _ in range(BATCHES_PER_EPOCH))

    def start_epoch(self) -> None:
        pass

    def weight(self, batch: Examples) -> int:
        return batch.y.size if batch.mask is None else int(batch.mask.sum())  # what the loss averages over

    def train_step(self, batch: Examples) -> tuple[float, int]:
        loss, dout = self.task.loss(self.model.forward(batch.x), batch)
        self.model.backward(dout)
        return float(loss), len(batch.x)

    def evaluate(self) -> dict[str, float]:
        out = self.spread(self.val.x, partial(self.task.outputs, self.model))  # each rank its share
        return {f"val_{k}": v for k, v in self.task.scores(out, self.val).items()}

    def carried(self) -> dict[str, np.ndarray]:
        return {}  # every sequence starts from a zero state: nothing is carried between steps

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass

    def summary_extras(self) -> dict:
        """The no-skill baseline on the validation set (e.g. ``baseline_val_mse``), for the summary."""
        key, value, _ = self.task.baseline(self.config, self.val)
        return {key: value}


class GeneratedTask:
    """Base of a generated task; subclasses fill in the class attributes and the five hooks."""

    NAME: str
    VERBS: tuple[str, ...] = ("info",)
    Config: type[TrainConfig]
    metric: str          # the validation metric for best/early stopping, e.g. "val_accuracy"
    mode: str            # "max" or "min"
    default_epochs: int  # the budget when none of --epochs/--max-steps/--time-limit is given
    OPTIONS: dict = {}   # config field -> (argparse keywords, help) of the task's own flags

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__doc__ = inspect.cleandoc(cls.__doc__ or "")  # the `rnnkit train NAME --help` text, unindented

    # -- the hooks -------------------------------------------------------------
    def examples(self, rng: np.random.Generator, n: int, config) -> Examples:
        raise NotImplementedError

    def build_model(self, config) -> Module:
        raise NotImplementedError

    def loss(self, out: np.ndarray, batch: Examples):
        """(loss, dout) of the model's output ``out`` on ``batch``."""
        raise NotImplementedError

    def scores(self, out: np.ndarray, batch: Examples) -> dict[str, float]:
        """The metrics (without the ``val_`` prefix) of ``out`` on ``batch``."""
        raise NotImplementedError

    def baseline(self, config, val: Examples) -> tuple[str, float, str]:
        """(summary key, value, how it is obtained) of the no-skill baseline."""
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------
    def metrics(self, model: Module, batch: Examples) -> dict[str, float]:
        """``scores`` of the model on ``batch``."""
        return self.scores(self.outputs(model, batch.x), batch)

    def outputs(self, model: Module, x: np.ndarray) -> np.ndarray:
        """The model's outputs for the inputs ``x`` (N, T, D), run forward ``CHUNK`` sequences at a time."""
        return np.concatenate([model.forward(x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)])

    def evaluate_fresh(self, model: Module, size: int = 1000, seed: int = 1) -> dict[str, float]:
        """The task's metrics of a loaded model on ``size`` freshly generated examples."""
        return self.metrics(model, self.examples(np.random.default_rng(seed), size, model.config))

    def add_arguments(self, parser) -> None:
        """The task's own flags (defaults shown from ``Config``, left out of the namespace when not given)."""
        defaults = self.Config()
        for name, (kwargs, text) in self.OPTIONS.items():
            parser.add_argument(flag(name), dest=name, default=SUPPRESS,
                                help=f"{text} (default {getattr(defaults, name)})", **kwargs)

    def prepare(self, config, run: Run | None) -> Plan:
        """The model and the objective (its data are drawn as it trains); the report names the baseline."""
        objective = GeneratedObjective(self, self.build_model(config), config)

        def report(summary: dict) -> str:  # the baseline's value is in the summary already (summary_extras)
            key, _, how = self.baseline(config, objective.val)
            return f"baseline: {how} scores {self.metric} {summary[key]:.4f} (this run's best: " \
                   f"{summary[f'best_{self.metric}']:.4f})"

        return Plan(objective, report=report)

    def train(self, config=None, resume: str | None = None, changes: dict | None = None, world=None) -> dict:
        """Train on generated data; returns the summary (``summary["run"]`` is the run directory).

        The summary also holds the no-skill baseline (e.g. ``baseline_val_mse``), printed after
        the summary table unless ``--quiet``. ``resume``: continue that run instead, with the
        budget ``changes`` (see :mod:`rnnkit.tasks.session`); ``world``: see :mod:`rnnkit.tasks.driver`.
        """
        recipe = Recipe(self.NAME, self.Config, self.prepare, self.default_epochs)
        return driver.train(recipe, config, resume, changes, world)

    def load(self, run: Run | str, which: str = "best") -> Module:
        """The trained model of a run (``best`` or ``last`` weights), in eval mode, with ``.config``."""
        run, config = open_task_run(run, self.NAME, self.Config)
        model = self.build_model(config)
        run.load_model(f"{which}.safetensors", model)
        model.config = config
        return model.eval()
