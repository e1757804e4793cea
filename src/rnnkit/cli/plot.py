"""``rnnkit plot RUN [RUN ...]``: training curves of one or more runs, overlaid.

Loss and the validation metric vs step and vs wall-clock time, the gradient norm before clipping
with the clipped steps marked, and the learning rate. Per-step numbers come from the run's
steps.jsonl when it has one, else from metrics.jsonl (one point per evaluation). Writes
curves_train.csv, curves_val.csv and curves.png into --out (default: the run itself for one run).
"""
from __future__ import annotations

import argparse

from rnnkit.diagnostics.curves import format_curves, write_plots
from rnnkit.diagnostics.plotting import PLOT_HINT
from rnnkit.errors import RnnkitError

EXAMPLES = """examples:
  rnnkit plot runs/charlm                                  # writes runs/charlm/curves.png
  rnnkit plot runs/adding-lstm runs/adding-gru --out compare
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("plot", help="training curves of one or more runs", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories written by 'rnnkit train'")
    p.add_argument("--out", metavar="DIR", help="where the files go (default: the run directory; "
                                                "required for several runs)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.out is None and len(args.runs) > 1:
        raise RnnkitError(f"--out: give a directory for the overlay of {len(args.runs)} runs")
    files, plotted = write_plots(args.runs, args.out or args.runs[0])
    print(format_curves(args.runs))
    print("wrote " + ", ".join(str(f) for f in files))
    if not plotted:
        print(PLOT_HINT)
    return 0
