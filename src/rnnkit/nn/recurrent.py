"""Stacked and bidirectional recurrent layers: ``RNN``, ``LSTM``, ``GRU``.

Legend: B batch, T time steps, D input features, H hidden units, L layers,
K = 2 if bidirectional else 1 (directions).

The API is batch-first, x (B, T, D) -> out (B, T, K·H); states are
(L·K, B, H), layer-major with the forward direction before the reverse one,
exactly as PyTorch orders ``h_n``. Parameters carry PyTorch's names and
shapes (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``..._reverse``), so ``state_dict``s move between the two unchanged.

Layer l > 0 takes the outputs of both directions of layer l−1, joined by
``merge_mode`` (concatenated by default), after inverted dropout (training
mode only). The cell variants (``proj_size``, ``peephole``, ``layer_norm``,
``recurrent_dropout``, ``weight_drop``, ``zoneout``, ``merge_mode``) are
described, with their parameter names, in :mod:`rnnkit.nn.variants`; with a
projection, h and the outputs have P = proj_size units per direction.

The time loop itself lives in :mod:`rnnkit.functional.recurrent`; each layer and direction keeps its
per-sequence buffers there between calls (a ``workspace``), so a training
step reuses memory instead of having the OS map and zero it again; the
arrays ``forward``, ``backward`` and ``step`` return are never views of them.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from rnnkit._checks import check_array, check_lengths
from rnnkit._fast import loops_compiled, loops_compiled_for
from rnnkit.functional.batch_parts import layer_backward, parts_for, parts_forward
from rnnkit.functional.cell import Cell
from rnnkit.functional.dropout import dropout_backward, dropout_forward
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.gru_variants import gru_layer_norm_cell
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.lstm_variants import lstm_variant_cell
from rnnkit.functional.merge import merge_backward, merge_forward
from rnnkit.functional.recurrent import RecurrentCache, recurrent_forward
from rnnkit.functional.recurrent_noise import weight_drop_backward, weight_drop_forward
from rnnkit.functional.rnn import rnn_cell
from rnnkit.nn.conversions import conversion
from rnnkit.nn.init import recurrent_weights
from rnnkit.nn.module import Module
from rnnkit.nn.stepping import Stepping
from rnnkit.nn.variants import check_variants, extra_init, extra_shapes, noisy_cell, variant_hint

KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
LOOP_KEYS = ("w_ih", "w_hh", "b_ih", "b_hh")  # the same four, as the layer over time names their gradients
FAMILIES = {4: "lstm", 3: "gru", 1: "rnn"}      # by gate count


class Recurrent(Stepping, Module):
    """A stack of recurrent layers of one cell type (base of RNN, LSTM, GRU)."""

    def __init__(self, cell: Cell, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, dtype="float32",
                 seed: int | None = None, init: str = "torch", forget_gate: int | None = None,
                 variants: dict | None = None):
        super().__init__(dtype)
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, given {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout: expected a probability in [0, 1), given {dropout!r}")
        self.cell, self.input_size, self.hidden_size = cell, int(input_size), int(hidden_size)
        self.num_layers, self.bidirectional, self.dropout = int(num_layers), bool(bidirectional), float(dropout)
        self.num_directions = 2 if bidirectional else 1
        variants = check_variants(FAMILIES[cell.gates], self.hidden_size, **(variants or {}))
        self.variants, self.output_size = variants, variants.proj_size or self.hidden_size
        self._variant_cell = self._make_variant_cell()
        self.rng = np.random.default_rng(seed)
        self._cache = None
        self._workspaces = [{} for _ in range(self.num_layers * self.num_directions)]  # buffers kept between calls
        # [layer][direction] -> the names of (weight_ih, weight_hh, bias_ih, bias_hh), and {kind: name} of the
        # variant's further parameters, made once
        self._names = [[tuple(self._name(k, layer, d) for k in KINDS) for d in range(self.num_directions)]
                       for layer in range(self.num_layers)]
        extra = extra_shapes(variants, cell.gates, self.hidden_size)
        self._extra_names = [[{k: self._name(k, layer, d) for k in extra} for d in range(self.num_directions)]
                             for layer in range(self.num_layers)]
        self._no_bias = np.zeros(cell.gates * self.hidden_size, self.dtype)  # layer norm: β_ih, β_hh are the biases
        self._no_bias.flags.writeable = False
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                w = recurrent_weights(self.rng, init, cell.gates, self.layer_input_size(layer), self.hidden_size,
                                      forget_gate)
                if variants.proj_size:  # W_hh (G·H, P): redrawn as PyTorch draws it, U(−1/√H, 1/√H)
                    w = (w[0], extra_init(self.rng, "weight_hh", (w[1].shape[0], variants.proj_size),
                                          self.hidden_size), *w[2:])
                for name, value in zip(self._names[layer][direction], w):
                    if not (variants.layer_norm and name.startswith("bias")):
                        self.add_param(name, value)
                for kind, name in self._extra_names[layer][direction].items():
                    self.add_param(name, extra_init(self.rng, kind, extra[kind], self.hidden_size))

    def layer_input_size(self, layer: int) -> int:
        """The input width of layer ``layer``: the stack's input, or the merged outputs of the layer below."""
        if layer == 0:
            return self.input_size
        return self.output_size * (self.num_directions if self.variants.merge_mode == "concat" else 1)

    @property
    def output_width(self) -> int:
        """The width of ``forward``'s output: K·H (K·P with a projection), or H (P) when merged by sum, mul, ave."""
        return self.layer_input_size(1)

    @property
    def proj_size(self) -> int:
        return self.variants.proj_size

    @property
    def merge_mode(self) -> str:
        return self.variants.merge_mode

    def _make_variant_cell(self) -> Cell | None:
        """The variant cell this stack's options call for, or None (the plain cell)."""
        v = self.variants
        if self.cell.gates == 4 and (v.proj_size or v.peephole or v.layer_norm):
            return lstm_variant_cell(bool(v.proj_size), v.peephole, v.layer_norm)
        if v.recurrent_dropout and self.cell.name == "gru_reset_before":
            raise ValueError("recurrent_dropout: the GRU takes it in PyTorch's reset-after form; "
                             "use reset_after=True")
        if v.layer_norm:
            return gru_layer_norm_cell(self.cell.name == "gru")
        return None

    def __repr__(self):
        extra = ", bidirectional=True" if self.bidirectional else ""
        extra += f", dropout={self.dropout}" if self.dropout else ""
        extra += "".join(f", {k}={v!r}" for k, v in self.variants.given().items())
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
                f"{extra}, cell={self.cell.name!r}, dtype={self.dtype.name})")

    @staticmethod
    def _name(kind: str, layer: int, direction: int) -> str:
        return f"{kind}_l{layer}" + ("_reverse" if direction else "")

    def load_state_dict(self, state_dict) -> None:
        """As :meth:`Module.load_state_dict`; a mismatch in a variant's tensors also names its option."""
        try:
            super().load_state_dict(state_dict)
        except ValueError as exc:
            names = set(self.params) ^ set(state_dict)
            hint = variant_hint(names)
            if not hint and any(name.startswith("bias_") for name in names):
                hint = " (bias_ih / bias_hh: a layer_norm stack has none)"
            raise ValueError(f"{exc}{hint}") from None

    def _weights(self, layer: int, direction: int):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (zero biases with layer norm)."""
        return tuple(self.params.get(name, self._no_bias) for name in self._names[layer][direction])

    def _extra(self, layer: int, direction: int) -> tuple:
        """A variant cell's further parameters, in the order of its ``extra``."""
        names = self._extra_names[layer][direction]
        return tuple(self.params[names[k]] for k in self._variant_cell.extra) if self._variant_cell else ()

    def _layer_cell(self, training: bool, batch: int, steps: int | None) -> Cell:
        """The cell one layer and direction runs for one call (noise drawn for it in training)."""
        cell = self._variant_cell or self.cell
        if not self._noisy(training):
            return cell
        return noisy_cell(cell, self.variants, self.rng, training, (self.output_size, self.hidden_size)[:cell.n_states],
                          batch, steps, self.dtype)

    def _noisy(self, training: bool) -> bool:
        """Whether the cell draws noise for a call: zoneout always, recurrent dropout in training."""
        v = self.variants
        return bool(v.zoneout or (v.recurrent_dropout and training))

    # -- other frameworks' weights (conversions of rnnkit.interop, found through rnnkit.nn.conversions)
    @classmethod
    def from_torch_state_dict(cls, source, prefix: str | None = None, nonlinearity: str = "tanh", dtype=None):
        """A stack holding a ``torch.nn.RNN/LSTM/GRU``'s weights: ``source`` a safetensors file or a dict of
        arrays; sizes are read off the tensors (see :func:`rnnkit.interop.recurrent_from_torch`)."""
        owner = None if cls is Recurrent else cls
        return conversion("recurrent_from_torch")(source, owner, prefix, nonlinearity, dtype)

    @classmethod
    def from_keras_weights(cls, weights, nonlinearity: str = "tanh", dtype=None, **variants):
        """A stack holding Keras 3 ``layer.get_weights()`` (one layer's list or a list of them;
        see :func:`rnnkit.interop.recurrent_from_keras` for the layouts and the variants it takes)."""
        return conversion("recurrent_from_keras")(weights, None if cls is Recurrent else cls, nonlinearity, dtype,
                                                  **variants)

    def to_keras_weights(self) -> list:
        """One Keras ``get_weights()`` list per layer (see :func:`rnnkit.interop.to_keras_weights`)."""
        return conversion("to_keras_weights")(self)

    # -- states: public (L·K, B, H) arrays <-> internal list of per-layer tuples
    def _unpack_state(self, state, batch: int, name: str = "state") -> list[tuple]:
        """Validate a public state and split it into L·K tuples of (B, H) arrays."""
        parts = self._state_arrays(state, batch, name)
        return [tuple(p[k] for p in parts) for k in range(parts[0].shape[0])]

    def _state_arrays(self, state, batch: int, name: str = "state", finite: bool = True) -> list[np.ndarray]:
        """A public state validated: its (L·K, B, H) arrays (h, or h and c), zeros when it is None; with
        ``finite`` False its values are left for the caller to test (:meth:`Stepping.step`'s compiled call)."""
        LK, n = self.num_layers * self.num_directions, self.cell.n_states
        shapes = [(LK, batch, w) for w in (self.output_size, self.hidden_size)[:n]]  # h is P wide with a projection
        if state is None:
            parts = [np.zeros(shape, dtype=self.dtype) for shape in shapes]
        elif n == 1:
            parts = [check_array(name, state, shapes[0], self.dtype, finite)]
        else:
            if not isinstance(state, (tuple, list)) or len(state) != n:
                raise ValueError(f"{name}: expected a tuple (h, c) of arrays of shapes {shapes[0]} and {shapes[1]}, "
                                 f"given {type(state).__name__}")
            parts = [check_array(f"{name}[{i}]", s, shape, self.dtype, finite)
                     for i, (s, shape) in enumerate(zip(state, shapes))]
        return parts

    def _pack_state(self, states: list[tuple]):
        parts = [np.stack([s[i] for s in states]) for i in range(self.cell.n_states)]
        return parts[0] if self.cell.n_states == 1 else tuple(parts)

    # -- forward / backward over whole sequences
    def forward(self, x, state=None, lengths=None):
        """Run the stack over a batch of sequences.

        Args:
            x: (B, T, D) inputs, batch-first.
            state: initial state, (L·K, B, H) — ``(h_0, c_0)`` for LSTM —
                or None for zeros.
            lengths: (B,) lengths of right-padded sequences, or None when
                all have length T. Padded steps output zeros; the final state
                is taken at each sequence's last real step.

        Returns:
            out (B, T, K·H) (H: proj_size with a projection; K·H becomes H with
            merge_mode sum, mul or ave) and the final state (same form as ``state``).
        """
        x = check_array("x", x, (None, None, self.input_size), self.dtype)
        B, T, _ = x.shape
        if B == 0 or T == 0:
            raise ValueError(f"x: expected at least one sequence and one time step, given shape {x.shape}")
        lengths = check_lengths(lengths, B, T)
        states = self._unpack_state(state, B)
        inp, finals, caches, drops, merges, wd = x.transpose(1, 0, 2), [], [], [], [], []
        for layer in range(self.num_layers):
            i, runs = layer * self.num_directions, []
            for d in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                w_hh, mask = weight_drop_forward(w_hh, self.variants.weight_drop, self.rng, self.training)
                wd.append(mask)
                cell = self._layer_cell(self.training, B, T)
                # parts of the batch at once (functional.batch_parts); else two directions at once
                parts = parts_for(cell, inp, self.num_directions)
                extra = {"parts": parts} if parts > 1 else {"extra": self._extra(layer, d)}
                runs.append(partial(parts_forward if parts > 1 else recurrent_forward, cell, inp, states[i + d],
                                    w_ih, w_hh, b_ih, b_hh, lengths, reverse=d == 1,
                                    workspace=self._workspaces[i + d], **extra))
            outs = []
            pair = parts == 1 and cell.sequence_forward is not None           # both directions split alike
            for out, final, cache in self._directions(runs, inp, pair):
                outs.append(out)
                finals.append(final)
                caches.append(cache)
            inp, merge_cache = merge_forward(outs, self.variants.merge_mode)
            merges.append(merge_cache)
            if layer < self.num_layers - 1:
                inp, drop_cache = dropout_forward(inp, self.dropout, self.rng, self.training)
                drops.append(drop_cache)
        self._cache = (caches, drops, merges, wd, x.shape, inp.shape[-1])
        return inp.transpose(1, 0, 2).copy(), self._pack_state(finals)  # a copy: inp may be a workspace buffer

    def backward(self, dout, dstate=None):
        """Backpropagation through time for the last :meth:`forward`.

        Args:
            dout: (B, T, K·H) gradient of the outputs.
            dstate: gradient of the final state (same form as the state), or
                None when no gradient reaches it.

        Returns:
            dx (B, T, D) and the gradient of the initial state. Parameter
            gradients are added into ``self.grads``.
        """
        if self._cache is None:
            raise RuntimeError("backward: call forward first (each forward allows one backward)")
        caches, drops, merges, wd, (B, T, _), width = self._cache
        dout = check_array("dout", dout, (B, T, width), self.dtype)
        dfinals = self._unpack_state(dstate, B, "dstate")
        K = self.num_directions
        d, dstates0 = dout.transpose(1, 0, 2), [None] * len(caches)
        for layer in reversed(range(self.num_layers)):
            if layer < self.num_layers - 1:
                d = dropout_backward(d, drops[layer])
            dinp = 0
            i = layer * K
            runs = [partial(layer_backward, dk, dfinals[i + k], caches[i + k])
                    for k, dk in enumerate(merge_backward(d, merges[layer]))]
            pair = isinstance(caches[i], RecurrentCache) and caches[i].cell.sequence_forward is not None
            for k, (dx, dstate0, g) in enumerate(self._directions(runs, d, pair)):
                dstates0[i + k] = dstate0
                dinp = dinp + dx
                g["w_hh"] = weight_drop_backward(g["w_hh"], wd[i + k])
                for name, key in zip(self._names[layer][k], LOOP_KEYS):
                    if name in self.grads:
                        self.grads[name] += g[key]
                for kind, name in self._extra_names[layer][k].items():
                    self.grads[name] += g[kind]
            d = dinp
        self._cache = None
        return np.ascontiguousarray(d.transpose(1, 0, 2)), self._pack_state(dstates0)

    def runs_compiled_loops(self) -> bool:
        """Whether forward and backward run the compiled whole-sequence loops (float32, numba, a cell
        without variants), which split the batch over the cores or run the directions side by side."""
        plain = self._variant_cell is None and not self._noisy(training=True)
        return plain and self.cell.sequence_forward is not None and loops_compiled_for(self.dtype)

    def _directions(self, runs: list, like: np.ndarray, pair: bool) -> list:
        """The results of one layer's directions: the two of a bidirectional layer at the same time
        when ``pair`` (each runs a cell's compiled whole-sequence loops over the whole batch; see
        :mod:`rnnkit._fast.parallel`), else one by one (each split over the cores itself, or not at all)."""
        if len(runs) == 2 and pair and loops_compiled(like):
            from rnnkit._fast import parallel  # ctypes and a thread pool: loaded by the first bidirectional layer
            return parallel.run_all(*runs)
        return [run() for run in runs]


class RNN(Recurrent):
    """Elman RNN: h_t = f(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), f = tanh or relu.

    Example::

        >>> import numpy as np, rnnkit as rk
        >>> rnn = rk.RNN(32, 64, nonlinearity="tanh", seed=0)
        >>> out, h_n = rnn.forward(np.zeros((8, 100, 32)))
        >>> out.shape, h_n.shape
        ((8, 100, 64), (1, 8, 64))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bidirectional=False,
                 dropout=0.0, dtype="float32", seed=None, init="torch", **variants):
        super().__init__(rnn_cell(nonlinearity), input_size, hidden_size, num_layers, bidirectional,
                         dropout, dtype, seed, init, variants=variants)
        self.nonlinearity = nonlinearity


class LSTM(Recurrent):
    """Long short-term memory, gates i, f, g, o (see :mod:`rnnkit.functional.lstm`).

    The state is a tuple ``(h, c)``. Variants (keyword options, see :mod:`rnnkit.nn.variants`):
    ``proj_size``, ``peephole``, ``layer_norm``, ``recurrent_dropout``, ``weight_drop``,
    ``zoneout``, ``merge_mode``.

    Example::

        >>> import numpy as np, rnnkit as rk
        >>> lstm = rk.LSTM(32, 64, num_layers=2, bidirectional=True, seed=0)
        >>> out, (h_n, c_n) = lstm.forward(np.zeros((8, 100, 32)), lengths=[100] * 4 + [60] * 4)
        >>> out.shape, h_n.shape
        ((8, 100, 128), (4, 8, 64))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, dropout=0.0,
                 dtype="float32", seed=None, init="torch", **variants):
        super().__init__(LSTM_CELL, input_size, hidden_size, num_layers, bidirectional, dropout,
                         dtype, seed, init, forget_gate=1, variants=variants)


class GRU(Recurrent):
    """Gated recurrent unit, gates r, z, n (see :mod:`rnnkit.functional.gru`).

    ``reset_after=True`` is PyTorch's/cuDNN's/Keras' form, ``False`` the
    textbook form of the notes (reset applied before the recurrent product).
    Variants: ``layer_norm``, ``weight_drop``, ``zoneout``, ``merge_mode`` (see :mod:`rnnkit.nn.variants`).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False, dropout=0.0,
                 dtype="float32", seed=None, init="torch", reset_after=True, **variants):
        super().__init__(gru_cell(reset_after), input_size, hidden_size, num_layers, bidirectional,
                         dropout, dtype, seed, init, variants=variants)
        self.reset_after = bool(reset_after)
