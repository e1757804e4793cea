"""Inputs for looking inside a trained model: what its recurrent stack reads, per task.

Legend: B batch, T time steps, D the recurrent stack's input features.

* token models (charlm, classify on text): a given text, encoded as the task encodes it, or
  else B windows of T tokens of the training corpus (charlm) or uniformly random tokens
  (classify), through the model's embedding;
* the generated tasks (echo, copy, adding): B fresh examples from the task's generator (their
  length is the task's, not T);
* any other model with one recurrent stack (classify on numeric sequences, forecast, tag, ...):
  standard normal features of the stack's input size, what standardised data looks like.

Every function returns features (B, T, D) for ``model.rnn``.
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError, RnnkitError

TEXT_TASKS = ("charlm", "classify")


def open_model(run, which: str = "best"):
    """(model, task name) of a run directory, the model in eval mode; RnnkitError unless the model
    has one recurrent stack ``model.rnn`` (an encoder-decoder has two)."""
    from rnnkit.nn.recurrent import Recurrent
    from rnnkit.tasks import load
    from rnnkit.tasks.base import open_run

    _, task, _ = open_run(run)
    model = load(run, which)
    if not isinstance(getattr(model, "rnn", None), Recurrent):
        raise RnnkitError(f"RUN: a {task!r} model has no single recurrent stack (model.rnn) to look into")
    return model, task


def encode_text(model, task: str, text: str, source: str = "--text") -> np.ndarray:
    """Token ids (T,) of ``text`` as the task reads it; RnnkitError when the model reads no text."""
    if task not in TEXT_TASKS or getattr(model, "embedding", None) is None:
        raise RnnkitError(f"{source}: text inputs are read for charlm and classify (text) runs; a {task!r} "
                          f"model reads numbers: leave out --text/--file")
    if task == "charlm":
        ids = model.vocab.encode(model.tokens(text), source)
    else:
        from rnnkit.tasks.classify import encode
        ids = encode(model, [text])[0]
    if len(ids) == 0:
        raise RnnkitError(f"{source}: the text is empty")
    return np.asarray(ids)


def _corpus_windows(model, T: int, batch: int, rng) -> np.ndarray | None:
    from rnnkit.tasks.charlm import load_corpus

    try:
        ids = model.vocab.encode(model.tokens(load_corpus(model.config.data)), "corpus")
    except (DataError, RnnkitError, OSError):
        return None
    if len(ids) <= T:
        return None
    starts = rng.integers(0, len(ids) - T, size=batch)
    return np.stack([ids[s:s + T] for s in starts])


def run_inputs(run, T: int, batch: int, seed: int = 0, which: str = "best"):
    """(model, task, x (B, T, D)) for the gradient flow of a run's model (see the module docstring)."""
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.generated import GeneratedTask

    model, task = open_model(run, which)
    rng = np.random.default_rng([seed, 3])
    if isinstance(TASKS[task], GeneratedTask):
        return model, task, TASKS[task].examples(rng, batch, model.config).x
    if task in TEXT_TASKS and getattr(model, "embedding", None) is not None:
        ids = _corpus_windows(model, T, batch, rng) if task == "charlm" else None
        if ids is None:
            ids = rng.integers(min(2, len(model.vocab) - 1), len(model.vocab), size=(batch, T))
        return model, task, model.embedding.forward(ids)
    return model, task, rng.standard_normal((batch, T, model.rnn.input_size))


def text_inputs(model, task: str, text: str, source: str = "--text", seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(x (1, T, D), the T token labels) for one text, or one generated example when ``text`` is None."""
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.generated import GeneratedTask

    if text is None:
        if not isinstance(TASKS[task], GeneratedTask):
            raise RnnkitError(f"--text: give the text to run a {task!r} model on (or --file)")
        ex = TASKS[task].examples(np.random.default_rng([seed, 5]), 1, model.config)
        return ex.x, [_label(row) for row in ex.x[0]]
    ids = encode_text(model, task, text, source)
    tokens = model.vocab.decode(ids)
    return model.embedding.forward(ids[None, :]), tokens


def _label(features: np.ndarray) -> str:
    """A short label for one step of a generated example: the one-hot index, or the values."""
    if features.size > 2 and np.isclose(features.sum(), 1.0) and features.max() == 1.0:
        return str(int(features.argmax()))
    return ",".join(f"{v:.2g}" for v in features)
