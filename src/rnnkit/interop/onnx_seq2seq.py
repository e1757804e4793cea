"""ONNX graphs of the translate model (:class:`~rnnkit.tasks.seq2seq.Seq2Seq`): an encoder and a decoder.

Legend: B batch, S source steps, T decoder steps (1 in a host loop), E embedding, H hidden, L layers,
A attention size, V target vocabulary.

A Seq2Seq is exported as two graphs, written to ``OUT.encoder.onnx`` and ``OUT.decoder.onnx``
(:func:`rnnkit.interop.onnx_export.part_path`); :func:`~rnnkit.interop.export_onnx` returns
``{"encoder": proto, "decoder": proto}``.

    encoder   src (B, S) int64, src_lengths (B,) int64
              -> memory (B, S, H) (the keys h_j, zero past each source's length), h_n [, c_n] (L, B, H)
    decoder   tokens (B, T) int64, h0 [, c0] (L, B, H), memory (B, S, H), src_lengths (B,) int64
              -> log_probs (B, T, V) [, probabilities], h_n [, c_n] (L, B, H)

The decoder is ``Seq2Seq.decode_step`` for T = 1, and teacher-forced scoring of a target prefix for
T > 1 (no target lengths: a step only sees the steps before it, so right padding changes nothing
before it). Inside it:

    s        = recurrent(E_y[tokens], h0)                               (B, T, H)
    luong    e = (s W_a) memoryᵀ                                         (B, T, S)
    bahdanau e = tanh(Unsqueeze(s W_qᵀ, 2) + Unsqueeze(memory W_kᵀ, 1)) v   (B, T, S, A) -> (B, T, S)
    α        = Softmax(Where(j < src_lengths, e, −∞))                   (B, T, S)   the masked softmax
    c        = α memory                                                 (B, T, H)
    h̃        = Tanh([c ; s] W_cᵀ + b_c)   (none: h̃ = s, no memory or src_lengths input)
    log_probs = LogSoftmax(h̃ W_yᵀ + b_y)                                (B, T, V)

Greedy decoding in a host loop: run the encoder once; feed <bos> as tokens (B, 1) with the
encoder's h_n [c_n] as h0 [c0]; take the argmax of log_probs (<pad>, <unk>, <bos> ruled out, as
``Seq2Seq.greedy`` does), feed it and h_n [c_n] back, until <eos>. With ``lengths=False`` the
graphs take no ``src_lengths`` (every source runs its full length, nothing is masked).
"""
from __future__ import annotations

import numpy as np

from rnnkit.interop.onnx_check import state_outputs_of
from rnnkit.interop.onnx_export import Graph, Options, embedding, linear, recurrent, register_exporter, state_outputs
from rnnkit.nn.attention import LuongAttention
from rnnkit.tasks.seq2seq import Seq2Seq


def _axes(g: Graph, *axes: int) -> str:
    return g.const("axes", np.array(axes, np.int64))


def _encoder(g: Graph, model, opts: Options) -> None:
    src = g.input("src", "INT64", ["B", "S"])
    seq_lens = g.op("Cast", [g.input("src_lengths", "INT64", ["B"])], to=g.onnx.TensorProto.INT32) \
        if opts.lengths else None
    stack = recurrent(g, model.encoder, embedding(g, model.src_embedding, src), seq_lens)
    g.output("memory", stack.output, ["B", "S", model.encoder.hidden_size])
    state_outputs(g, model.encoder, stack)


def source_mask(g: Graph, memory: str, src_lengths: str) -> str:
    """(B, 1, S) bool, True at real source steps j < src_lengths[b]: Range(S) < Unsqueeze(lengths)."""
    S = g.op("Squeeze", [g.op("Slice", [g.op("Shape", [memory]), _axes(g, 1), _axes(g, 2), _axes(g, 0)]),
                         _axes(g, 0)])
    steps = g.op("Range", [g.const("zero", np.array(0, np.int64)), S, g.const("one", np.array(1, np.int64))])
    return g.op("Less", [steps, g.op("Unsqueeze", [src_lengths, _axes(g, 1, 2)])])       # (B, 1, S)


def scores(g: Graph, att, s: str, memory: str) -> str:
    """e (B, T, S) of queries s (B, T, H) over the memory (B, S, H): Luong's or Bahdanau's score."""
    keys_t = g.op("Transpose", [memory], perm=[0, 2, 1])                            # (B, H, S)
    if isinstance(att, LuongAttention):                                              # sᵀ W_a h_j = (s W_a) · h_j
        return g.op("MatMul", [g.op("MatMul", [s, g.const("luong_weight", att.params["weight"])]), keys_t])
    q = g.op("Unsqueeze", [g.op("MatMul", [s, g.const("query_weight_t", att.params["query_weight"].T)]),
                           _axes(g, 2)])                                             # (B, T, 1, A)
    k = g.op("Unsqueeze", [g.op("MatMul", [memory, g.const("key_weight_t", att.params["key_weight"].T)]),
                           _axes(g, 1)])                                             # (B, 1, S, A)
    return g.op("MatMul", [g.op("Tanh", [g.op("Add", [q, k])]), g.const("v", att.params["v"])])


def attend(g: Graph, model, s: str, memory: str, src_lengths: str | None) -> str:
    """h̃ = tanh([c ; s] W_cᵀ + b_c) (B, T, H), c the masked-softmax average of the memory."""
    e = scores(g, model.attention, s, memory)                                        # (B, T, S)
    if src_lengths is not None:
        e = g.op("Where", [source_mask(g, memory, src_lengths), e, g.const("minus_inf", np.array(-np.inf))])
    context = g.op("MatMul", [g.op("Softmax", [e], axis=-1), memory])                # (B, T, H)
    return g.op("Tanh", [linear(g, model.combine, g.op("Concat", [context, s], axis=-1))])


def _decoder(g: Graph, model, opts: Options) -> None:
    dec, H = model.decoder, model.decoder.hidden_size
    tokens = g.input("tokens", "INT64", ["B", "T"])
    shape = [dec.num_layers, "B", H]
    initial = (g.input("h0", "FLOAT", shape), g.input("c0", "FLOAT", shape) if dec.cell.n_states == 2 else None)
    stack = recurrent(g, dec, embedding(g, model.tgt_embedding, tokens), None, initial)
    top = stack.output                                                               # (B, T, H): s
    if model.attention is not None:
        memory = g.input("memory", "FLOAT", ["B", "S", H])
        src_lengths = g.input("src_lengths", "INT64", ["B"]) if opts.lengths else None
        top = attend(g, model, top, memory, src_lengths)
    logits = linear(g, model.out, top)                                               # (B, T, V)
    V = len(model.target_vocab)
    g.output("log_probs", g.op("LogSoftmax", [logits], axis=-1), ["B", "T", V])
    if opts.probabilities:
        g.output("probabilities", g.op("Softmax", [logits], axis=-1), ["B", "T", V])
    state_outputs(g, dec, stack)


# -- what onnx_check needs -------------------------------------------------------------------------------------


def seq2seq_feeds(model, names, rng, batch: int, time: int) -> dict[str, np.ndarray]:
    """src / tokens ids, src_lengths in 1..S (one full), states ~ N(0, 0.5²), memory ~ N(0, 1) (B, S, H)
    with S = ``time`` and T = ``time`` // 2 + 1 decoder steps."""
    dec, H = model.decoder, model.decoder.hidden_size
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[rng.integers(batch)] = time
    feeds = {"src": rng.integers(0, len(model.source_vocab), size=(batch, time)),
             "tokens": rng.integers(0, len(model.target_vocab), size=(batch, time // 2 + 1)),
             "src_lengths": lengths.astype(np.int64),
             "memory": rng.standard_normal((batch, time, H)).astype(np.float32)}
    for name in ("h0", "c0"):
        feeds[name] = (0.5 * rng.standard_normal((dec.num_layers, batch, H))).astype(np.float32)
    return {name: np.asarray(feeds[name]) for name in names}


def seq2seq_reference(model, feeds: dict) -> dict[str, np.ndarray]:
    """rnnkit's outputs: ``model.encode`` for the encoder graph, ``model.decode_step`` step by step for
    the decoder graph."""
    if "src" in feeds:
        src = feeds["src"]
        lengths = feeds.get("src_lengths", np.full(len(src), src.shape[1]))
        memory, state, _ = model.encode([row[:n] for row, n in zip(src, lengths)])
        return {"memory": memory} | state_outputs_of(state)
    state = (feeds["h0"], feeds["c0"]) if "c0" in feeds else feeds["h0"]
    memory = feeds.get("memory")
    lengths = feeds.get("src_lengths", None if memory is None else np.full(len(memory), memory.shape[1]))
    steps = []
    for t in range(feeds["tokens"].shape[1]):
        logp, state = model.decode_step(feeds["tokens"][:, t], state, memory, lengths)
        steps.append(logp)
    log_probs = np.stack(steps, axis=1)                                              # (B, T, V)
    return {"log_probs": log_probs, "probabilities": np.exp(log_probs)} | state_outputs_of(state)


def register() -> None:
    """Register the two-graph Seq2Seq exporter (called once by ``onnx_export``)."""
    register_exporter(Seq2Seq, {"encoder": _encoder, "decoder": _decoder}, True, False, False,
                      computes=("forward", "encode", "decode_step", "_attend"), feeds=seq2seq_feeds,
                      reference=seq2seq_reference)
