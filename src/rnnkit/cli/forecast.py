"""``rnnkit forecast RUN --steps N``: continue a time series with a trained forecaster.

Prints one line per step: the time stamp (continuing the series' own: months, days, ...) and the
forecast value. Without ``--data`` the series the model was trained on is continued; past the
model's --horizon the forecasts are fed back as inputs.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys

from rnnkit.cli._common import add_run_argument, load_model, task_of

EXAMPLES = """examples:
  rnnkit forecast runs/forecast --steps 12
  rnnkit forecast runs/forecast --steps 24 --csv > next_two_years.csv
  rnnkit forecast runs/forecast --steps 6 --data newer.csv --json
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("forecast", help="continue a time series with a trained forecaster",
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("--steps", type=int, default=12, help="how many steps to forecast (default 12)")
    p.add_argument("--data", metavar="CSV", help="continue this file's series instead of the training series")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object per step")
    out.add_argument("--csv", action="store_true", help="print CSV with a header (time, the target's name)")
    p.set_defaults(func=run)


def run(args) -> int:
    task = task_of(args.run, "forecast")
    model = load_model(args)
    results = task.iter_forecasts(model, args.steps, args.data)  # streamed: an overflow keeps the steps before it
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["time", model.spec["columns"][0]])
        for r in results:
            writer.writerow([r["time"], f"{r['value']:.6g}"])
            sys.stdout.flush()
        return 0
    for r in results:
        print(json.dumps(r) if args.json else task.format_prediction(r), flush=True)
    return 0
