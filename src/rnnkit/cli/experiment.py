"""``rnnkit experiment lag``: train each cell at each lag with one budget and plot success vs lag.

The notes' claim about vanishing gradients, measured: on the copy task (remember S symbols
across --lag blanks) or the adding problem (sum two marked numbers --lag steps apart), with
--steps optimizer steps per run. Writes lag_results.csv, lag_success.csv and lag.png, and one
run directory per (cell, lag), under --out.
"""
from __future__ import annotations

import argparse

from rnnkit.diagnostics.lag import (
    TASK_NAMES,
    format_results,
    run_lag_experiment,
    write_results,
)
from rnnkit.diagnostics.plotting import PLOT_HINT
from rnnkit.train.config import CELLS

EXAMPLES = """examples:
  rnnkit experiment lag                                          # copy, lags 5..100, rnn lstm gru, 1000 steps each
  rnnkit experiment lag --task adding --lags 10 50 100 --steps 2000
  rnnkit experiment lag --cells rnn gru --lags 5 20 --steps 100 --out runs/lag-quick
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="experiments: 'lag' (success vs dependency length)",
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    lag = kinds.add_parser("lag", help="train each cell at each lag, plot success vs lag", description=__doc__,
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    lag.add_argument("--task", choices=TASK_NAMES, default="copy", help="copy or adding (default copy)")
    lag.add_argument("--lags", type=int, nargs="+", default=[5, 10, 20, 50, 100], help="lags (default 5 10 20 50 100)")
    lag.add_argument("--cells", nargs="+", choices=CELLS, default=["rnn", "lstm", "gru"],
                     help="cells (default rnn lstm gru)")
    lag.add_argument("--steps", type=int, default=1000, help="optimizer steps per run (default 1000, ~2.5 min for copy)")
    lag.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    lag.add_argument("--batch-size", type=int, default=32, help="sequences per batch (default 32)")
    lag.add_argument("--seed", type=int, default=0, help="random seed of every run")
    lag.add_argument("--out", metavar="DIR", default="runs/lag",
                     help="experiment directory (default runs/lag; never overwritten: runs/lag-2, ...)")
    lag.set_defaults(func=run)


def run(args) -> int:
    results, base = run_lag_experiment(args.task, args.lags, args.cells, args.steps, args.hidden, args.batch_size,
                                       args.seed, args.out, progress=lambda line: print(line, flush=True))
    print(format_results(results))
    files, plotted = write_results(results, base)
    print("wrote " + ", ".join(str(f) for f in files))
    if not plotted:
        print(PLOT_HINT)
    return 0
