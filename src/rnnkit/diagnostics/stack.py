"""The recurrent stack laid open: one layer's weights, and every layer's functional caches.

Legend: B batch, T time steps, D input features, H hidden units, G gates.

The diagnostics need what :class:`rnnkit.nn.recurrent.Recurrent` keeps to
itself: the per-step caches of each layer (activated gates, states) and the
weights of one layer as plain arrays. Both come from the same functional
core the module runs, :func:`rnnkit.functional.recurrent.recurrent_forward`,
called here layer by layer with the module's own parameters (inference:
no dropout, no workspace, so every cache is a fresh array), so the numbers
are what the model computes.

A vanilla RNN with the identity as its activation, h_t = x_t W_ihᵀ + b_ih +
h_{t−1} W_hhᵀ + b_hh, is here too (:func:`linear_rnn_cell`): for it
∂h_T/∂h_k = W_hh^{T−k} exactly, which makes it the reference the theory of
vanishing and exploding gradients (notes 002) is stated for.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.functional.cell import Cell
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.recurrent import RecurrentCache, recurrent_forward
from rnnkit.functional.rnn import RNNCache, rnn_cell, rnn_sequence_cache
from rnnkit.nn.init import recurrent_weights
from rnnkit.nn.recurrent import Recurrent

# the H×H blocks of W_hh, in the order the cell slices the fused matrix
GATE_NAMES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def _linear_step_forward(xw, state, w_hh, b_hh, out=None):
    """h_t = xw_t + h_{t−1} W_hhᵀ + b_hh (no activation)."""
    (h_prev,) = state
    h = np.empty_like(h_prev) if out is None else out[0][0]
    np.matmul(h_prev, w_hh.T, out=h)
    h += xw
    h += b_hh
    return (h,), RNNCache(h_prev, h)


def _linear_step_backward(dstate, cache, w_hh, out=None):
    """da = dh (the identity's derivative is 1), dh_{t−1} = da W_hh."""
    (dh,) = dstate
    da, (dh_prev,) = out if out is not None else (np.empty_like(dh), (np.empty_like(dh),))
    np.copyto(da, dh)
    np.matmul(da, w_hh, out=dh_prev)
    return da, (dh_prev,)


def linear_rnn_cell() -> Cell:
    """The vanilla RNN cell with the identity activation (a diagnostic reference, not a model)."""
    return Cell("rnn_linear", 1, 1, _linear_step_forward, _linear_step_backward, rnn_sequence_cache)


CELL_CHOICES = ("rnn", "rnn_relu", "rnn_linear", "lstm", "gru")


def cell_of(name: str) -> Cell:
    """The functional cell called ``name`` (one of :data:`CELL_CHOICES`)."""
    cells = {"rnn": lambda: rnn_cell("tanh"), "rnn_relu": lambda: rnn_cell("relu"), "rnn_linear": linear_rnn_cell,
             "lstm": lambda: LSTM_CELL, "gru": lambda: gru_cell(True)}
    if name not in cells:
        raise RnnkitError(f"--cell: expected some of {', '.join(CELL_CHOICES)}; given {name!r}")
    return cells[name]()


def family(cell: Cell) -> str:
    """"rnn", "lstm" or "gru": which gate names apply."""
    return "lstm" if cell.name == "lstm" else "gru" if cell.name.startswith("gru") else "rnn"


@dataclass(frozen=True)
class Layer:
    """One recurrent layer in one direction: its cell and float64 weights in PyTorch's layout
    (w_ih (G·H, D), w_hh (G·H, H), b_ih, b_hh (G·H,))."""

    cell: Cell
    w_ih: np.ndarray
    w_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray

    @property
    def hidden(self) -> int:
        return self.w_hh.shape[1]

    def scaled(self, scale: float) -> Layer:
        """The same layer with W_hh multiplied by ``scale`` (every gate block)."""
        return replace(self, w_hh=self.w_hh * scale)

    def forward(self, x: np.ndarray, state0: tuple | None = None):
        """x (T, B, D) time-major -> (out (T, B, H), final state, RecurrentCache)."""
        if state0 is None:
            zeros = np.zeros((x.shape[1], self.hidden))
            state0 = (zeros,) * self.cell.n_states
        return recurrent_forward(self.cell, x, state0, self.w_ih, self.w_hh, self.b_ih, self.b_hh)


def fresh_layer(cell: str, hidden: int, input_size: int, seed: int = 0, init: str = "torch") -> Layer:
    """A freshly initialised layer as the modules initialise it (``init`` "torch" or "keras")."""
    c = cell_of(cell)
    forget_gate = 1 if c.name == "lstm" else None
    w = recurrent_weights(np.random.default_rng(seed), init, c.gates, input_size, hidden, forget_gate)
    return Layer(c, *(np.asarray(a, dtype=np.float64) for a in w))


def module_layer(rnn: Recurrent, layer: int, direction: int = 0) -> Layer:
    """Layer ``layer`` (direction 0 forward, 1 reverse) of a module, as float64 arrays."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    w = [rnn.params[kind + suffix].astype(np.float64) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return Layer(rnn.cell, *w)


class LayerRun(NamedTuple):
    """What one layer and direction computed: its input, output and the functional cache."""

    layer: int
    direction: int
    x: np.ndarray               # (T, B, D) input, time-major
    out: np.ndarray             # (T, B, H)
    final: tuple                # the final state (h_T,) or (h_T, c_T), each (B, H)
    cache: RecurrentCache       # cache.steps: the cell's per-step cache, fields (T, B, ·)


def initial_states(rnn: Recurrent, state0, batch: int) -> list[tuple]:
    """One float64 state tuple ((B, H),) or ((B, H), (B, H)) per layer and direction (index layer·K + d)
    from a module's state (L·K, B, H) (a tuple (h, c) for LSTM), or zeros when ``state0`` is None."""
    LK, n = rnn.num_layers * rnn.num_directions, rnn.cell.n_states
    if state0 is None:
        return [(np.zeros((batch, rnn.hidden_size)),) * n] * LK
    parts = state0 if isinstance(state0, tuple) else (state0,)
    if len(parts) != n or any(np.shape(p) != (LK, batch, rnn.hidden_size) for p in parts):
        raise RnnkitError(f"state0: expected {n} array(s) of shape {(LK, batch, rnn.hidden_size)}, given "
                          f"{[np.shape(p) for p in parts]}")
    return [tuple(np.asarray(p[i], dtype=np.float64) for p in parts) for i in range(LK)]


def run_stack(rnn: Recurrent, x: np.ndarray, state0=None) -> list[LayerRun]:
    """Run every layer of ``rnn`` over x (B, T, D) (batch-first, float64, no dropout, every sequence of
    length T) from ``state0`` (the module's state form, None for zeros); one :class:`LayerRun` per layer
    and direction, bottom first."""
    inp, runs = np.ascontiguousarray(np.asarray(x, dtype=np.float64).transpose(1, 0, 2)), []
    states = initial_states(rnn, state0, inp.shape[1])
    for layer in range(rnn.num_layers):
        outs = []
        for d in range(rnn.num_directions):
            lay = module_layer(rnn, layer, d)
            s0 = states[layer * rnn.num_directions + d]
            out, final, cache = recurrent_forward(lay.cell, inp, s0, lay.w_ih, lay.w_hh, lay.b_ih, lay.b_hh,
                                                  reverse=d == 1)
            runs.append(LayerRun(layer, d, inp, np.array(out), tuple(np.array(f) for f in final), cache))
            outs.append(np.array(out))
        inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)
    return runs


def top_layer(rnn: Recurrent, x: np.ndarray) -> tuple[Layer, np.ndarray]:
    """The top layer's forward direction and its input (T, B, D'), the lower layers' outputs."""
    runs = run_stack(rnn, x)
    top = next(r for r in runs if r.layer == rnn.num_layers - 1 and r.direction == 0)
    return module_layer(rnn, top.layer, 0), top.x


def weight_stats(layer: Layer) -> dict[str, tuple[float, float]]:
    """{gate: (spectral radius ρ, largest singular value σ_max)} of each H×H block of W_hh."""
    H, stats = layer.hidden, {}
    for k, gate in enumerate(GATE_NAMES[family(layer.cell)]):
        block = layer.w_hh[k * H:(k + 1) * H]
        stats[gate] = (float(np.abs(np.linalg.eigvals(block)).max()), float(np.linalg.norm(block, 2)))
    return stats
