"""A random validation split of a data set of phrases against the whole-text split, on unseen sentences.

Usage (from the repository root; a few minutes per seed)::

    python benchmarks/phrase_split.py --seeds 0 1 2 [--dir /tmp/phrases]

No treebank ships with rnnkit, so this builds one the way a treebank is made, from the bundled UCI
sentiment sentences: they are pooled and shuffled (``random.Random(1)``), the first 600 become the
test file, and each of the others is split into words and bracketed by recursive random cuts
(``random.Random(2)``); every span of three or more words is a row labelled as its sentence. Then
``rnnkit train classify`` runs on the phrases with ``--val-split random`` and with the default
(``auto``: whole texts held out), and ``rnnkit evaluate`` scores each run's best weights on the test
sentences. Training uses one BLAS thread. The results are in docs/defaults.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from rnnkit.data.tables import read_labelled
from rnnkit.data.vocab import words

FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
TEST = 600


def bracketing(n: int, rng: random.Random) -> list[tuple[int, int]]:
    """The spans (i, j) of 3 or more words of a random binary bracketing of n words."""
    spans, todo = [], [(0, n)]
    while todo:
        i, j = todo.pop()
        if j - i >= 3:
            spans.append((i, j))
        if j - i > 1:
            k = rng.randint(i + 1, j - 1)
            todo += [(i, k), (k, j)]
    return spans


def make_data(folder: Path) -> tuple[Path, Path]:
    """phrases.tsv (the training phrases) and test.tsv (the held-out sentences) in ``folder``."""
    root = resources.files("rnnkit.datasets") / "sentiment"
    data = read_labelled([str(root / name) for name in FILES], None, None, None)
    rows = list(zip(data.inputs, data.labels))
    random.Random(1).shuffle(rows)
    rng, phrases = random.Random(2), []
    for text, label in rows[TEST:]:
        w = words(text)
        phrases += [(" ".join(w[i:j]), label) for i, j in bracketing(len(w), rng)]
    rng.shuffle(phrases)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("phrases.tsv", phrases), ("test.tsv", rows[:TEST])):
        (folder / name).write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in part), encoding="utf-8")
    print(f"{len(phrases):,} phrases from {len(rows) - TEST:,} sentences; {TEST} test sentences", flush=True)
    return folder / "phrases.tsv", folder / "test.tsv"


def rnnkit(*args: str) -> str:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "rnnkit", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"rnnkit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--dir", type=Path, default=Path("phrase_split"))
    args = p.parse_args(argv)
    phrases, test = make_data(args.dir)
    print(f"{'split':8s} {'seed':>4s} {'own val acc':>11s} {'test acc':>8s} {'stopped':>15s} {'seconds':>7s}")
    for seed in args.seeds:
        for split in ("random", "auto"):
            run = args.dir / f"{split}-{seed}"
            shutil.rmtree(run, ignore_errors=True)      # this script's own runs: start them afresh
            rnnkit("train", "classify", str(phrases), "--val-split", split, "--seed", str(seed), "--out", str(run),
                   "--quiet")
            summary = json.loads((run / "summary.json").read_text())
            scores = json.loads(rnnkit("evaluate", str(run), str(test), "--json"))
            print(f"{split:8s} {seed:4d} {summary['best_val_accuracy']:11.4f} {scores['accuracy']:8.4f} "
                  f"{summary['stopped']:>15s} {summary['time_s']:7.0f}", flush=True)


if __name__ == "__main__":
    main()
