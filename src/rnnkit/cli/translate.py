"""``rnnkit translate RUN TEXT...``: translate sentences with a trained translate run.

Prints the best translation of each TEXT; with ``--nbest K`` the K best hypotheses of the beam,
each with its score, log P(y | x) / |y|^α (α = ``--length-penalty``, |y| counting <eos>).
"""
from __future__ import annotations

import argparse
import json

from rnnkit.cli._common import add_run_argument, load_model, task_of

EXAMPLES = """examples:
  rnnkit translate runs/translate "I am hungry."
  rnnkit translate runs/translate "Where is the station?" --beam 10 --nbest 3
  rnnkit translate runs/translate "It is raining." --beam 1          # greedy
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("translate", help="translate sentences with a translate run", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("text", metavar="TEXT", nargs="+", help="sentence(s) in the source language")
    p.add_argument("--beam", type=int, default=None, help="beam width (1: greedy; default: the run's --beam)")
    p.add_argument("--nbest", type=int, default=None, metavar="K", help="also list the K best hypotheses and scores")
    p.add_argument("--length-penalty", type=float, default=None,
                   help="score = log P / length^this (default: the run's)")
    p.add_argument("--max-length", type=int, default=None, help="longest translation, in words (default: the run's)")
    p.add_argument("--json", action="store_true", help="print one JSON object per TEXT")
    p.set_defaults(func=run)


def run(args) -> int:
    task = task_of(args.run, "translate")
    model = load_model(args)
    for text in args.text:
        result = task.translate(model, text, args.beam, args.nbest or 1, args.length_penalty, args.max_length)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
            continue
        print(result["translation"])
        if args.nbest:
            for k, hyp in enumerate(result["nbest"], start=1):
                score = "-" if hyp["score"] is None else f"{hyp['score']:.4f}"
                print(f"  {k}\t{score}\t{hyp['translation']}")
    return 0
