"""``rnnkit score RUN TEXT``: how probable a language model finds a text.

Prints log P(TEXT) (the notes' P(sentence) = Π_t P(y^<t> | y^<1> … y^<t−1>)),
in nats and as a base-10 exponent, and the per-token perplexity.
"""
from __future__ import annotations

import argparse
import json

from rnnkit.cli._common import add_run_argument, load_model, task_of

EXAMPLES = """examples:
  rnnkit score runs/charlm "The apple and pear salad."
  rnnkit score runs/charlm "The apple and pair salad." --per-token
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("score", help="log-probability and perplexity of a text", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("text", metavar="TEXT", nargs="+", help="the text(s) to score")
    p.add_argument("--per-token", action="store_true", help="also list each token's log-probability")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    task_of(args.run, "score")
    model = load_model(args)
    for text in args.text:
        result = model.score(text)
        if args.json:
            print(json.dumps({"text": text, **({k: v for k, v in result.items() if k != "per_token" or args.per_token})}))
            continue
        print(f"{text!r}\n  log P = {result['log_prob']:.4f} nats  (P = 10^{result['log10_prob']:.3f})"
              f"  {result['tokens']} tokens  perplexity {result['perplexity']:.3f}"
              f"  ({result['bits'] / result['tokens']:.3f} bits/token)")
        if args.per_token:
            for token, lp in result["per_token"]:
                print(f"    {token!r:>12}  {lp:9.4f}")
    return 0
