"""ONNX export: a model becomes a graph of ONNX's own LSTM / GRU / RNN operators.

Legend: B batch, T time steps, V vocabulary, E embedding, D features, H hidden,
L layers, K directions, G gates, M outputs, S characters per word (tag) or source
steps (translate). ``onnx`` is imported only when a
graph is built (``pip install 'rnnkit[onnx]'``).

A model is exported as a chain of small pieces, each adding nodes to a
:class:`Graph` and returning the names of its outputs:

    embedding     Gather(E, ids)                       ids (B, T) int64 -> (B, T, E)
    recurrent     one ONNX LSTM/GRU/RNN node per layer x (B, T, D) -> out (B, T, K·H), h_n (L·K, B, H) [, c_n]
    final_state   the top layer's Y_h, directions joined  -> (B, K·H)
    linear        MatMul(x, Wᵀ) + b                     (..., D) -> (..., M)
    probabilities Softmax(z) or [1 − σ(z), σ(z)]        (..., M) -> (..., M | 2)

ONNX's recurrent operators are used time-major (``layout=0``; onnxruntime's
CPU kernels refuse the batch-major ``layout=1``): X (T, B, D), Y (T, K, B, H),
Y_h (K, B, H), so ``recurrent`` transposes the batch-first tensors in and out. Per layer, W (K, G·H, D), R (K, G·H, H) and
B (K, 2·G·H) = [b_ih, b_hh] stack the directions; the gate blocks are
reordered from PyTorch's order to ONNX's:

    LSTM  i f g o  ->  i o f c        GRU  r z n  ->  z r h        RNN  one block
    GRU(reset_after=True) -> linear_before_reset=1;  GRU(reset_after=False) -> linear_before_reset=0
    LSTM(peephole=True) -> input P (K, 3·H) = [p_i, p_o, p_f] (rnnkit's peephole_l{k} is [p_i, p_f, p_o])

    merge_mode sum / mul / ave -> the directions of Y taken apart (Gather) and added, multiplied or averaged

Of the cell variants ONNX's operators compute the peepholes and the merge
modes are a few nodes; recurrent_dropout and weight_drop are off in
evaluation, so they export as the plain cell; the others (proj_size,
layer_norm, zoneout) raise InteropError naming the option.
    RNN(nonlinearity="relu") -> activations=["Relu"] per direction

``sequence_lens`` (the graph input ``lengths`` cast to int32) makes ONNX stop
each sequence at its own length: Y is zero past it, Y_h is the state at the
last real step, the reverse direction starts there — rnnkit's ``lengths=``.
The graph is float32 (a float64 model is rounded) and dynamic in B and T.

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

import numpy as np

from rnnkit.interop._common import InteropError, refuse_variants
from rnnkit.interop.onnx_variants import merged, peepholes

OPSET = 17
_ONNX_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}
_OP = {4: "LSTM", 3: "GRU", 1: "RNN"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise InteropError("ONNX export needs the onnx package: pip install 'rnnkit[onnx]'") from None
    return onnx


class Graph:
    """Nodes, initializers, inputs and outputs of one graph, with unique names."""

    def __init__(self):
        self.onnx = _onnx()
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._count = 0

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, array) -> str:
        """A named initializer (float arrays stored as float32)."""
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        name = self.fresh(stem)
        array = np.ascontiguousarray(array).reshape(array.shape)             # a scalar stays a scalar
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs):
        """Add a node; returns its output name (or list of names if ``n_out`` > 1)."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outs, name=self.fresh(f"{op_type}_node"),
                                                     **attrs))
        return outs[0] if n_out == 1 else outs

    def input(self, name: str, elem: str, shape: list) -> str:
        dtype = getattr(self.onnx.TensorProto, elem)
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, name: str, value: str, shape: list) -> None:
        """Expose ``value`` as a float32 graph output called ``name``."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=f"{name}_out"))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, self.onnx.TensorProto.FLOAT, shape))

    def model(self, doc: str, opset: int = OPSET):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, "rnnkit", self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, producer_name="rnnkit", doc_string=doc,
                                  opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])  # widest support
        self.onnx.checker.check_model(model, full_check=True)
        return model


# -- the pieces ------------------------------------------------------------------------------------------------


class Stack(NamedTuple):
    """The names a recurrent stack leaves in the graph."""

    output: str          # (B, T, K·H)
    h_n: str             # (L·K, B, H)
    c_n: str | None      # (L·K, B, H), LSTM only
    top_h: str           # (K, B, H), the top layer's final states


def embedding(g: Graph, emb, ids: str) -> str:
    """ids (B, T) int64 -> (B, T, E): rows of the embedding's weight (V, E)."""
    return g.op("Gather", [g.const("embedding_weight", emb.params["weight"]), ids], axis=0)


def layer_weights(rnn, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (K, G·H, in), R (K, G·H, H), B (K, 2·G·H) of one layer, gates in ONNX's order."""
    H, order = rnn.hidden_size, _ONNX_ORDER[_OP[rnn.cell.gates]]

    def reorder(a):
        return np.concatenate([a[g * H:(g + 1) * H] for g in order])

    per_dir = [[reorder(a) for a in rnn._weights(layer, d)] for d in range(rnn.num_directions)]
    W = np.stack([w_ih for w_ih, _, _, _ in per_dir])
    R = np.stack([w_hh for _, w_hh, _, _ in per_dir])
    B = np.stack([np.concatenate([b_ih, b_hh]) for _, _, b_ih, b_hh in per_dir])
    return W, R, B


def _layer_attrs(rnn) -> dict:
    op = _OP[rnn.cell.gates]
    attrs = {"hidden_size": rnn.hidden_size, "direction": "bidirectional" if rnn.bidirectional else "forward"}
    if op == "GRU":
        attrs["linear_before_reset"] = int(rnn.reset_after)
    if op == "RNN":
        attrs["activations"] = [rnn.nonlinearity.capitalize()] * rnn.num_directions
    return attrs


def _layer_rows(g: Graph, state: str | None, layer: int, K: int) -> str:
    """Rows layer·K … layer·K + K−1 of an (L·K, B, H) state ("" if there is none)."""
    if not state:
        return ""
    starts, ends, axes = (g.const(n, np.array([v], np.int64)) for n, v in
                          (("starts", layer * K), ("ends", (layer + 1) * K), ("axes", 0)))
    return g.op("Slice", [state, starts, ends, axes])                               # (K, B, H)


def recurrent(g: Graph, rnn, x: str, seq_lens: str | None = None, initial: tuple = (None, None)) -> Stack:
    """x (B, T, D) -> the stack's outputs; ``seq_lens`` an int32 (B,) name or None (full length);
    ``initial`` the names of (h_0, c_0), each (L·K, B, H) or None (zeros)."""
    refuse_variants(rnn, "ONNX export", allowed=("peephole", "recurrent_dropout", "weight_drop", "merge_mode"))
    op, L, K = _OP[rnn.cell.gates], rnn.num_layers, rnn.num_directions
    inp = g.op("Transpose", [x], perm=[1, 0, 2])                                  # (T, B, D)
    h_parts, c_parts = [], []
    for layer in range(L):
        W, R, B = (g.const(f"{n}_l{layer}", a) for n, a in zip("WRB", layer_weights(rnn, layer)))
        ins = [inp, W, R, B, seq_lens or "", _layer_rows(g, initial[0], layer, K)]
        if op == "LSTM":
            ins.append(_layer_rows(g, initial[1], layer, K))
            ins.append(g.const(f"P_l{layer}", peepholes(rnn, layer)) if rnn.variants.peephole else "")
        while ins[-1] == "":                                                       # trailing optional inputs
            ins.pop()
        outs = g.op(op, ins, n_out=3 if op == "LSTM" else 2, **_layer_attrs(rnn))
        y = g.op("Transpose", [outs[0]], perm=[0, 2, 1, 3])                       # (T, K, B, H) -> (T, B, K, H)
        inp = merged(g, y, rnn.merge_mode if K == 2 else "concat")
        h_parts.append(outs[1])
        if op == "LSTM":
            c_parts.append(outs[2])

    def stacked(parts):
        return parts[0] if L == 1 else g.op("Concat", parts, axis=0)             # (L·K, B, H)

    output = g.op("Transpose", [inp], perm=[1, 0, 2])                             # (B, T, K·H)
    return Stack(output, stacked(h_parts), stacked(c_parts) if c_parts else None, h_parts[-1])


def final_state(g: Graph, stack: Stack) -> str:
    """[h_T→ ; h_1←] of the top layer: (K, B, H) -> (B, K·H)."""
    h = g.op("Transpose", [stack.top_h], perm=[1, 0, 2])                          # (B, K, H)
    return g.op("Reshape", [h, g.const("shape_b", np.array([0, -1], np.int64))])


def linear(g: Graph, lin, x: str) -> str:
    """x (..., D) -> x Wᵀ + b (..., M)."""
    weight = lin.weight if hasattr(lin, "tied") else lin.params["weight"]   # a tied head: the embedding matrix
    y = g.op("MatMul", [x, g.const("head_weight_t", weight.T)])
    return g.op("Add", [y, g.const("head_bias", lin.params["bias"])]) if "bias" in lin.params else y


def probabilities(g: Graph, z: str, binary: bool = False) -> str:
    """Softmax over the last axis, or [1 − σ(z), σ(z)] of a (B, 1) binary logit."""
    if not binary:
        return g.op("Softmax", [z], axis=-1)
    p1 = g.op("Sigmoid", [z])
    return g.op("Concat", [g.op("Sub", [g.const("one", np.ones(1, np.float32)), p1]), p1], axis=-1)


def state_inputs(g: Graph, rnn) -> tuple[str, str | None]:
    """Graph inputs h0 [and c0] (L·K, B, H): the initial state of a stack."""
    shape = [rnn.num_layers * rnn.num_directions, "B", rnn.hidden_size]
    return g.input("h0", "FLOAT", shape), g.input("c0", "FLOAT", shape) if rnn.cell.n_states == 2 else None


def state_outputs(g: Graph, rnn, stack: Stack) -> None:
    """Graph outputs h_n [and c_n] (L·K, B, H): the final state of a stack."""
    shape = [rnn.num_layers * rnn.num_directions, "B", rnn.hidden_size]
    g.output("h_n", stack.h_n, shape)
    if stack.c_n is not None:
        g.output("c_n", stack.c_n, shape)


def sequence_input(g: Graph, model, lengths: bool) -> tuple[str, str | None]:
    """The graph inputs of a sequence model: ids or features (embedded if needed), and int32 lengths."""
    emb = getattr(model, "embedding", None)
    if emb is not None:
        x = embedding(g, emb, g.input("ids", "INT64", ["B", "T"]))
    else:
        x = g.input("x", "FLOAT", ["B", "T", model.rnn.input_size])
    return x, lengths_input(g) if lengths else None


def lengths_input(g: Graph) -> str:
    """Graph input ``lengths`` (B,) int64, cast to the int32 ``sequence_lens`` ONNX wants."""
    return g.op("Cast", [g.input("lengths", "INT64", ["B"])], to=g.onnx.TensorProto.INT32)


# -- one function per model kind -----------------------------------------------------------------------------------


class Options(NamedTuple):
    """What the caller asked of the graph."""

    lengths: bool         # a ``lengths`` (B,) input
    probabilities: bool   # a ``probabilities`` output
    state: bool           # initial-state inputs h0 [, c0] and final-state outputs h_n [, c_n]


def head_outputs(g: Graph, model, z: str, shape: list, probs: bool, binary: bool = False) -> None:
    """Graph outputs ``logits`` z (shape) and, if ``probs``, ``probabilities``."""
    g.output("logits", z, shape)
    if probs:
        g.output("probabilities", probabilities(g, z, binary), shape[:-1] + [2 if binary else shape[-1]])


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
