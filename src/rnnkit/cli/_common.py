"""Helpers the subcommands share: opening a run's model and its task."""
from __future__ import annotations

from rnnkit.errors import RnnkitError
from rnnkit.tasks import TASKS, load
from rnnkit.tasks.base import open_run


def add_run_argument(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run directory written by 'rnnkit train'")
    parser.add_argument("--weights", choices=("best", "last"), default="best",
                        help="which weights of the run to use (default best)")


def task_of(run_path: str, verb: str):
    """The task module of a run, checking that the task offers ``verb`` (its ``VERBS``)."""
    _, name, _ = open_run(run_path)
    task = TASKS[name]
    if verb not in task.VERBS:
        raise RnnkitError(f"'{verb}' does not apply to a {name!r} run; it offers: {', '.join(task.VERBS)}")
    return task


def load_model(args):
    return load(args.run, args.weights)
