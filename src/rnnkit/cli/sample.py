"""``rnnkit sample RUN``: generate text from a language model, printed as it is drawn."""
from __future__ import annotations

import argparse
import sys

from rnnkit.cli._common import add_run_argument, load_model, task_of

EXAMPLES = """examples:
  rnnkit sample runs/charlm --prime "ROMEO:" --length 500
  rnnkit sample runs/charlm --temperature 0.7 --top-p 0.9 --seed 1
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="generate text from a language model", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1: safer, > 1: wilder (default 1.0)")
    p.add_argument("--top-k", type=int, default=None, help="draw only among the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="draw only from the smallest set with mass >= p")
    p.add_argument("--prime", default="", help="text to start from (printed, then continued)")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed: same text)")
    p.set_defaults(func=run)


def run(args) -> int:
    task_of(args.run, "sample")
    model = load_model(args)
    out = sys.stdout
    tokens = model.sample(args.length, args.temperature, args.top_k, args.top_p, args.prime, args.seed)  # checks
    for piece in model.stream_text(tokens, args.prime):
        out.write(piece)
        out.flush()
    out.write("\n")
    return 0
