"""``rnnkit info RUN``: what a run is: task, configuration, size, progress and best metrics."""
from __future__ import annotations

import json
import textwrap

from rnnkit.tasks.base import open_run
from rnnkit.train.progress import summary_table


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe a run directory", description=__doc__)
    p.add_argument("run", metavar="RUN", help="a run directory written by 'rnnkit train'")
    p.add_argument("--json", action="store_true", help="print everything as one JSON object")
    p.set_defaults(func=run)


def describe(path: str) -> dict:
    run, task, config = open_run(path)
    from rnnkit.tasks import load
    files = sorted(p.name for p in run.path.iterdir() if p.is_file() and not p.name.startswith("."))
    which = run.preferred_weights()
    model = load(run, which) if which else None
    return {"run": str(run.path), "task": task, "parameters": model.num_parameters() if model else None,
            "files": files, "config": config,
            "summary": run.read_json("summary.json") if run.exists("summary.json") else None,
            "evaluations": len(run.metrics())}


def run(args) -> int:
    d = describe(args.run)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    head = {"run": d["run"], "task": d["task"], "parameters": f"{d['parameters']:,}" if d["parameters"] else "-",
            "evaluations": d["evaluations"]}
    print(summary_table(head))
    print("files:\n" + textwrap.fill(" ".join(d["files"]), width=100, initial_indent="  ", subsequent_indent="  "))
    print("configuration:\n" + "\n".join(f"  {k:<16} {v}" for k, v in d["config"].items()))
    if d["summary"]:
        print("summary:\n" + "\n".join(f"  {k:<16} {v}" for k, v in d["summary"].items() if not isinstance(v, dict)))
    else:
        print("summary: none yet (training did not finish; continue it with 'rnnkit train --resume RUN')")
    return 0
