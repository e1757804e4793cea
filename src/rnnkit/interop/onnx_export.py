"""ONNX export: a model becomes a graph of ONNX's own LSTM / GRU / RNN operators.

Legend: B batch, T time steps, V vocabulary, E embedding, D features, H hidden,
L layers, K directions, G gates, M outputs, S characters per word (tag) or source
steps (translate). ``onnx`` is imported only when a
graph is built (``pip install 'rnnkit[onnx]'``).

A model is exported as a chain of the pieces of :mod:`rnnkit.interop.onnx_graph` (``embedding``,
``recurrent``, ``final_state``, ``linear``, ``probabilities``, the state and length inputs), each
adding nodes to a ``Graph``; they are re-exported here, where new exporters find them.

Which graph each model gets (inputs -> outputs):

    LanguageModel (charlm)    ids (B, T) int64 -> logits (B, T, V)                [probabilities (B, T, V)]
    ManyToOne / Classifier    ids (B, T) or x (B, T, D) [, lengths (B,)] -> logits (B, M) [probabilities]
    ManyToMany (copy)         ids (B, T) or x (B, T, D) [, lengths (B,)] -> logits (B, T, M) [probabilities]
    Tagger (tag)              x (B, T, 2 + S) int64 packed word, casing, char ids [, lengths (B,)]
                              -> logits (B, T, M) [probabilities]                  (onnx_tasks)
    Captioner (caption)       v (B, D), ids (B, T) int64 [, lengths (B,)] -> logits (B, T, V) [probabilities]
                                                                                   (onnx_tasks)
    Seq2Seq (translate)       two graphs (onnx_seq2seq): encoder src (B, S), src_lengths (B,) -> memory (B, S, H),
                              h_n [, c_n]; decoder tokens (B, T), h0 [, c0], memory, src_lengths
                              -> log_probs (B, T, V), h_n [, c_n]
    RNN / LSTM / GRU          x (B, T, D) [, lengths (B,)] -> output (B, T, K·H), h_n (L·K, B, H) [, c_n]

A Classifier's probabilities are those of ``Classifier.probabilities``: softmax,
or (B, 2) [1 − σ(z), σ(z)] for two classes. ``state=True`` adds initial-state
inputs h0 [, c0] and final-state outputs h_n [, c_n] (L·K, B, H) to a language
model, a captioner or a bare stack. A model exported as several graphs (Seq2Seq)
gives ``{part: ModelProto}`` and ``OUT.<part>.onnx`` files. New models register a
function built from these pieces with :func:`register_exporter`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from rnnkit.interop._common import InteropError
from rnnkit.interop.onnx_graph import (
    OPSET,
    Graph,
    Options,
    Stack,
    _onnx,
    embedding,
    final_state,
    head_outputs,
    layer_weights,
    lengths_input,
    linear,
    probabilities,
    recurrent,
    sequence_input,
    state_inputs,
    state_outputs,
)

# the public names, and the pieces of onnx_graph re-exported for new exporters
__all__ = [
    "OPSET",
    "Exporter",
    "Graph",
    "Options",
    "Stack",
    "embedding",
    "export_onnx",
    "exporter_for",
    "final_state",
    "head_outputs",
    "layer_weights",
    "lengths_input",
    "linear",
    "part_path",
    "probabilities",
    "recurrent",
    "register_exporter",
    "sequence_input",
    "state_inputs",
    "state_outputs",
]


# -- one function per model kind -----------------------------------------------------------------------------------


def _language_model(g: Graph, model, opts: Options) -> None:
    x, _ = sequence_input(g, model, False)
    stack = recurrent(g, model.rnn, x, None, state_inputs(g, model.rnn) if opts.state else (None, None))
    z = linear(g, model.head, stack.output)
    head_outputs(g, model, z, ["B", "T", model.head.out_features], opts.probabilities)
    if opts.state:
        state_outputs(g, model.rnn, stack)


def _many_to_one(g: Graph, model, opts: Options) -> None:
    x, seq_lens = sequence_input(g, model, opts.lengths)
    z = linear(g, model.head, final_state(g, recurrent(g, model.rnn, x, seq_lens)))
    head_outputs(g, model, z, ["B", model.head.out_features], opts.probabilities, getattr(model, "binary", False))


def _many_to_many(g: Graph, model, opts: Options) -> None:
    x, seq_lens = sequence_input(g, model, opts.lengths)
    z = linear(g, model.head, recurrent(g, model.rnn, x, seq_lens).output)
    head_outputs(g, model, z, ["B", "T", model.head.out_features], opts.probabilities)


def _recurrent(g: Graph, rnn, opts: Options) -> None:
    x = g.input("x", "FLOAT", ["B", "T", rnn.input_size])
    initial = state_inputs(g, rnn) if opts.state else (None, None)
    stack = recurrent(g, rnn, x, lengths_input(g) if opts.lengths else None, initial)
    g.output("output", stack.output, ["B", "T", rnn.output_width])
    state_outputs(g, rnn, stack)


_COMPUTES = ("forward", "_encode", "_top_h")              # a subclass that overrides one needs its own exporter


class Exporter(NamedTuple):
    cls: type
    build: Callable | dict  # build(graph, model, options) adds the inputs, nodes and outputs; or {part: build}
    lengths: bool           # the default of Options.lengths
    probabilities: bool     # the default of Options.probabilities
    state: bool             # whether Options.state is possible
    computes: tuple = _COMPUTES        # the methods the graph stands for (a subclass overriding one is refused)
    feeds: Callable | None = None      # feeds(model, names, rng, batch, time) -> {input: array} (onnx_check)
    reference: Callable | None = None  # reference(model, feeds) -> {output: array}, eval mode (onnx_check)


_EXPORTERS: list[Exporter] = []


def register_exporter(cls: type, build: Callable | dict, lengths: bool = True, probabilities: bool = False,
                      state: bool = False, *, computes: tuple | None = None, feeds: Callable | None = None,
                      reference: Callable | None = None) -> None:
    """Teach :func:`export_onnx` a model class: ``build(graph, model, options)`` adds its inputs, nodes
    and outputs (``options`` an :class:`Options`); ``lengths`` and ``probabilities`` are the defaults,
    ``state`` says whether it can take an initial state. Later registrations win for subclasses.

    ``build`` may be a dict ``{part: build}`` for a model exported as several graphs (one file each).
    ``computes`` names the methods the graph reproduces (default ``forward``, ``_encode``, ``_top_h``);
    ``feeds`` and ``reference`` let :mod:`rnnkit.interop.onnx_check` sample the graph's inputs and
    compute rnnkit's outputs where the generic ones (ids / x, lengths, states; ``model.forward``) do not fit.
    """
    _EXPORTERS.insert(0, Exporter(cls, build, lengths, probabilities, state, computes or _COMPUTES, feeds,
                                  reference))


def _builtin_exporters() -> None:
    if _EXPORTERS:
        return
    from rnnkit.interop import onnx_seq2seq, onnx_tasks
    from rnnkit.nn.recurrent import Recurrent
    from rnnkit.tasks.classifier import Classifier
    from rnnkit.tasks.language_model import LanguageModel
    from rnnkit.tasks.models import ManyToMany, ManyToOne

    for cls, build, lens, probs, state in ((Recurrent, _recurrent, True, False, True),
                                           (ManyToMany, _many_to_many, True, False, False),
                                           (ManyToOne, _many_to_one, True, False, False),
                                           (Classifier, _many_to_one, True, True, False),
                                           (LanguageModel, _language_model, False, False, True)):
        register_exporter(cls, build, lens, probs, state)
    onnx_tasks.register()
    onnx_seq2seq.register()


def exporter_for(model) -> Exporter:
    """The registered exporter of ``model``'s class; InteropError if there is none or if ``model``
    overrides a method the graph stands for."""
    _builtin_exporters()
    match = next((e for e in _EXPORTERS if isinstance(model, e.cls)), None)
    if match is None:
        known = ", ".join(sorted({e.cls.__name__ for e in _EXPORTERS}))
        raise InteropError(f"model: cannot export a {type(model).__name__} to ONNX (known: {known})")
    name = match.cls.__name__
    changed = [m for m in match.computes if getattr(type(model), m, None) is not getattr(match.cls, m, None)]
    if changed:
        raise InteropError(f"model: {type(model).__name__} overrides {', '.join(changed)} of {name}, so {name}'s "
                           "graph would compute something else; register its own exporter with "
                           "rnnkit.interop.register_exporter")
    return match


def part_path(path, part: str) -> Path:
    """Where one graph of a several-graph model goes: ``OUT.onnx`` -> ``OUT.<part>.onnx``."""
    path = Path(path)
    return path.with_name(f"{path.stem if path.suffix == '.onnx' else path.name}.{part}.onnx")


def export_onnx(model, path=None, *, lengths: bool | None = None, probabilities: bool | None = None,
                state: bool = False, opset: int = OPSET):
    """Build (and, given ``path``, atomically write) the ONNX graph of ``model``; returns the ModelProto,
    or ``{part: ModelProto}`` for a model exported as several graphs (a Seq2Seq: encoder, decoder).

    Args:
        model: a task model (LanguageModel, Classifier, ManyToOne, ManyToMany, Tagger,
            Captioner, Seq2Seq) or a bare RNN / LSTM / GRU stack.
        path: where to write the ``.onnx`` file, or None; a several-graph model writes
            ``OUT.<part>.onnx`` for ``OUT.onnx`` (``mt.onnx`` -> ``mt.encoder.onnx``, ``mt.decoder.onnx``).
        lengths: add a ``lengths`` (B,) int64 input for right-padded batches (``src_lengths``
            for a Seq2Seq; default: yes where ``model.forward`` takes lengths; not for charlm).
        probabilities: add a ``probabilities`` output (default: a Classifier's only).
        state: add initial-state inputs ``h0`` [``c0``] (L·K, B, H) and final-state
            outputs ``h_n`` [``c_n``] — a LanguageModel or a Captioner then runs a sequence
            piece by piece, as ``model.forward(ids, state)`` does (LanguageModel, Captioner
            and bare stacks; a Seq2Seq decoder always has them).
        opset: the ONNX opset, at least 14 (``layout``-aware recurrent operators).
    """
    match = exporter_for(model)
    newest = _onnx().defs.onnx_opset_version()
    if not isinstance(opset, int) or not 14 <= opset <= newest:
        raise InteropError(f"opset: expected an integer from 14 to {newest} (this onnx), given {opset!r}")
    if state and not match.state:
        if isinstance(match.build, dict):
            raise InteropError(f"state: not an option for a {type(model).__name__}: its {' and '.join(match.build)} "
                               "graphs always give (and the step graph takes) the recurrent state")
        raise InteropError(f"state: a {type(model).__name__} takes no initial state (language models, captioners "
                           "and bare stacks do)")
    options = Options(match.lengths if lengths is None else bool(lengths),
                      match.probabilities if probabilities is None else bool(probabilities), bool(state))
    if callable(match.build):
        return _write(_build(match.build, model, options, opset, f"rnnkit {type(model).__name__}"), path)
    protos = {part: _build(build, model, options, opset, f"rnnkit {type(model).__name__} {part}")
              for part, build in match.build.items()}                    # every graph built before any is written
    return {part: _write(proto, None if path is None else part_path(path, part)) for part, proto in protos.items()}


def _build(build: Callable, model, options: Options, opset: int, doc: str):
    g = Graph()
    build(g, model, options)
    return g.model(doc, opset)


def _write(proto, path):
    if path is not None:
        from rnnkit.train.checkpoint import atomic_write_bytes
        atomic_write_bytes(path, proto.SerializeToString())
    return proto
