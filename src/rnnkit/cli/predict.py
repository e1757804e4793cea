"""``rnnkit predict RUN INPUT...``: apply a trained model to new inputs."""
from __future__ import annotations

import argparse
import json

from rnnkit.cli._common import add_run_argument, load_model, task_of

EXAMPLES = """examples:
  rnnkit predict runs/classify "What a wonderful film." "Utterly boring."
  rnnkit predict runs/classify --file new_reviews.txt --json
  rnnkit predict runs/tag "EU rejects German call to boycott British lamb ."
  rnnkit predict runs/translate "Where is the station?"
  rnnkit predict runs/caption vectors.npz                  # one caption per row
  rnnkit predict runs/echo "3 1 4 1 5"
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="apply a trained model to new inputs", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("inputs", metavar="INPUT", nargs="*", help="inputs, as the task reads them (e.g. sentences)")
    p.add_argument("--file", help="read inputs from this file, one per line")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.set_defaults(func=run)


def run(args) -> int:
    task = task_of(args.run, "predict")
    model = load_model(args)
    inputs = list(args.inputs)
    if args.file:
        from rnnkit.data.text import read_lines
        inputs += [line for line in read_lines(args.file) if line.strip()]
    if not inputs:
        from rnnkit.errors import RnnkitError
        raise RnnkitError("give at least one INPUT or --file")
    for result in task.predict(model, inputs):
        print(json.dumps(result, ensure_ascii=False) if args.json else task.format_prediction(result))
    return 0
