"""The ``rnnkit`` command: parse, dispatch, and turn user errors into exit code 2.

Each subcommand lives in its own module with ``register(subparsers)`` (which
adds its parser and sets ``func``) and a ``run(args) -> int``; this file only
dispatches. ``python -m rnnkit`` is the same command.
"""
from __future__ import annotations

import argparse
import sys

from rnnkit import __version__
from rnnkit.cli import (
    evaluate,
    experiment,
    export,
    forecast,
    gradflow,
    info,
    inspect_run,
    plot,
    predict,
    sample,
    score,
    train,
    translate,
)
from rnnkit.errors import RnnkitError

SUBCOMMANDS = (train, predict, evaluate, sample, score, translate, forecast, info, plot, gradflow, inspect_run,
               experiment, export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks in NumPy: train, apply, inspect and export models.",
        epilog="examples:\n  rnnkit train charlm --time-limit 600\n  rnnkit sample runs/charlm --prime ROMEO:\n"
               "  rnnkit train tag eng.train --val eng.testa\n  rnnkit translate runs/translate \"I am cold.\"\n"
               "  rnnkit gradflow --cell rnn,lstm,gru\n\n'rnnkit COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    listed = next((name for name in ("inputs", "data") if isinstance(getattr(args, name, None), list)), None)
    if extra and listed and not any(e.startswith("-") for e in extra):
        getattr(args, listed).extend(extra)  # argparse ends a nargs="*" positional at the first option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
