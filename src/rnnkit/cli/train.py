"""``rnnkit train TASK [DATA ...] [options]``: train a model and write a run directory."""
from __future__ import annotations

import argparse
from dataclasses import fields

from rnnkit.errors import RnnkitError
from rnnkit.tasks import TASKS
from rnnkit.tasks.base import open_run
from rnnkit.tasks.session import RESUMABLE
from rnnkit.train import distributed
from rnnkit.train.config import CELLS, DTYPES, MERGE_MODES, ON_NAN, OPTIMIZERS, SCHEDULES, flag
from rnnkit.train.lock import RunLock
from rnnkit.train.run import Run

EXAMPLES = """examples:
  rnnkit train charlm                                  # tiny Shakespeare, bundled
  rnnkit train charlm my.txt --hidden 512 --time-limit 900
  rnnkit train classify reviews.tsv --cell gru --epochs 10
  rnnkit train --resume runs/charlm                    # continue an interrupted run
  rnnkit train --resume runs/charlm --max-steps 5000   # ... with a larger budget (totals for the run)

A resume may change the budget and stopping rules (--epochs, --max-steps, --time-limit, --patience,
--eval-every, --checkpoint-every, --on-nan, --max-rollbacks, --quiet); any other option must match the run.
"""

# flag -> (argparse keywords, help); the default shown is the task's own
COMMON = {
    "cell": (dict(choices=CELLS), "recurrent cell"),
    "hidden": (dict(type=int), "hidden units per layer"),
    "layers": (dict(type=int), "stacked recurrent layers"),
    "bidirectional": (dict(action="store_true"), "read the sequence in both directions"),
    "dropout": (dict(type=float), "dropout between layers and before the output layer"),
    "embed": (dict(type=int), "embedding size for token inputs"),
    "init": (dict(choices=("torch", "keras")), "weight initialisation"),
    "proj_size": (dict(type=int), "LSTM: project h to this many units (Sak et al. 2014; 0: none)"),
    "peephole": (dict(action="store_true"), "LSTM: peephole connections from the cell state into the gates"),
    "layer_norm": (dict(action="store_true"), "LSTM, GRU: layer-normalised gates (Ba et al. 2016)"),
    "recurrent_dropout": (dict(type=float), "variational dropout on h_{t-1} in the recurrence, one mask "
                                            "per sequence (Gal & Ghahramani 2016)"),
    "weight_drop": (dict(type=float), "DropConnect on the recurrent weights once per batch (AWD-LSTM)"),
    "zoneout": (dict(type=float), "zoneout probability: units keep their previous value (Krueger et al. 2016)"),
    "merge_mode": (dict(choices=MERGE_MODES), "how a bidirectional stack joins its two directions"),
    "optimizer": (dict(choices=OPTIMIZERS), "optimizer"),
    "lr": (dict(type=float), "learning rate"),
    "weight_decay": (dict(type=float), "weight decay"),
    "clip": (dict(type=float), "clip the global gradient norm to this (0: off)"),
    "batch_size": (dict(type=int), "sequences per batch"),
    "schedule": (dict(choices=SCHEDULES), "learning-rate schedule"),
    "lr_step": (dict(type=int), "step schedule: steps between decays"),
    "lr_gamma": (dict(type=float), "step schedule: decay factor"),
    "epochs": (dict(type=int), "passes over the training data"),
    "max_steps": (dict(type=int), "stop after this many optimizer steps"),
    "time_limit": (dict(type=float), "stop after this many seconds"),
    "val_fraction": (dict(type=float), "fraction of the data held out for validation"),
    "eval_every": (dict(type=int), "evaluate every N steps (default: every epoch)"),
    "patience": (dict(type=int), "early stopping: evaluations without improvement (0: off)"),
    "checkpoint_every": (dict(type=int), "write last.safetensors and the training state every N steps"),
    "on_nan": (dict(choices=ON_NAN), "on a non-finite loss or gradient: roll back to the last checkpoint "
                                     "with the learning rate halved, or stop"),
    "max_rollbacks": (dict(type=int), "stop after this many rollbacks"),
    "seed": (dict(type=int), "random seed (same seed, same machine: same run)"),
    "dtype": (dict(choices=DTYPES), "floating-point precision"),
    # type=str: the training Session checks the run directory (and suggests --resume for an existing run)
    "out": (dict(metavar="DIR", type=str), "run directory (default: runs/TASK, never overwritten)"),
    "quiet": (dict(action="store_true"), "no progress bar or summary"),
}
DISTRIBUTED = ("train on the processes of an MPI launcher (mpiexec -n N rnnkit train ...; found without this flag "
               "too); fail if MPI is not there. --batch-size is the global batch, shared among them")
REVERIFY = ("with --resume: a run that lost its manifest.json: record the checksums of its files as they are "
            "now (only if you trust them)")


def add_common_arguments(parser: argparse.ArgumentParser, config_cls) -> None:
    defaults = config_cls()
    group = parser.add_argument_group("model and training options")
    for name, (kwargs, text) in COMMON.items():
        default = getattr(defaults, name)
        shown = "" if default in (None, False) or name in ("out", "eval_every") else f" (default {default})"
        group.add_argument(flag(name), dest=name, default=argparse.SUPPRESS, help=text + shown, **kwargs)
    group.add_argument("--resume", metavar="RUN", default=argparse.SUPPRESS,
                       help="continue the run RUN with its own configuration (a new budget may be given)")
    group.add_argument("--reverify", action="store_true", default=argparse.SUPPRESS, help=REVERIFY)
    group.add_argument("--distributed", action="store_true", default=argparse.SUPPRESS, help=DISTRIBUTED)


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model, writing a run directory",
                                   description=__doc__, epilog=EXAMPLES,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resume", metavar="RUN", help="continue the run RUN (with the options below, if given)")
    parser.add_argument("--reverify", action="store_true", default=argparse.SUPPRESS, help=REVERIFY)
    parser.add_argument("--distributed", action="store_true", default=argparse.SUPPRESS, help=DISTRIBUTED)
    for name in RESUMABLE:  # `rnnkit train --resume R --time-limit 5`: no TASK needed
        kwargs, text = COMMON[name]
        parser.add_argument(flag(name), dest=name, default=argparse.SUPPRESS, help=text, **kwargs)
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=False)
    for name, task in TASKS.items():
        sub = tasks.add_parser(name, help=task.__doc__.splitlines()[0], description=task.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        task.add_arguments(sub)
        add_common_arguments(sub, task.Config)
    parser.set_defaults(func=run)


def with_task(argv: list[str]) -> list[str]:
    """``train --resume RUN ...`` given no TASK: the run's task put after ``train``, so that a task
    option such as ``--hidden 32`` is parsed (and refused by name) instead of taken for a TASK."""
    if len(argv) < 3 or argv[0] != "train" or "--resume" not in argv or any(a in TASKS for a in argv):
        return argv
    i = argv.index("--resume")
    try:
        _, task_name, _ = open_run(argv[i + 1])
    except (IndexError, RnnkitError):
        return argv  # parsing or run() says what is wrong
    return [argv[0], task_name, *argv[1:]]


def run(args) -> int:
    world = distributed.detect(insist=getattr(args, "distributed", False))
    with distributed.no_rank_alone(world):  # a rank that fails alone stops them all, none waits forever
        return _train(args, world)


def _train(args, world) -> int:
    resume = getattr(args, "resume", None)
    if resume:
        task_name = world.on_root(lambda: _task_to_resume(args, resume))  # the run is rank 0's to read
        task = TASKS[task_name]
        names = {f.name for f in fields(task.Config)}
        changes = {k: v for k, v in vars(args).items() if k in names}
        summary = task.train(None, resume=resume, changes=changes, world=world)
    elif getattr(args, "reverify", False):
        raise RnnkitError("--reverify: applies to a run being resumed: rnnkit train --resume RUN --reverify")
    elif not args.task:
        raise RnnkitError(f"give a TASK ({', '.join(TASKS)}) or --resume RUN")
    else:
        task = TASKS[args.task]
        names = {f.name for f in fields(task.Config)}
        config = task.Config(**{k: v for k, v in vars(args).items() if k in names})
        summary = task.train(config, world=world)
    # the other ranks wait for rank 0's last writes: one that exits first with 130 (interrupted) would have
    # the launcher kill rank 0 in the middle of them
    world.on_root(lambda: _write_curves(summary["run"], quiet=getattr(args, "quiet", False)))
    return 130 if summary["stopped"] == "interrupted" else 0


def _task_to_resume(args, resume: str) -> str:
    """The task of the run ``resume`` (checked against a TASK given too); with --reverify, reverified."""
    _, task_name, _ = open_run(resume)
    if args.task and args.task != task_name:
        raise RnnkitError(f"--resume: {resume!r} is a {task_name!r} run, not {args.task!r}")
    if getattr(args, "reverify", False):
        with RunLock(resume):
            Run(resume).reverify()
    return task_name


def _write_curves(run_dir: str, quiet: bool) -> None:
    """The run's training curves (CSV, and curves.png with matplotlib), as ``rnnkit plot RUN`` draws them."""
    from rnnkit.diagnostics.curves import write_curves
    files = write_curves(run_dir)
    if not quiet:
        png = any(f.suffix == ".png" for f in files)
        print(f"training curves: {', '.join(str(f) for f in files)}"
              + ("" if png else ' (for the plot: pip install "rnnkit[plot]")'), flush=True)
