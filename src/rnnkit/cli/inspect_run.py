"""``rnnkit inspect RUN --text "..."``: the gates and states of every layer at every step of one input.

Heat maps (units × steps) of the LSTM gates i, f, g, o and cell state c, the GRU gates r, z, n,
and the hidden units h, with the fraction of saturated units (sigmoid < 0.01 or > 0.99, tanh
|a| > 0.99): inspect_l0.png, ... and activations.csv, saturation.csv, inspect_summary.csv in --out.
For the generated tasks (echo, copy, adding) leave out --text: one example is generated (--seed).
"""
from __future__ import annotations

import argparse

from rnnkit.diagnostics.gates import format_summary, inspect_run
from rnnkit.diagnostics.plotting import PLOT_HINT
from rnnkit.errors import RnnkitError

EXAMPLES = """examples:
  rnnkit inspect runs/charlm --text "ROMEO: What light through yonder window breaks?"
  rnnkit inspect runs/classify --file review.txt --out inspect-review
  rnnkit inspect runs/copy --seed 3                      # one generated example
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="heat maps of gates and states on one input", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run directory written by 'rnnkit train'")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="the input text")
    src.add_argument("--file", help="read the input text from this file")
    p.add_argument("--weights", choices=("best", "last"), default="best", help="which weights (default best)")
    p.add_argument("--max-tokens", type=int, default=200, help="look at the first N tokens only (default 200)")
    p.add_argument("--seed", type=int, default=0, help="the generated example of a toy task")
    p.add_argument("--out", metavar="DIR", default="inspect", help="where the CSV and PNG files go (default inspect/)")
    p.set_defaults(func=run)


def run(args) -> int:
    text, source = args.text, "--text"
    if args.file:
        from rnnkit.data.text import read_text
        text, source = read_text(args.file), args.file
    if text is not None and not text:
        raise RnnkitError(f"{source}: the text is empty")
    results, tokens, files, plotted = inspect_run(args.run, text, args.out, args.seed, args.weights,
                                                  args.max_tokens, source)
    print(format_summary(results, tokens))
    print("wrote " + ", ".join(str(f) for f in files))
    if not plotted:
        print(PLOT_HINT)
    return 0
