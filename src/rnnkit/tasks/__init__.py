"""Tasks: a reader, a model, metrics and command-line verbs for each kind of problem.

``TASKS`` maps a task name (as in ``rnnkit train NAME``) to its module;
:func:`load` opens any run directory and gives back its trained model.
"""
from __future__ import annotations

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

TASKS = {task.NAME: task for task in (charlm, classify, tag, forecast, translate, caption)}
TASKS.update(toy.TASKS)


def load(run, which: str = "best"):
    """The trained task model of a run directory (``which`` = "best" or "last" weights).

    Example::

        model = rnnkit.load("runs/charlm")
        logits, state = model.forward(ids)        # ids (B, T) -> logits (B, T, V)
    """
    run_obj, task, _ = open_run(run)
    if task not in TASKS:
        from rnnkit.errors import RunError
        raise RunError(f"{run_obj.file('config.json')}: unknown task {task!r} (known: {', '.join(TASKS)})")
    return TASKS[task].load(run_obj, which)
