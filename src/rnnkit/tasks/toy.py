"""toy: the notes' toy problems, generated on the fly: echo, copy and the adding problem.

Legend: N sequences, T time steps, L the length of the echo sequence, S copy symbols, A alphabet.

echo (lecture notes 002, Example-01, the Keras echo example), many-to-one, softmax cross-entropy:
    x_1 … x_L  one-hot integers in [0, --features)          target  x_{--index}  (0-based: 1 = the second)
    ŷ = softmax(h_L W_yᵀ + b_y)                               metric  val_accuracy (chance 1/features)

copy (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016), many-to-many (aligned):
    input   a_1 … a_S  _ × lag  :  _ × S                      a_k in 1..A, _ blank, : the delimiter
    output  the S symbols at the last S steps                 T = 2S + lag + 1
    The loss is cross-entropy on the S recall steps only (a mask). Arjovsky et al. score every step,
    blanks included; then a model that outputs blanks and merely guesses the symbols already scores
    S·log A / T, a small number at a long lag, so the loss hides whether it copies, and the gradient
    of the recall steps is diluted T/S times. Masked, chance is log A nats and 1/A accuracy at any lag.
    Metric val_accuracy over the recall steps (chance 1/A = 0.125); also val_sequence_accuracy.

adding (Hochreiter & Schmidhuber 1997, in the form of Le, Jaitly & Hinton 2015), many-to-one, mse:
    x_t = (u_t, m_t), u_t ~ U[0, 1], T = --lag               m_t = 1 at exactly two steps: one drawn
    target  Σ_t m_t u_t  (the sum of the two marked values)    uniformly from the first half [0, T//2),
    metric  val_mse                                            one from the second half [T//2, T)
    Always predicting 1.0 (the mean) scores Var(u + u') = 2/12 ≈ 0.167: a model that does not carry
    the first marked value across ~T/2 steps stays there. The summary records it (baseline_val_mse).

Why the lag matters (notes: vanishing and exploding gradients): the gradient that reaches x_k from a
loss at step t is a product of t − k Jacobians ∂s_j/∂s_{j−1}; a vanilla RNN's shrinks geometrically,
while the LSTM's cell state c_t = f_t * c_{t−1} + i_t * c̃_t passes it along unchanged where f_t ≈ 1.

Commands and what they gave (2-core machine shared with other jobs, float32, seed 0,
OPENBLAS_NUM_THREADS=1; the best validation value of the summary and its training time):

    rnnkit train echo                                 val_accuracy 1.000 (from step 300 of 1000)    1 s
    rnnkit train adding --lag 100 --cell lstm         val_mse 0.0003 (< 0.01 from step 1750 of 4000) 41 s
    rnnkit train adding --lag 100 --cell gru          val_mse 0.0002 (< 0.01 from step 500)          41 s
    rnnkit train adding --lag 100 --cell rnn          val_mse 0.166 = baseline 0.166 (4000 steps)    12 s
    rnnkit train adding --lag 100 --cell rnn --max-steps 20000      val_mse 0.166 (the LSTM's time)  44 s
    rnnkit train copy --cell lstm                     val_accuracy 0.986 (lag 10, 3000 steps)         7 s
    rnnkit train copy --cell rnn                      val_accuracy 0.975                              3 s
    rnnkit train copy --lag 50 --cell gru             val_accuracy 0.886                             14 s
    rnnkit train copy --lag 50 --cell lstm            val_accuracy 0.128 (chance 0.125)              16 s
    rnnkit train copy --lag 50 --cell rnn             val_accuracy 0.129 (chance)                     7 s

The adding problem shows the notes' point: the vanilla RNN never leaves the baseline, with five times
the steps too, while the LSTM sits on it for a while and then drops (seeds 0-3: below 0.01 after
1750, 1500, 2000 and 2750 steps; hence the default budget of 4000). The copy task is harder on the
LSTM than on the GRU: at lag 25 and 50 the LSTM stays at chance within 3000 steps, like the vanilla
RNN, while the GRU learns lag 50. With PyTorch's init (forget-gate bias ≈ 0, so c_t halves every
step) the LSTM stays at chance even at lag 10; copy therefore defaults to ``--init keras``
(forget-gate bias 1, Gers et al. 2000; orthogonal recurrent weights, which help the vanilla RNN too:
0.975 at lag 10 against 0.69 with PyTorch's init) and ``--lr 0.01``.

Python::

    import rnnkit
    from rnnkit.tasks import toy
    summary = toy.echo.train(toy.echo.Config(out="runs/echo"))
    model = rnnkit.load(summary["run"])                        # ManyToOne, in eval mode
    print(toy.echo.predict(model, ["3 1 4 1 5"]))              # [{'input': [3, 1, 4, 1, 5], 'predicted': 1, ...}]
    print(toy.echo.evaluate_fresh(model, size=1000, seed=7))   # {'loss': ..., 'accuracy': 1.0}
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.functional.losses import mse, softmax, softmax_cross_entropy
from rnnkit.tasks.base import make_recurrent
from rnnkit.tasks.generated import Examples, GeneratedTask, check_at_least, one_hot, parse_ints
from rnnkit.tasks.models import ManyToMany, ManyToOne
from rnnkit.train.config import TrainConfig

# -- the generators ------------------------------------------------------------------------------


def echo_examples(rng, n: int, length: int = 5, features: int = 10, index: int = 1, dtype="float32") -> Examples:
    """x (n, length, features) one-hot integers in [0, features); y (n,) the integer at ``index``."""
    seq = rng.integers(0, features, size=(n, length))                # (N, L)
    return Examples(one_hot(seq, features, dtype), seq[:, index])


def copy_inputs(data: np.ndarray, alphabet: int, lag: int, dtype="float32") -> np.ndarray:
    """Symbols (N, S) in 1..A -> one-hot inputs (N, T, A + 2), T = 2S + lag + 1, of the codes
    0 blank, 1..A symbols, A + 1 delimiter: the S symbols, lag blanks, the delimiter, S blanks."""
    n, S = data.shape
    codes = np.zeros((n, 2 * S + lag + 1), dtype=np.int64)
    codes[:, :S] = data
    codes[:, S + lag] = alphabet + 1                                 # the delimiter: "now recall"
    return one_hot(codes, alphabet + 2, dtype)


def copy_examples(rng, n: int, symbols: int = 10, alphabet: int = 8, lag: int = 10, dtype="float32") -> Examples:
    """x (n, T, A + 2) as :func:`copy_inputs` makes it; y (n, T) the class (symbol − 1) to recall
    at the last S steps, 0 elsewhere; mask (n, T) True at those S steps."""
    S, T = symbols, 2 * symbols + lag + 1
    data = rng.integers(1, alphabet + 1, size=(n, S))               # (N, S) symbols in 1..A
    y = np.zeros((n, T), dtype=np.int64)
    y[:, T - S:] = data - 1
    mask = np.zeros((n, T), dtype=bool)
    mask[:, T - S:] = True
    return Examples(copy_inputs(data, alphabet, lag, dtype), y, mask)


def adding_examples(rng, n: int, length: int = 100, dtype="float32") -> Examples:
    """x (n, length, 2): values u_t ~ U[0, 1] and markers m_t (one in each half); y (n, 1) the marked sum."""
    values = rng.uniform(0.0, 1.0, size=(n, length))                 # (N, T)
    half, rows = length // 2, np.arange(n)
    first = rng.integers(0, half, size=n)                            # (N,) in the first half
    second = rng.integers(half, length, size=n)                      # (N,) in the second half
    markers = np.zeros((n, length))
    markers[rows, first] = markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return Examples(np.stack([values, markers], axis=-1).astype(dtype), y[:, None].astype(dtype))


# -- the configurations ------------------------------------------------------------------------------


@dataclass
class EchoConfig(TrainConfig):
    """echo's options: the notes' example is five numbers in 0..9 and the second one out, LSTM(25)."""

    length: int = 5
    index: int = 1
    features: int = 10
    hidden: int = 25
    lr: float = 1e-2

    def check(self) -> "EchoConfig":
        super().check()
        check_at_least(self, "length", 1, "numbers per sequence")
        check_at_least(self, "features", 2, "numbers are drawn from 0..features-1")
        if not isinstance(self.index, int) or isinstance(self.index, bool) or not 0 <= self.index < self.length:
            raise RnnkitError(f"--index: expected a position in 0..{self.length - 1} (0-based, within "
                              f"--length {self.length}), given {self.index!r}")
        return self


@dataclass
class CopyConfig(TrainConfig):
    """copy's options: S symbols of an alphabet of A, then ``lag`` blanks and the delimiter."""

    symbols: int = 10
    alphabet: int = 8
    lag: int = 10
    hidden: int = 64
    lr: float = 1e-2
    init: str = "keras"  # forget-gate bias 1: with torch's init the LSTM stays at chance here (see above)

    def check(self) -> "CopyConfig":
        super().check()
        check_at_least(self, "symbols", 1, "symbols to copy")
        check_at_least(self, "alphabet", 2, "the symbols are 1..alphabet")
        check_at_least(self, "lag", 1, "blank steps between the symbols and the delimiter")
        return self


@dataclass
class AddingConfig(TrainConfig):
    """adding's options: sequences of ``lag`` steps."""

    lag: int = 100
    hidden: int = 64
    lr: float = 5e-3

    def check(self) -> "AddingConfig":
        super().check()
        check_at_least(self, "lag", 2, "the sequence length; one marker in each half")
        return self


# -- the tasks ------------------------------------------------------------------------------------------


def _classifier_scores(logits, y, mask=None) -> dict[str, float]:
    loss, _ = softmax_cross_entropy(logits, y, mask)
    right = logits.argmax(axis=-1) == y
    return {"loss": float(loss), "accuracy": float(right.mean() if mask is None else right[mask].mean())}


class Echo(GeneratedTask):
    """echo: the notes' Keras example, L random numbers in, the one at --index out (many-to-one).

    Each example is --length (default 5) integers in 0..--features-1 (default 10), one-hot; the target is
    the integer at --index (default 1, the second). An LSTM(25) reads the sequence and a linear layer on
    its last hidden state gives the softmax over the numbers, as in the notes' Keras model.

    examples:
      rnnkit train echo                                  # 100% validation accuracy
      rnnkit train echo --index 3 --length 8 --cell gru
      rnnkit predict runs/echo "3 1 4 1 5"               # -> 1
    """

    NAME, VERBS, Config = "echo", ("predict", "info"), EchoConfig
    metric, mode, default_epochs = "val_accuracy", "max", 10
    OPTIONS = {"length": (dict(type=int), "numbers per sequence"),
               "index": (dict(type=int), "the position to echo, 0-based (1: the second)"),
               "features": (dict(type=int), "the numbers are 0..features-1, one-hot")}

    def examples(self, rng, n, config) -> Examples:
        return echo_examples(rng, n, config.length, config.features, config.index, config.dtype)

    def build_model(self, config) -> ManyToOne:
        rnn = make_recurrent(config, config.features, seed=config.seed)
        return ManyToOne(rnn, config.features, dropout=config.dropout, seed=config.seed + 10)

    def loss(self, logits, batch):
        return softmax_cross_entropy(logits, batch.y)

    def scores(self, logits, batch) -> dict[str, float]:
        return _classifier_scores(logits, batch.y)

    def baseline(self, config, val):
        return "chance_val_accuracy", 1.0 / config.features, "guessing"

    def predict(self, model, inputs: list[str]) -> list[dict]:
        """Each input is --length space-separated integers, e.g. ``"3 1 4 1 5"``."""
        c = model.config
        seqs = np.array([parse_ints(text, c.length, 0, c.features - 1) for text in inputs])  # (N, L)
        probs = softmax(model.forward(one_hot(seqs, c.features, c.dtype)).astype(np.float64))  # (N, features)
        return [{"input": s.tolist(), "predicted": int(p.argmax()), "probability": float(p.max()),
                 "expected": int(s[c.index])} for s, p in zip(seqs, probs)]

    def format_prediction(self, result: dict) -> str:
        return (f"{' '.join(map(str, result['input']))} -> {result['predicted']}"
                f"  (p = {result['probability']:.3f}; expected {result['expected']})")


class Copy(GeneratedTask):
    """copy: remember S symbols across --lag blank steps, repeat them after the delimiter (many-to-many).

    Input: --symbols (default 10) symbols from 1..--alphabet (default 8), --lag blanks, a delimiter, S
    blanks; output: the S symbols at the last S steps. The loss and val_accuracy look at those S recall
    steps only (chance: 1/alphabet). At lag 10 LSTM, GRU and vanilla RNN all learn it; at lag 50 only
    the GRU does within 3000 steps (see rnnkit.tasks.toy for the numbers).

    examples:
      rnnkit train copy --cell lstm                      # lag 10: 0.99 accuracy
      rnnkit train copy --lag 50 --cell gru              # 0.89; --cell lstm or rnn: chance (0.125)
      rnnkit predict runs/copy "1 2 3 4 5 6 7 8 1 2"
    """

    NAME, VERBS, Config = "copy", ("predict", "info"), CopyConfig
    metric, mode, default_epochs = "val_accuracy", "max", 30
    OPTIONS = {"symbols": (dict(type=int), "symbols to remember and repeat"),
               "alphabet": (dict(type=int), "the symbols are 1..alphabet"),
               "lag": (dict(type=int), "blank steps between the last symbol and the delimiter")}

    def examples(self, rng, n, config) -> Examples:
        return copy_examples(rng, n, config.symbols, config.alphabet, config.lag, config.dtype)

    def build_model(self, config) -> ManyToMany:
        rnn = make_recurrent(config, config.alphabet + 2, seed=config.seed)
        return ManyToMany(rnn, config.alphabet, dropout=config.dropout, seed=config.seed + 10)

    def loss(self, logits, batch):
        return softmax_cross_entropy(logits, batch.y, batch.mask)

    def scores(self, logits, batch) -> dict[str, float]:
        S = int(batch.mask[0].sum())
        whole = (logits[:, -S:].argmax(axis=-1) == batch.y[:, -S:]).all(axis=1)
        return _classifier_scores(logits, batch.y, batch.mask) | {"sequence_accuracy": float(whole.mean())}

    def baseline(self, config, val):
        return "chance_val_accuracy", 1.0 / config.alphabet, "guessing"

    def predict(self, model, inputs: list[str]) -> list[dict]:
        """Each input is --symbols space-separated symbols in 1..alphabet, e.g. ``"1 2 3 4 5 6 7 8 1 2"``."""
        c = model.config
        data = np.array([parse_ints(text, c.symbols, 1, c.alphabet) for text in inputs])   # (N, S)
        logits = model.forward(copy_inputs(data, c.alphabet, c.lag, c.dtype))                # (N, T, A)
        recalled = logits[:, -c.symbols:].argmax(axis=-1) + 1                                 # (N, S)
        return [{"input": d.tolist(), "output": r.tolist(), "right": int((d == r).sum())}
                for d, r in zip(data, recalled)]

    def format_prediction(self, result: dict) -> str:
        return (f"{' '.join(map(str, result['input']))} -> {' '.join(map(str, result['output']))}"
                f"  ({result['right']}/{len(result['input'])} right)")


class Adding(GeneratedTask):
    """adding: the sum of the two marked values of a --lag-step sequence (many-to-one regression).

    Each step gives a value u_t ~ U[0, 1] and a marker m_t; exactly two steps are marked, one in each
    half of the sequence; the target is the sum of their values, the loss the mean squared error.
    Always predicting 1.0 scores val_mse ≈ 0.167; LSTM goes far below at --lag 100, a vanilla RNN does not.

    examples:
      rnnkit train adding --lag 100 --cell lstm          # val_mse 0.0003 after 4000 steps (~40 s)
      rnnkit train adding --lag 100 --cell rnn           # stays at 0.167
      rnnkit train adding --lag 10 --cell rnn            # a short lag: the vanilla RNN learns it too
      rnnkit predict runs/adding "0.2 0.9* 0.4 0.1 0.5 0.7 0.3* 0.8 0.6 0.0"   # --lag 10 -> about 1.2
    """

    NAME, VERBS, Config = "adding", ("predict", "info"), AddingConfig
    metric, mode, default_epochs = "val_mse", "min", 40
    OPTIONS = {"lag": (dict(type=int), "the sequence length (the markers are in the first and second half)")}

    def examples(self, rng, n, config) -> Examples:
        return adding_examples(rng, n, config.lag, config.dtype)

    def build_model(self, config) -> ManyToOne:
        rnn = make_recurrent(config, 2, seed=config.seed)
        return ManyToOne(rnn, 1, dropout=config.dropout, seed=config.seed + 10)

    def loss(self, pred, batch):
        return mse(pred, batch.y)

    def scores(self, pred, batch) -> dict[str, float]:
        return {"mse": float(mse(pred, batch.y)[0])}

    def baseline(self, config, val):
        return "baseline_val_mse", float(np.mean((val.y.astype(np.float64) - 1.0) ** 2)), "always predicting 1.0"

    def predict(self, model, inputs: list[str]) -> list[dict]:
        """Each input is --lag numbers in [0, 1], two marked with a trailing ``*``, one in each half."""
        c = model.config
        parsed = [parse_marked(text, c.lag) for text in inputs]
        x = np.zeros((len(parsed), c.lag, 2), dtype=c.dtype)                     # (N, T, 2): u_t, m_t
        for n, (values, marked) in enumerate(parsed):
            x[n, :, 0], x[n, marked, 1] = values, 1.0
        pred = model.forward(x)[:, 0].astype(np.float64)                       # (N,)
        return [{"input": values, "marked": marked, "predicted": float(p), "expected": sum(values[i] for i in marked)}
                for (values, marked), p in zip(parsed, pred)]

    def format_prediction(self, result: dict) -> str:
        i, j = result["marked"]
        return (f"u[{i}] + u[{j}] -> {result['predicted']:.4f}  (expected {result['expected']:.4f}, "
                f"error {result['predicted'] - result['expected']:+.4f})")


def parse_marked(text: str, count: int) -> tuple[list[float], list[int]]:
    """``"0.2 0.9* … 0.3* …"`` -> (``count`` values in [0, 1], the two marked positions: one in each
    half, as the task draws them), else RnnkitError saying what was expected."""
    expected = (f"{count} space-separated numbers in [0, 1], two of them marked with a trailing * "
                f"(one in the first {count // 2}, one in the last {count - count // 2})")
    values, marked = [], []
    for i, word in enumerate(text.split()):
        if word.endswith("*"):
            marked.append(i)
        try:
            values.append(float(word.rstrip("*")))
        except ValueError:
            raise RnnkitError(f"INPUT: expected {expected}; {word!r} is not a number") from None
        if not 0.0 <= values[-1] <= 1.0:
            raise RnnkitError(f"INPUT: expected {expected}; {word!r} is not in [0, 1]")
    half = count // 2
    if len(values) != count or len(marked) != 2 or not marked[0] < half <= marked[1]:
        raise RnnkitError(f"INPUT: expected {expected}; given {len(values)} numbers, marked at {marked}")
    return values, marked


echo, copy, adding = Echo(), Copy(), Adding()
TASKS = {task.NAME: task for task in (echo, copy, adding)}
