"""Inputs for looking inside a trained model: what its recurrent stack reads, per task.

Legend: B batch, T time steps, D the stack's input features, E embedding, U casing classes,
J·G character features, H hidden units, L layers, K directions.

A :class:`~.probe.Probe` is one input for one recurrent stack: the stack (``model.rnn``, or a translation
model's encoder or decoder), its features x (B, T, D), a label per step, what the labels are, and
the stack's initial state (zeros except for the decoder). What each task reads:

* **charlm, classify (text)**: the text encoded as the task encodes it, through the embedding;
  for gradflow, B windows of T tokens of the training corpus (charlm) or random tokens (classify).
* **echo, copy, adding**: B fresh examples from the task's generator (their length is the task's).
* **tag, forecast, caption, translate**: see :mod:`.task_inputs` (a sentence's word features, a
  series window, a vector with its greedy caption, a source sentence or its greedy translation).
* any other model with one stack (classify on numeric sequences): standard normal features for
  gradflow (what standardised data looks like); inspect refuses, it has no text to read.
"""
from __future__ import annotations

import numpy as np

from rnnkit.diagnostics.probe import GENERATED_TOKEN, INPUT_TOKEN, Probe, windows
from rnnkit.diagnostics.task_inputs import (
    caption_batch,
    caption_probe,
    caption_vectors,
    forecast_probe,
    forecast_windows,
    greedy_caption,
    series_numbers,
    source_windows,
    tag_probe,
    tag_words,
    tagger_features,
    translate_probe,
)
from rnnkit.errors import DataError, RnnkitError
from rnnkit.nn.recurrent import Recurrent

# the record and the per-task readers users import from here
__all__ = ["GENERATED_TOKEN", "INPUT_TOKEN", "PARTS", "TEXT_TASKS", "Probe", "caption_vectors", "encode_text",
           "greedy_caption", "probe", "series_numbers", "stack_of", "tagger_features", "text_inputs",
           "trained_inputs"]

TEXT_TASKS = ("charlm", "classify")
PARTS = ("encoder", "decoder")


def stack_of(model, task: str, part: str = "encoder") -> Recurrent:
    """The recurrent stack inspected: ``model.rnn``, or a translation model's encoder or decoder; RnnkitError
    for a model without one."""
    if part not in PARTS:
        raise RnnkitError(f"--part: expected encoder or decoder, given {part!r}")
    if task == "translate":
        return model.encoder if part == "encoder" else model.decoder
    if part != "encoder":
        raise RnnkitError(f"--part: only a translate model has an encoder and a decoder; a {task!r} model has "
                          f"one recurrent stack: leave out --part")
    if not isinstance(getattr(model, "rnn", None), Recurrent):
        raise RnnkitError(f"RUN: a {task!r} model has no recurrent stack (model.rnn) to look into")
    return model.rnn


# -- charlm, classify and the generated tasks --------------------------------------------------------------


def encode_text(model, task: str, text: str, source: str = "--text") -> np.ndarray:
    """Token ids (T,) of ``text`` as charlm or classify reads it; RnnkitError when the model reads no text."""
    if task not in TEXT_TASKS or getattr(model, "embedding", None) is None:
        raise RnnkitError(f"{source}: a {task!r} model reads numbers, not text: leave out --text/--file "
                          f"(text is read by charlm, classify (text), tag and translate runs)")
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
    return windows(ids, T, batch, rng)


def _label(features: np.ndarray) -> str:
    """A short label for one step of a generated example: the one-hot index, or the values."""
    if features.size > 2 and np.isclose(features.sum(), 1.0) and features.max() == 1.0:
        return str(int(features.argmax()))
    return ",".join(f"{v:.2g}" for v in features)


def _text_probe(model, task: str, text: str | None, source: str, seed: int) -> Probe:
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.generated import GeneratedTask

    if text is None:
        if not isinstance(TASKS[task], GeneratedTask):
            raise RnnkitError(f"--text: give the text to run a {task!r} model on (or --file)")
        ex = TASKS[task].examples(np.random.default_rng([seed, 5]), 1, model.config)
        return Probe(model.rnn, ex.x, [_label(row) for row in ex.x[0]], "step (input)",
                     what=f"one generated {task} example (--seed {seed})")
    ids = encode_text(model, task, text, source)
    return Probe(model.rnn, model.embedding.forward(ids[None, :]), model.vocab.decode(ids),
                 what=f"{len(ids)} tokens of {source}")


# -- what inspect and gradflow call ----------------------------------------------------------------------


def probe(model, task: str, text: str | None = None, file: str | None = None, row: int = 0,
          part: str = "encoder", seed: int = 0, source: str = "--text") -> Probe:
    """The one input ``rnnkit inspect`` looks at (see the module docstring), for ``text`` or ``file``
    (a text file; a CSV file for forecast, an .npz for caption)."""
    from rnnkit.data.text import read_text

    stack_of(model, task, part)                                               # checks --part
    if task == "caption":
        if text is not None:
            raise RnnkitError("--text: a caption model reads a vector: give --row K (of the run's data) "
                              "or --file x.npz")
        return caption_probe(model, file, row)
    if task == "forecast":
        return forecast_probe(model, text, file, source if text is not None else file)
    if file is not None:
        text, source = read_text(file), file
    if text is not None and not text:
        raise RnnkitError(f"{source}: the text is empty")
    if task in ("tag", "translate") and text is None:
        raise RnnkitError(f"--text: give the sentence to run a {task!r} model on (or --file)")
    if task == "tag":
        return tag_probe(model, text, source)
    if task == "translate":
        return translate_probe(model, text, part, source)
    return _text_probe(model, task, text, source, seed)


def text_inputs(model, task: str, text: str, source: str = "--text", seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(x (1, T, D), the T step labels) for one text, or one generated example when ``text`` is None."""
    p = probe(model, task, text, seed=seed, source=source)
    return p.x, p.labels


def trained_inputs(trained, T: int, batch: int, seed: int = 0) -> Probe:
    """The Probe of x (B, T, D) for the gradient flow of a :class:`~rnnkit.tasks.Trained` model (module
    docstring)."""
    from rnnkit.tasks import TASKS
    from rnnkit.tasks.generated import GeneratedTask

    model, task, run = trained
    stack = stack_of(model, task)
    rng = np.random.default_rng([seed, 3])
    if isinstance(TASKS[task], GeneratedTask):
        return Probe(stack, TASKS[task].examples(rng, batch, model.config).x, [])
    if task == "tag":
        return Probe(stack, tagger_features(model, tag_words(model, T, batch, rng)), [])
    if task == "forecast":
        return Probe(stack, forecast_windows(model, T, batch, rng), [])
    if task == "caption":
        return Probe(stack, caption_batch(model, T, batch, rng), [])
    if task == "translate":
        ids = source_windows(run, model, T, batch, rng)
        return Probe(stack, model.src_embedding.params["weight"][ids], [])
    if task in TEXT_TASKS and getattr(model, "embedding", None) is not None:
        ids = _corpus_windows(model, T, batch, rng) if task == "charlm" else None
        if ids is None:
            ids = rng.integers(min(2, len(model.vocab) - 1), len(model.vocab), size=(batch, T))
        return Probe(stack, model.embedding.forward(ids), [])
    return Probe(stack, rng.standard_normal((batch, T, stack.input_size)), [])
