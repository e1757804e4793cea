"""Command-line value types every subcommand shares, applied to every parser at once.

:func:`harden` walks the whole parser tree after the subcommands have registered their
options and replaces each ``type=float`` by :func:`finite_float` and each ``type=int`` by
:func:`count`. No option of any command takes a NaN, an infinity or a negative count, so
the rule is enforced here once, when the command line is parsed and before any file is
touched, and an option added later is covered without anyone remembering to (argparse
reports ``argument --lr: expected a finite number, given 'nan'`` and exits with code 2).
What each value may be beyond that (``--lr`` > 0, ``--dropout`` < 1, ...) is checked by
the library, which names the option too.

:func:`output_path` is the type of every option that names a file or directory a command
writes: nothing but ``rnnkit train`` writes into a run directory (see :mod:`rnnkit.train.lock`).
"""
from __future__ import annotations

import argparse
import math
import os

from rnnkit.train.lock import run_containing


def finite_float(text: str) -> float:
    """A float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, given {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, given {text!r}")
    return value


def count(text: str) -> int:
    """An integer >= 0 (every integer option of rnnkit is a size, a count, a position or a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, given {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, given {text!r}")
    return value


def output_path(text: str) -> str:
    """A file or directory a command may write: not inside (nor the same as) a run directory."""
    run = run_containing(text)
    if run is not None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is inside the run directory {str(run)!r}: only 'rnnkit train' writes a run's "
            f"files (to train it on: rnnkit train --resume {run}); choose a path outside it")
    return text


def output_dir(text: str) -> str:
    """An output directory: :func:`output_path`, and not an existing file."""
    output_path(text)
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a directory")
    return text


TYPES = {float: finite_float, int: count}


def parsers(parser: argparse.ArgumentParser):
    """``parser`` and every subcommand parser below it, depth first."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield from parsers(sub)


def harden(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every float option :func:`finite_float` and every int option :func:`count`, and every
    output (an argument whose destination is ``out``) :func:`output_dir` or :func:`output_path`."""
    for p in parsers(parser):
        for action in p._actions:
            action.type = TYPES.get(action.type, action.type)
            if action.dest == "out" and action.type is None:
                action.type = output_dir if action.metavar == "DIR" else output_path
    return parser
