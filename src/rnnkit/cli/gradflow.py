"""``rnnkit gradflow``: how the gradient of a loss at the last step fades (or grows) back through time.

For each cell it prints ‖∂L/∂h_k‖ by distance T−k (exact, from the hand-written backward), the
largest singular value of ∂h_T/∂h_k, the fitted decay per step and the spectral radius / largest
singular value of W_hh's blocks, and writes gradflow.csv, jacobian.csv, gradflow_summary.csv and
gradflow.png (log norm vs distance) into --out.

With --run, the trained model's top recurrent layer reads what its task reads: windows of the
corpus (charlm), generated examples (echo, copy, adding), windows of the validation sentences'
word features (tag), windows of the series (forecast, T capped at its length), data vectors with
random caption tokens (caption), the encoder over windows of the held-out sources (translate).
"""
from __future__ import annotations

import argparse

from rnnkit.diagnostics.gradflow import (
    format_table,
    fresh_flows,
    run_flows,
    write_gradflow,
)
from rnnkit.diagnostics.plotting import PLOT_HINT
from rnnkit.diagnostics.stack import CELL_CHOICES
from rnnkit.errors import RnnkitError

EXAMPLES = """examples:
  rnnkit gradflow                                          # rnn, lstm, gru: fresh, H = 64, T = 200
  rnnkit gradflow --cell rnn_linear --recurrent-scale 0.5 1.0 2.0   # vanishing turns into exploding
  rnnkit gradflow --cell lstm --init keras --out gradflow-keras    # forget-gate bias 1
  rnnkit gradflow --run runs/charlm --T 100                # a trained model's top layer
  rnnkit gradflow --run runs/tag --T 50                    # word features of validation sentences
"""


def _cells(text: str) -> list[str]:
    cells = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELL_CHOICES]
    if bad or not cells:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(CELL_CHOICES)}; given {text!r}")
    return cells


def register(subparsers) -> None:
    p = subparsers.add_parser("gradflow", help="gradient norms back through time, per cell", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", type=_cells, default=["rnn", "lstm", "gru"],
                   help=f"comma-separated cells among {', '.join(CELL_CHOICES)} (default rnn,lstm,gru)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units of a fresh layer (default 64)")
    p.add_argument("--T", dest="T", type=int, default=200,
                   help="sequence length (default 200; a copy/adding/echo run uses its task's length, "
                        "a forecast run at most its series')")
    p.add_argument("--run", metavar="RUN", help="a trained run: its model's top recurrent layer instead of fresh ones")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="with --run: which weights (default best)")
    p.add_argument("--recurrent-scale", type=float, nargs="+", default=[1.0], metavar="S",
                   help="multiply W_hh by each S (default 1.0); several compare vanishing and exploding")
    p.add_argument("--batch", type=int, default=8, help="sequences averaged over (default 8)")
    p.add_argument("--input-size", type=int, default=16, help="input features of a fresh layer, x ~ N(0, 1) (default 16)")
    p.add_argument("--init", choices=("torch", "keras"), default="torch", help="initialisation of a fresh layer")
    p.add_argument("--seed", type=int, default=0, help="random seed of weights, inputs and upstream gradients")
    p.add_argument("--out", metavar="DIR", default="gradflow", help="where the CSV and PNG files go (default gradflow/)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.input_size < 1:
        raise RnnkitError(f"--input-size: expected a positive integer, given {args.input_size!r}")
    if args.run:
        flows = run_flows(args.run, args.T, args.recurrent_scale, args.batch, args.seed, args.weights)
    else:
        flows = fresh_flows(args.cell, args.hidden, args.T, args.recurrent_scale, args.batch, args.input_size,
                            args.seed, args.init)
    print(format_table(flows))
    files, plotted = write_gradflow(flows, args.out)
    print("wrote " + ", ".join(str(f) for f in files))
    if not plotted:
        print(PLOT_HINT)
    return 0
