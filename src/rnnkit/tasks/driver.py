"""The one task driver: data → model → objective → trainer, for every task.

A task describes itself as a :class:`Recipe` (its name, its Config, its defaults) and a
``prepare(config, run)`` hook that reads the data, builds the model (fresh, or from ``run``'s files
when resuming) and wraps both in an objective; it returns a :class:`Plan`. The driver owns the
rest, the same for every task::

    Session (lock, resume rules, data checks)  →  prepare  →  create the run with the plan's files
        →  Trainer(objective).fit  →  the plan's finish (test scores) and report

so a task module holds only what is its own: its reader, its model, its metric, its options::

    RECIPE = Recipe(NAME, Config, prepare, default_epochs=10)

    def train(config=None, resume=None, changes=None) -> dict:
        return driver.train(RECIPE, config, resume, changes)
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Callable

from rnnkit.errors import RnnkitError
from rnnkit.tasks.session import Session
from rnnkit.train import distributed
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import World
from rnnkit.train.run import Run
from rnnkit.train.trainer import Objective, Trainer


@dataclass
class Plan:
    """What a task's ``prepare`` hands the driver: the objective (which holds the model) and its extras."""

    objective: Objective
    files: dict = field(default_factory=dict)        # JSON files of a new run: {name: object} (vocabularies...)
    write_new: Callable[[Run], None] | None = None   # writes more files into a new run (e.g. held-out data)
    finish: Callable[[Run, dict], dict] | None = None  # after a run that ended (not interrupted): more summary
    report: Callable[[dict], str] | None = None      # printed after the summary table unless --quiet
    warning: str | None = None                       # printed on stderr before training (e.g. a data leak)


@dataclass(frozen=True)
class Recipe:
    """A task as the driver sees it: ``prepare(config, run or None) -> Plan`` and the defaults."""

    name: str
    config_cls: type[TrainConfig]
    prepare: Callable[[TrainConfig, Run | None], Plan]
    default_epochs: int = 1                 # the budget of a run given none (not stored in config.json)
    default_time_limit: float | None = None  # instead: a time budget, stored so that a resume keeps it


def train(recipe: Recipe, config: TrainConfig | None = None, resume=None, changes: dict | None = None,
          world: World | None = None) -> dict:
    """Train a new run of ``recipe`` (``config``) or continue ``resume`` with the budget ``changes``;
    the summary (``summary["run"]`` is the run directory).

    ``world``: the processes training together (default: MPI's when started by an MPI launcher, else
    this process alone, :func:`rnnkit.train.distributed.detect`); rank 0 alone writes and prints."""
    world = distributed.detect() if world is None else world
    with distributed.no_rank_alone(world):
        return _train(recipe, config, resume, changes, world)


def _train(recipe: Recipe, config: TrainConfig | None, resume, changes: dict | None, world: World) -> dict:
    no_budget = config is not None and (config.epochs, config.max_steps, config.time_limit) == (None,) * 3
    if not resume and no_budget and recipe.default_time_limit:
        config.time_limit = recipe.default_time_limit
    with Session(recipe.name, recipe.config_cls, config, resume, changes, world) as session:
        config = session.config
        if world.size > 1:
            world.agree(lambda: _check_world(world, recipe, config, session.data_files))
        plan = world.agree(lambda: recipe.prepare(config, session.run))
        if world.size > 1:
            world.agree(lambda: _check_shareable(recipe, plan))
        new = session.run is None
        run = session.create(plan.files)
        if world.root and new and plan.write_new:
            plan.write_new(run)
        if world.root and plan.warning:
            print(plan.warning, file=sys.stderr, flush=True)
        trainer = Trainer(plan.objective, config, run, default_epochs=recipe.default_epochs, world=world)
        summary = session.fit(trainer)
        summary["run"] = session.path  # rank 0's directory, on every rank
        finished = summary["stopped"] != "interrupted"
        if world.root and plan.finish and finished:
            summary |= plan.finish(run, summary)
            run.write_json("summary.json", summary)
    if world.root and plan.report and not config.quiet and (finished or not plan.finish):  # else its resume reports
        print(plan.report(summary), flush=True)
    return summary


def _check_shareable(recipe: Recipe, plan: Plan) -> None:
    if not hasattr(plan.objective, "distribute"):
        raise RnnkitError(f"{recipe.name}: its objective cannot share a batch among processes (it has no "
                          f"distribute/share); run it in one process, without mpiexec")


def _check_world(world: World, recipe: Recipe, config: TrainConfig, data_files: dict) -> None:
    """Every rank trains the same configuration on the same data, and each has a share of the batch.
    The configurations are compared first: a batch size checked before would fail on some ranks alone
    when theirs differ, and leave the others waiting in the comparison."""
    mine = {"task": recipe.name, "config": config.to_dict(), "data_files": data_files}
    distributed.same_everywhere(world, hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest(),
                                "see a different configuration or different data files (their SHA-256 of the "
                                "options and of the data differ)",
                                "give every process the same options and the same files")
    if world.size > config.batch_size:
        raise RnnkitError(f"--batch-size {config.batch_size}: fewer sequences than the {world.size} processes "
                          f"(--batch-size is the global batch, shared among them); give a larger one or fewer "
                          f"processes")
