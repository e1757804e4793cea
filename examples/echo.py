"""The notes' Keras echo example, with rnnkit: five random numbers in, the second one out.

Lecture notes 002, "Example-01": each example is a sequence of ``length``
random integers in [0, n_features), one-hot encoded; the target is the
integer at position ``index``. Keras solves it with ``LSTM(25)`` followed by
``Dense(n_features, activation="softmax")`` trained with Adam on
categorical cross-entropy. This is the same model built from rnnkit's parts,
many-to-one: the LSTM's final hidden state h_T feeds the linear layer.

    h_T = LSTM(x_1 … x_5)            (B, 25)
    ŷ   = softmax(h_T W_yᵀ + b_y)     (B, n_features)

Run:  python examples/echo.py            (about ten seconds; 100% accuracy)
"""
from __future__ import annotations

import argparse

import numpy as np

import rnnkit as rk
from rnnkit.functional.losses import softmax_cross_entropy
from rnnkit.optim import Adam


def generate_examples(rng, batch, length, n_features, index):
    """One-hot sequences (batch, length, n_features) and the integer at ``index`` (batch,)."""
    seq = rng.integers(0, n_features, size=(batch, length))
    return np.eye(n_features, dtype=np.float32)[seq], seq[:, index]


class Echo(rk.Module):
    """LSTM(hidden) -> Linear(n_features) on the final hidden state."""

    def __init__(self, n_features, hidden, seed):
        super().__init__()
        self.lstm = rk.LSTM(n_features, hidden, seed=seed)
        self.head = rk.Linear(hidden, n_features, seed=seed)

    def forward(self, x):
        self._out, (h_n, _) = self.lstm.forward(x)
        return self.head.forward(h_n[-1])

    def backward(self, dlogits):
        dh_last = self.head.backward(dlogits)
        self.lstm.backward(np.zeros_like(self._out), dstate=(dh_last[None], np.zeros_like(dh_last[None])))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--length", type=int, default=5, help="numbers per sequence (default 5)")
    p.add_argument("--index", type=int, default=1, help="position to echo, 0-based (default 1: the second)")
    p.add_argument("--features", type=int, default=10, help="numbers are in [0, features) (default 10)")
    p.add_argument("--hidden", type=int, default=25, help="LSTM units, as in the notes (default 25)")
    p.add_argument("--steps", type=int, default=1500, help="training steps of 32 fresh examples")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not 0 <= args.index < args.length:
        p.error(f"--index must be in 0..{args.length - 1}, given {args.index}")

    rng = np.random.default_rng(args.seed)
    model = Echo(args.features, args.hidden, args.seed)
    opt = Adam(lr=1e-2)
    for step in range(1, args.steps + 1):
        x, y = generate_examples(rng, 32, args.length, args.features, args.index)
        model.zero_grad()
        loss, dlogits = softmax_cross_entropy(model.forward(x), y)
        model.backward(dlogits)
        opt.step(model.parameters(), model.gradients())
        if step % 250 == 0:
            print(f"step {step:5d}  loss {loss:.4f}")

    x, y = generate_examples(rng, 100, args.length, args.features, args.index)
    predicted = model.forward(x).argmax(axis=-1)
    accuracy = float((predicted == y).mean())
    print(f"\n{'sequence':<22}{'expected':>9}{'predicted':>10}")
    for seq, want, got in list(zip(x.argmax(-1), y, predicted))[:5]:
        print(f"{str(seq.tolist()):<22}{want:>9}{got:>10}")
    print(f"\naccuracy on 100 new sequences: {accuracy:.0%}")
    return accuracy


if __name__ == "__main__":
    main()
