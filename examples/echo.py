"""The notes' Keras echo example, with rnnkit: five random numbers in, the second one out.

Lecture notes 002, "Example-01": each example is a sequence of ``length``
random integers in [0, n_features), one-hot encoded; the target is the
integer at position ``index``. Keras solves it with ``LSTM(25)`` followed by
``Dense(n_features, activation="softmax")`` trained with Adam on
categorical cross-entropy. rnnkit's ``echo`` task is the same model,
many-to-one: the LSTM's final hidden state h_T feeds the linear layer.

    h_T = LSTM(x_1 … x_5)            (B, 25)
    ŷ   = softmax(h_T W_yᵀ + b_y)     (B, n_features)

This script is ``rnnkit train echo`` (see :mod:`rnnkit.tasks.toy`) followed by
a look at a few fresh sequences, as one Python call each.

Run:  python examples/echo.py            (a few seconds; 100% accuracy)
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

import rnnkit as rk
from rnnkit.errors import RnnkitError
from rnnkit.tasks import toy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--length", type=int, default=5, help="numbers per sequence (default 5)")
    p.add_argument("--index", type=int, default=1, help="position to echo, 0-based (default 1: the second)")
    p.add_argument("--features", type=int, default=10, help="numbers are in [0, features) (default 10)")
    p.add_argument("--hidden", type=int, default=25, help="LSTM units, as in the notes (default 25)")
    p.add_argument("--steps", type=int, default=1000, help="training steps of 32 fresh examples (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="keep the run directory here (default: a temporary one, removed)")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        config = toy.echo.Config(length=args.length, index=args.index, features=args.features, hidden=args.hidden,
                                 max_steps=args.steps, seed=args.seed, out=args.out or f"{tmp}/echo", quiet=True)
        try:
            summary = toy.echo.train(config)
        except RnnkitError as exc:  # names the flag: --index, --length, ...
            p.error(str(exc))
        model = rk.load(summary["run"])
    print(f"trained {summary['steps']} steps in {summary['time_s']:.1f} s; "
          f"best validation accuracy {summary['best_val_accuracy']:.0%} (chance {summary['chance_val_accuracy']:.0%})")

    rng = np.random.default_rng(args.seed + 1)
    sequences = [" ".join(map(str, rng.integers(0, args.features, args.length))) for _ in range(5)]
    print(f"\n{'sequence':<22}{'expected':>9}{'predicted':>10}")
    for r in toy.echo.predict(model, sequences):
        print(f"{str(r['input']):<22}{r['expected']:>9}{r['predicted']:>10}")
    accuracy = toy.echo.evaluate_fresh(model, size=1000, seed=args.seed + 2)["accuracy"]
    print(f"\naccuracy on 1000 new sequences: {accuracy:.0%}")
    return accuracy


if __name__ == "__main__":
    main()
