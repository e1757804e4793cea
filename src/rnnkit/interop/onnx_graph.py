"""The pieces of an ONNX graph: each adds nodes to a :class:`Graph` and returns the names of its outputs.

Legend: B batch, T time steps, V vocabulary, E embedding, D features, H hidden,
L layers, K directions, G gates, M outputs. ``onnx`` is imported only when a
graph is built (``pip install 'rnnkit[onnx]'``); :mod:`rnnkit.interop.onnx_export`
chains these pieces into one graph per model kind.

    embedding     Gather(E, ids)                       ids (B, T) int64 -> (B, T, E)
    recurrent     one ONNX LSTM/GRU/RNN node per layer x (B, T, D) -> out (B, T, K·H), h_n (L·K, B, H) [, c_n]
    final_state   the top layer's Y_h, directions joined  -> (B, K·H)
    linear        MatMul(x, Wᵀ) + b                     (..., D) -> (..., M)
    probabilities Softmax(z) or [1 − σ(z), σ(z)]        (..., M) -> (..., M | 2)

ONNX's recurrent operators are used time-major (``layout=0``; onnxruntime's
CPU kernels refuse the batch-major ``layout=1``): X (T, B, D), Y (T, K, B, H),
Y_h (K, B, H), so ``recurrent`` transposes the batch-first tensors in and out.
Per layer, W (K, G·H, D), R (K, G·H, H) and B (K, 2·G·H) = [b_ih, b_hh] stack
the directions; the gate blocks are reordered from PyTorch's order to ONNX's:

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
"""
from __future__ import annotations

from typing import NamedTuple

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
