"""ONNX graphs of the tag and caption models, from the pieces of :mod:`rnnkit.interop.onnx_export`.

Legend: B batch, T words / time steps, S characters per word, E word embedding, U casing classes,
F character embedding, J·G character features, K·H hidden, M tags, D vector features, V vocabulary.

Tagger (tag)   x (B, T, 2 + S) int64 packed as ``Tagger.batch`` packs it, lengths (B,) -> logits (B, T, M)

    words, casing   Gather(x, 0 | 1, axis=2)                        (B, T)
    e_t             Gather(E, words)                                (B, T, E)
    u_t             Gather(I_U, casing): the casing one-hot         (B, T, U)
    chars           Slice(x, 2:, axis=2) -> Flatten(axis=2)         (B·T, S)
    char lengths    max(Σ_s [chars ≠ 0], 1), as ``Tagger._encode``  (B·T,)
    q_t             embedding -> recurrent(char lengths) -> final_state -> Reshape   (B, T, J·G)
    logits          recurrent([e ; u ; q], lengths) -> linear        (B, T, M)

A padding word (all ids 0) gets character length 1, as rnnkit would give a real word without
characters; rnnkit sets q to 0 there instead, but the word-level layer never reads a position past a
sentence's length, so the logits are the same everywhere (at padding words: the head's bias, in
both). onnxruntime would accept ``sequence_lens`` 0 (it returns a zero state) but rnnkit does not, and
ONNX does not define it, so the graph never relies on it.

Captioner (caption)   v (B, D) float32 standardised vectors, ids (B, T) int64 [, lengths (B,)]
                      [, h0 [, c0] (L, B, H)] -> logits (B, T, V) [, h_n [, c_n]]

    x̃_t = [E[ids_t] ; v]   Unsqueeze(v, 1) -> Expand to (B, T, D) -> Concat with the embeddings
    logits = linear(recurrent(x̃, lengths, h0)): teacher-forced scores of a caption prefix

With ``state=True`` a host loop generates: feed <bos> as ids (B, 1) and zero states, take the
argmax of the logits as the next ids and h_n [, c_n] as the next states — ``Captioner.generate``.
``v`` is standardised as ``Captioner.forward`` takes it (``model.scale`` stays outside the graph).
"""
from __future__ import annotations

import numpy as np

from rnnkit.interop.onnx_check import softmax, state_outputs_of
from rnnkit.interop.onnx_export import (
    Graph,
    Options,
    embedding,
    final_state,
    head_outputs,
    lengths_input,
    linear,
    recurrent,
    register_exporter,
    state_inputs,
    state_outputs,
)
from rnnkit.tasks.captioner import Captioner, condition_forward
from rnnkit.tasks.tagger import CASINGS, Tagger


def leading_dims(g: Graph, x: str, n: int) -> str:
    """The first ``n`` dimensions of ``x`` as a (n,) int64 tensor: Shape -> Slice."""
    return g.op("Slice", [g.op("Shape", [x]), g.const("zero", np.array([0], np.int64)),
                          g.const("n", np.array([n], np.int64)), g.const("axis0", np.array([0], np.int64))])


def _column(g: Graph, x: str, index: int) -> str:
    """x[..., index] of a packed (B, T, 2 + S) input -> (B, T)."""
    return g.op("Gather", [x, g.const("column", np.array(index, np.int64))], axis=2)


# -- tag ------------------------------------------------------------------------------------------------------


def char_features(g: Graph, enc, x: str) -> str:
    """Packed x (B, T, 2 + S) -> q (B, T, J·G): each word's final character states (``CharEncoder``)."""
    int64_max = np.iinfo(np.int64).max
    chars = g.op("Slice", [x, g.const("start", np.array([2], np.int64)), g.const("end", np.array([int64_max])),
                           g.const("axis2", np.array([2], np.int64))])            # (B, T, S)
    flat = g.op("Flatten", [chars], axis=2)                                       # (B·T, S)
    real = g.op("Not", [g.op("Equal", [flat, g.const("pad", np.array(0, np.int64))])])
    count = g.op("ReduceSum", [g.op("Cast", [real], to=g.onnx.TensorProto.INT32),
                               g.const("axis1", np.array([1], np.int64))], keepdims=0)
    clen = g.op("Max", [count, g.const("one", np.array(1, np.int32))])           # (B·T,) as rnnkit: at least 1
    q = final_state(g, recurrent(g, enc.rnn, embedding(g, enc.embedding, flat), clen))   # (B·T, J·G)
    shape = g.op("Concat", [leading_dims(g, x, 2), g.const("rest", np.array([-1], np.int64))], axis=0)
    return g.op("Reshape", [q, shape])                                            # (B, T, J·G)


def _tagger(g: Graph, model, opts: Options) -> None:
    x = g.input("x", "INT64", ["B", "T", "2+S"])
    seq_lens = lengths_input(g) if opts.lengths else None
    parts = [embedding(g, model.embedding, _column(g, x, 0)),                       # (B, T, E)
             g.op("Gather", [g.const("casing_onehot", np.eye(len(CASINGS))), _column(g, x, 1)], axis=0)]
    if model.char is not None:
        parts.append(char_features(g, model.char, x))                              # (B, T, J·G)
    stack = recurrent(g, model.rnn, g.op("Concat", parts, axis=-1), seq_lens)
    head_outputs(g, model, linear(g, model.head, stack.output), ["B", "T", len(model.tags)], opts.probabilities)


def tagger_feeds(model, names, rng, batch: int, time: int) -> dict[str, np.ndarray]:
    """Packed x (B, T, 2 + S) like ``Tagger.batch`` makes: word, casing and 1..S character ids per real
    word, padding words all 0; lengths (B,) in 1..T with one full-length sentence."""
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[rng.integers(batch)] = time
    S = model.max_word if model.chars is not None else 0
    x = np.zeros((batch, time, 2 + S), dtype=np.int64)
    x[..., 0] = rng.integers(0, len(model.vocab), size=(batch, time))
    x[..., 1] = rng.integers(0, len(CASINGS), size=(batch, time))
    if S:
        word_len = rng.integers(1, S + 1, size=(batch, time))
        chars = rng.integers(1, len(model.chars), size=(batch, time, S))
        x[..., 2:] = np.where(np.arange(S) < word_len[..., None], chars, 0)
    if "lengths" in names:
        x[np.arange(time)[None, :] >= lengths[:, None]] = 0                          # padding words
    return {"x": x} | ({"lengths": lengths.astype(np.int64)} if "lengths" in names else {})


# -- caption --------------------------------------------------------------------------------------------------


def _captioner(g: Graph, model, opts: Options) -> None:
    v = g.input("v", "FLOAT", ["B", model.features])
    ids = g.input("ids", "INT64", ["B", "T"])
    initial = state_inputs(g, model.rnn) if opts.state else (None, None)
    seq_lens = lengths_input(g) if opts.lengths else None
    shape = g.op("Concat", [leading_dims(g, ids, 2), g.const("features", np.array([model.features], np.int64))],
                 axis=0)
    v_t = g.op("Expand", [g.op("Unsqueeze", [v, g.const("axis1", np.array([1], np.int64))]), shape])  # (B, T, D)
    x = g.op("Concat", [embedding(g, model.embedding, ids), v_t], axis=-1)         # (B, T, E + D): [x_t ; v]
    stack = recurrent(g, model.rnn, x, seq_lens, initial)
    head_outputs(g, model, linear(g, model.head, stack.output), ["B", "T", len(model.vocab)], opts.probabilities)
    if opts.state:
        state_outputs(g, model.rnn, stack)


def captioner_feeds(model, names, rng, batch: int, time: int) -> dict[str, np.ndarray]:
    """v ~ N(0, 1) (B, D): standardised vectors (ids, lengths and states are the generic ones)."""
    return {"v": rng.standard_normal((batch, model.features)).astype(np.float32)}


def captioner_reference(model, feeds: dict) -> dict[str, np.ndarray]:
    """rnnkit's logits, probabilities [and final states] for the captioner graph's feeds."""
    v, ids, lengths = feeds["v"], feeds["ids"], feeds.get("lengths")
    if "h0" not in feeds:
        logits, finals = model.forward(v, ids, lengths), {}
    else:                                               # Captioner.forward with an initial state
        state = (feeds["h0"], feeds["c0"]) if "c0" in feeds else feeds["h0"]
        x, _ = condition_forward(model.embedding.forward(ids), np.asarray(v, dtype=model.dtype))
        out, final = model.rnn.forward(x, state, lengths=lengths)
        logits, finals = model.head.forward(out), state_outputs_of(final)
    return {"logits": logits, "probabilities": softmax(logits)} | finals


def register() -> None:
    """Register the tag and caption exporters (called once by ``onnx_export``)."""
    register_exporter(Tagger, _tagger, True, False, False, feeds=tagger_feeds)
    register_exporter(Captioner, _captioner, True, False, True, computes=("forward", "_step"),
                      feeds=captioner_feeds, reference=captioner_reference)
