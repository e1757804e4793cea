"""The cell variants in an ONNX graph: the LSTM's peepholes (its input P) and the bidirectional merge modes.

Legend: T time steps, B batch, H hidden units, K directions. Used by
:func:`rnnkit.interop.onnx_graph.recurrent`; the variants ONNX's operators
cannot compute are refused there by name.
"""
from __future__ import annotations

import numpy as np


def peepholes(rnn, layer: int) -> np.ndarray:
    """P (K, 3·H) of one layer: each direction's ``peephole_l{k}`` [p_i, p_f, p_o] reordered to ONNX's i, o, f."""
    H = rnn.hidden_size
    per_dir = [rnn.params[rnn._extra_names[layer][d]["peephole"]].reshape(3, H)[[0, 2, 1]].reshape(-1)
               for d in range(rnn.num_directions)]
    return np.stack(per_dir)


def merged(g, y: str, mode: str) -> str:
    """In the :class:`~rnnkit.interop.onnx_graph.Graph` g, a layer's output y (T, B, K, H) with its
    directions joined as ``merge_mode`` says: (T, B, K·H) for concat, else (T, B, H) (see
    :mod:`rnnkit.functional.merge`)."""
    if mode == "concat":
        return g.op("Reshape", [y, g.const("shape_tb", np.array([0, 0, -1], np.int64))])
    fwd, bwd = (g.op("Gather", [y, g.const(f"direction_{k}", np.array(k, np.int64))], axis=2) for k in (0, 1))
    if mode == "mul":
        return g.op("Mul", [fwd, bwd])
    total = g.op("Add", [fwd, bwd])
    return g.op("Mul", [total, g.const("half", np.array(0.5, np.float32))]) if mode == "ave" else total
