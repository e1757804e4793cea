"""Tasks: a reader, a model, metrics and command-line verbs for each kind of problem.

``TASKS`` maps a task name (as in ``rnnkit train NAME``) to its module;
:func:`load` opens any run directory and gives back its trained model, :func:`open_trained` the
model with its task name and its run (config.json read once).
"""
from __future__ import annotations

from typing import NamedTuple

from rnnkit.tasks import (
    caption,
    charlm,
    classify,
    forecast,
    tag,
    toy,  # echo, copy, adding: one module, three tasks
    translate,
)
from rnnkit.tasks.base import open_run
from rnnkit.train.run import Run

TASKS = {task.NAME: task for task in (charlm, classify, tag, forecast, translate, caption)}
TASKS.update(toy.TASKS)


class Trained(NamedTuple):
    """A run's trained model, with its task and the run it was loaded from (:func:`open_trained`)."""

    model: object   # the task's model, in eval mode, with ``.config``
    task: str       # its task name, a key of TASKS
    run: Run        # its run directory (the task's other files: vocabularies, held-out data)

    @property
    def module(self):
        """The task (``TASKS[task]``: its module, or the generated task of echo, copy, adding): its predict,
        translate, forecast ... functions."""
        return TASKS[self.task]


def open_trained(run, which: str = "best") -> Trained:
    """The trained model of a run directory (``which`` = "best" or "last" weights), its task name and its
    :class:`~rnnkit.train.run.Run`; config.json is read once."""
    run_obj, task, _ = open_run(run)
    if task not in TASKS:
        from rnnkit.errors import RunError
        raise RunError(f"{run_obj.file('config.json')}: unknown task {task!r} (known: {', '.join(TASKS)})")
    return Trained(TASKS[task].load(run_obj, which), task, run_obj)


def load(run, which: str = "best"):
    """The trained task model of a run directory (``which`` = "best" or "last" weights).

    Example::

        model = rnnkit.load("runs/charlm")
        logits, state = model.forward(ids)        # ids (B, T) -> logits (B, T, V)
    """
    return open_trained(run, which).model
