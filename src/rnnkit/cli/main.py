"""The ``rnnkit`` command: parse, dispatch, and turn user errors into exit code 2.

Each subcommand lives in its own module with ``register(subparsers)`` (which
adds its parser and sets ``func``) and a ``run(args) -> int``; this file only
dispatches. ``python -m rnnkit`` is the same command.

Exit codes: 0 done; 2 an anticipated error (bad option, data or run directory,
a file that cannot be read or written, not enough memory), reported as one
line naming what is at fault; 1 an unexpected error (a bug), reported in one
line with the path of the file that holds the full traceback; 130 interrupted.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback

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
    serve,
    train,
    translate,
)
from rnnkit.cli.options import harden
from rnnkit.errors import RnnkitError
from rnnkit.train.distributed import launch_rank

SUBCOMMANDS = (train, predict, evaluate, sample, score, translate, forecast, info, plot, gradflow, inspect_run,
               experiment, export, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks in NumPy: train, apply, inspect and export models.",
        epilog="examples:\n  rnnkit train charlm --time-limit 600\n  rnnkit sample runs/charlm --prime ROMEO:\n"
               "  rnnkit train tag eng.train --val eng.testa\n  rnnkit translate runs/translate \"I am cold.\"\n"
               "  rnnkit gradflow --cell rnn,lstm,gru\n  rnnkit serve runs/\n\n"
               "'rnnkit COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return harden(parser)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    try:
        args = parse(argv)
    except SystemExit as exc:  # argparse: a bad option (2), or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args) or 0
    except RnnkitError as exc:
        return _fail(args.command, str(exc))
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rnnkit sample RUN | head`
        return 0
    except MemoryError:
        return _fail(args.command, "not enough memory for these sizes; give smaller ones (--hidden, "
                                   "--batch-size, --length, ...)")
    except OSError as exc:  # a file that cannot be read or written: named by the system's message
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args.command, f"{where}{exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a bug: one line here, the traceback in a file
        path = _save_traceback()
        print(f"rnnkit {args.command}: internal error: {type(exc).__name__}: {str(exc)[:300]}\n"
              f"This is a bug in rnnkit; the full traceback is in {path}", file=sys.stderr)
        return 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The parsed command line (argparse exits with code 2 and a message naming the bad argument)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(train.with_task(sys.argv[1:] if argv is None else list(argv)))
    listed = next((name for name in ("inputs", "data") if isinstance(getattr(args, name, None), list)), None)
    if extra and listed and not any(e.startswith("-") for e in extra):
        getattr(args, listed).extend(extra)  # argparse ends a nargs="*" positional at the first option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _fail(command: str, message: str) -> int:
    if launch_rank() == 0:  # under mpiexec every rank fails alike: rank 0 says it once
        print(f"rnnkit {command}: error: {message}", file=sys.stderr)
    return 2


def _save_traceback() -> str:
    """Write the current exception's traceback to a new file in the temporary directory; its path."""
    fd, path = tempfile.mkstemp(prefix="rnnkit-traceback-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"rnnkit {__version__}, Python {sys.version.split()[0]}\n{' '.join(sys.argv)}\n\n")
        traceback.print_exc(file=f)
    return path


def entry_point() -> None:
    sys.exit(main())
