"""``rnnkit inspect RUN``: the gates and states of every layer at every step of one input.

Heat maps (units × steps) of the LSTM gates i, f, g, o and cell state c, the GRU gates r, z, n,
and the hidden units h, with the fraction of saturated units (sigmoid < 0.01 or > 0.99, tanh
|a| > 0.99): inspect_l0.png, ... and activations.csv, saturation.csv, inspect_summary.csv in --out.

What is read, per task:
  charlm, classify   --text or --file: the text, one step per token
  tag                --text or --file: the sentence split on whitespace; the word-level stack reads
                     [word embedding ; casing ; character features] of each word
  translate          --text or --file: the encoder over the source tokens; with --part decoder,
                     the decoder over the greedy translation (teacher-forced on its own output,
                     from the encoder's final state), steps labelled with the generated tokens
  caption            --row K of the run's data (default the bundled digits) or of --file x.npz:
                     the stack over the greedy caption, [embed(w_{t-1}) ; v], steps labelled with
                     the generated tokens
  forecast           no input: the last --window rows of the run's series, labelled with the time
                     stamps; --file series.csv: the last window of that file; --text "112, 118 ...":
                     those values (a single-column model only)
  echo, copy, adding no input: one generated example (--seed)
"""
from __future__ import annotations

import argparse

from rnnkit.diagnostics.gates import format_summary, inspect_run
from rnnkit.diagnostics.inputs import PARTS
from rnnkit.diagnostics.plotting import PLOT_HINT

EXAMPLES = """examples:
  rnnkit inspect runs/charlm --text "ROMEO: What light through yonder window breaks?"
  rnnkit inspect runs/classify --file review.txt --out inspect-review
  rnnkit inspect runs/copy --seed 3                      # one generated example
  rnnkit inspect runs/tag --text "EU rejects German call to boycott British lamb ."
  rnnkit inspect runs/translate --text "I am hungry." --part decoder
  rnnkit inspect runs/caption --row 7                    # row 7 of the run's vectors
  rnnkit inspect runs/forecast                           # the series' last window
  rnnkit inspect runs/forecast --text "112 118 132 129 121 135 148 148"
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="heat maps of gates and states on one input", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run directory written by 'rnnkit train'")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the input text (forecast: numbers separated by commas or spaces)")
    src.add_argument("--file", help="read the input from this file (a text file; forecast: a CSV file; "
                                    "caption: an .npz with an array 'vectors')")
    p.add_argument("--row", type=int, default=0, help="caption: the row of the vectors (default 0)")
    p.add_argument("--part", choices=PARTS, default="encoder",
                   help="translate: look into the encoder (default) or the decoder")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="which weights (default best)")
    p.add_argument("--max-tokens", type=int, default=200, help="look at the first N steps only (default 200)")
    p.add_argument("--seed", type=int, default=0, help="the generated example of a toy task")
    p.add_argument("--out", metavar="DIR", default="inspect", help="where the CSV and PNG files go (default inspect/)")
    p.set_defaults(func=run)


def run(args) -> int:
    got = inspect_run(args.run, args.text, args.out, args.seed, args.weights, args.max_tokens, "--text",
                      args.file, args.row, args.part)
    print(got.what)
    print(format_summary(got.results, got.tokens))
    print("wrote " + ", ".join(str(f) for f in got.files))
    if not got.plotted:
        print(PLOT_HINT)
    return 0
