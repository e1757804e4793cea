"""``rnnkit evaluate RUN DATA``: the task's metrics of a trained model on a data set."""
from __future__ import annotations

import argparse
import json

from rnnkit.cli._common import add_run_argument, load_model, task_of
from rnnkit.train.progress import summary_table

EXAMPLES = """examples:
  rnnkit evaluate runs/charlm held_out.txt
  rnnkit evaluate runs/classify test.tsv --json
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="metrics of a trained model on a data set", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("data", metavar="DATA", nargs="+", help="data file(s) in the format the task was trained on")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    task = task_of(args.run, "evaluate")
    result = task.evaluate(load_model(args), args.data)
    if args.json:
        print(json.dumps(result))
    else:
        fmt = getattr(task, "format_evaluation", None)
        print(fmt(result) if fmt else summary_table(result))
    return 0
