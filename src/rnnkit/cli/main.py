"""The ``rnnkit`` command: parse, dispatch, and turn user errors into exit code 2.

Each subcommand lives in its own module with ``register(subparsers)`` (which
adds its parser and sets ``func``) and a ``run(args) -> int``; this file only
dispatches. ``python -m rnnkit`` is the same command.
"""
from __future__ import annotations

import argparse
import sys

from rnnkit import __version__
from rnnkit.cli import evaluate, info, predict, sample, score, train
from rnnkit.errors import RnnkitError

SUBCOMMANDS = (train, sample, score, predict, evaluate, info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks in NumPy: train, sample, score, predict.",
        epilog="examples:\n  rnnkit train charlm --time-limit 600\n  rnnkit sample runs/charlm --prime ROMEO:\n"
               "  rnnkit train classify reviews.tsv\n\n'rnnkit COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except RnnkitError as exc:
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rnnkit sample RUN | head`
        return 0


def entry_point() -> None:
    sys.exit(main())
