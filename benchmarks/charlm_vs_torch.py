"""`rnnkit train charlm` against a plain PyTorch script of the same model, side by side, same wall-clock budget.

Usage (from the repository root; PyTorch in the interpreter given by ``--torch-python``)::

    python benchmarks/charlm_vs_torch.py TEXT --seconds 300 --seeds 0 1 2 --torch-python venv-torch/bin/python
    python benchmarks/charlm_vs_torch.py --from-conll eng.train news.txt      # a corpus from a CoNLL file

For each seed the two trainings start together, one core each (one BLAS thread;
``torch.set_num_threads(1)``), and stop at the budget. rnnkit runs with its defaults
(``rnnkit train charlm TEXT --time-limit S --seed K``: 2-layer LSTM 128, embedding 64, batch 32, bptt
64, Adam 3e-3, clip 5, the last 10% of the text validating in 10 streams with the state carried). The
PyTorch script is what a user would write for the same model: ``nn.Embedding → nn.LSTM → nn.Linear``,
the training text cut once into 32 streams (the word-language-model example's ``batchify``), chunks
of 64 with the state detached between them, cross-entropy, ``clip_grad_norm_(5)``, Adam 3e-3, the
same validation (10 streams, state carried) after every epoch and at the end. Reported: the best
validation loss (nats/char) of each, steps and characters per second. The results are in
docs/defaults.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = {"embed": 64, "hidden": 128, "layers": 2, "batch": 32, "bptt": 64, "lr": 3e-3, "clip": 5.0,
         "val_fraction": 0.1, "eval_streams": 10}
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def conll_text(conll: Path, out: Path) -> None:
    """The sentences of a CoNLL file (its first column, one sentence per line, -DOCSTART- dropped)."""
    lines, words = [], []
    for line in conll.read_text(encoding="utf-8").splitlines() + [""]:
        token = line.split(" ")[0] if line.strip() else ""
        if token and token != "-DOCSTART-":
            words.append(token)
        elif words:
            lines.append(" ".join(words))
            words = []
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{out}: {len(lines):,} sentences, {out.stat().st_size:,} bytes")


def torch_side(text_path: str, seconds: float, seed: int) -> dict:
    """Train the PyTorch model for ``seconds``; the best validation loss and the throughput."""
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    m = MODEL
    text = Path(text_path).read_text(encoding="utf-8")
    index = {c: i for i, c in enumerate(sorted(set(text)))}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n_val = int(len(ids) * m["val_fraction"])
    train, val = ids[:-n_val], ids[-n_val:]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(len(index), m["embed"])
            self.rnn = torch.nn.LSTM(m["embed"], m["hidden"], m["layers"], batch_first=True)
            self.head = torch.nn.Linear(m["hidden"], len(index))

        def forward(self, x, state=None):
            out, state = self.rnn(self.embedding(x), state)
            return self.head(out), state

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=m["lr"])
    streams = (len(train) - 1) // m["batch"]
    x_all = train[:m["batch"] * streams].view(m["batch"], streams)
    y_all = train[1:m["batch"] * streams + 1].view(m["batch"], streams)

    def evaluate() -> float:
        net.eval()
        n = (len(val) - 1) // m["eval_streams"]
        xs, ys = val[:m["eval_streams"] * n].view(m["eval_streams"], n), val[1:m["eval_streams"] * n + 1].view(
            m["eval_streams"], n)
        total, state = 0.0, None
        with torch.no_grad():
            for i in range(0, n, m["bptt"]):
                logits, state = net(xs[:, i:i + m["bptt"]], state)
                total += torch.nn.functional.cross_entropy(logits.flatten(0, 1), ys[:, i:i + m["bptt"]].flatten(),
                                                           reduction="sum").item()
        net.train()
        return total / (m["eval_streams"] * n)

    start, steps, best, chars = time.perf_counter(), 0, math.inf, 0
    while time.perf_counter() - start < seconds:
        state = None
        for i in range(0, streams - m["bptt"] + 1, m["bptt"]):
            if time.perf_counter() - start >= seconds:
                break
            x, y = x_all[:, i:i + m["bptt"]], y_all[:, i:i + m["bptt"]]
            state = None if state is None else tuple(s.detach() for s in state)
            logits, state = net(x, state)
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), m["clip"])
            opt.step()
            steps, chars = steps + 1, chars + x.numel()
        best = min(best, evaluate())
    elapsed = time.perf_counter() - start
    return {"best_val_loss": best, "steps": steps, "chars_per_s": chars / elapsed, "time_s": elapsed}


def side_by_side(text: Path, seconds: float, seed: int, torch_python: str, folder: Path) -> tuple[dict, dict]:
    env = {**os.environ, **ONE_THREAD}
    run = folder / f"rnnkit-{seed}"
    ours = subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "charlm", str(text), "--time-limit",
                             str(seconds), "--seed", str(seed), "--out", str(run), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    theirs = subprocess.run([torch_python, __file__, "--torch-side", str(text), "--seconds", str(seconds),
                             "--seeds", str(seed)], env=env, capture_output=True, text=True)
    if ours.wait() or theirs.returncode:
        raise SystemExit(f"a training failed:\n{ours.stderr.read()[-2000:]}\n{theirs.stderr[-2000:]}")
    summary = json.loads((run / "summary.json").read_text())
    return summary, json.loads(theirs.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("text", nargs="?", type=Path)
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--torch-python", default=sys.executable)
    p.add_argument("--from-conll", nargs=2, type=Path, metavar=("CONLL", "OUT"))
    p.add_argument("--torch-side", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.from_conll:
        conll_text(*args.from_conll)
        return
    if args.torch_side:
        print(json.dumps(torch_side(str(args.text), args.seconds, args.seeds[0])))
        return
    print(f"{'seed':>4s} {'rnnkit val':>10s} {'steps':>6s} {'chars/s':>8s} | {'torch val':>9s} {'steps':>6s} "
          f"{'chars/s':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            ours, theirs = side_by_side(args.text, args.seconds, seed, args.torch_python, Path(tmp))
            print(f"{seed:4d} {ours['best_val_loss']:10.4f} {ours['steps']:6d} {ours['chars_per_s']:8.0f} | "
                  f"{theirs['best_val_loss']:9.4f} {theirs['steps']:6d} {theirs['chars_per_s']:8.0f}", flush=True)


if __name__ == "__main__":
    main()
