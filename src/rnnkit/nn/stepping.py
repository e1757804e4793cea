"""One time step at a time, for generation: :meth:`Stepping.step` and the sampler's
:meth:`Stepping.step_draw`, methods of every :class:`rnnkit.nn.recurrent.Recurrent`.

Legend: L layers, B batch, D input features, H hidden units (h is P wide with a projection).
Each layer runs its cell's step, h_t^(l) = cell(x_t^(l) W_ihᵀ + b_ih, h_{t−1}^(l)), with
x_t^(l) = h_t^(l−1) and x_t^(1) = x_t: inference, so no cache and no dropout. A stack of plain
LSTM layers with ``rnnkit[fast]`` takes the whole step in one compiled call
(:func:`rnnkit.functional.lstm.lstm_stack_step`); at batch 1 that call is bound by reading the
weights, and the Python around it is what is left to save.
"""
from __future__ import annotations

import numpy as np

from rnnkit._checks import check_array
from rnnkit._fast import loops_compiled_for
from rnnkit.functional.lstm import LSTM_CELL, lstm_stack_draw, lstm_stack_step


class Stepping:
    """Generation's step methods; the host is a :class:`rnnkit.nn.recurrent.Recurrent`."""

    def step(self, x_t, state=None):
        """Advance every layer by one time step (inference: no cache, no dropout).

        Args:
            x_t: (B, D) input at this step.
            state: (L, B, H) state — ``(h, c)`` for LSTM — or None for zeros.

        Returns:
            y_t (B, H) (P with a projection), the top layer's output, and the new state.
        """
        x_t, parts, new = self._step_arrays(x_t, state)
        layers = self._lstm_layers()
        bad = None if layers is None else lstm_stack_step(x_t, parts, layers, new)
        self._check_finite(x_t, state, bad)
        if bad is not None:
            return new[0][-1].copy(), new
        cell = self._layer_cell(False, x_t.shape[0], None)
        states = [tuple(p[k] for p in parts) for k in range(self.num_layers)]
        inp = x_t
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._weights(layer, 0)
            xw = inp @ w_ih.T
            xw += b_ih
            s, _ = cell.step_forward(xw, states[layer], w_hh, b_hh, *self._extra(layer, 0))
            for part, value in zip(new, s):
                part[layer] = value
            inp = s[0]
        return inp, new[0] if self.cell.n_states == 1 else new

    def step_draw(self, x_t, state, head: tuple, temperature: float, u: float):
        """:meth:`step` at batch 1, a head's logits z = y_t Wᵀ + b and the index drawn from
        softmax(z / temperature) by the inverse CDF at u ∈ [0, 1) (:func:`rnnkit.sampling.draw`),
        in one compiled call: the sampler's hot path.

        Args:
            x_t: (1, D) input; state as for :meth:`step`.
            head: (W (V, H), b (V,)), the output layer's weight and bias.
            temperature: > 0; u: a uniform draw in [0, 1), e.g. ``rng.random()``.

        Returns:
            (index, new state), or None where there is no such call (not a stack of plain LSTM
            layers, not float32, or no ``rnnkit[fast]``), before any argument is checked: then
            :meth:`step`, the head and ``draw`` do it.
        """
        if not (temperature > 0 and 0 <= u < 1):
            raise ValueError(f"step_draw: expected temperature > 0 and u in [0, 1), given {temperature!r} and {u!r}")
        layers = self._lstm_layers()
        if layers is None:
            return None
        x_t, parts, new = self._step_arrays(x_t, state)
        if x_t.shape[0] != 1:
            raise ValueError(f"x_t: step_draw draws for one sequence: expected shape (1, {self.input_size}), "
                             f"given {x_t.shape}")
        weight = check_array("head[0]", head[0], (None, self.output_size), self.dtype, finite=False)
        bias = check_array("head[1]", head[1], (weight.shape[0],), self.dtype, finite=False)
        got = lstm_stack_draw(x_t, parts, layers, (np.ascontiguousarray(weight), bias), new, temperature, u)
        if got is None:
            return None
        self._check_finite(x_t, state, got[1])
        return got[0], new

    def _step_arrays(self, x_t, state) -> tuple:
        """x_t and the state's arrays (zeros for None) as arrays of the right shapes and dtype, their
        values not yet tested (:meth:`_check_finite`), and the new state's arrays, unfilled."""
        if self.bidirectional:
            raise ValueError("step: a bidirectional layer needs the whole sequence; use forward")
        x_t = check_array("x_t", x_t, (None, self.input_size), self.dtype, finite=False)
        B = x_t.shape[0]
        parts = tuple(self._state_arrays(state, B, finite=False))
        widths = (self.output_size, self.hidden_size)[:self.cell.n_states]
        return x_t, parts, tuple(np.empty((self.num_layers, B, w), self.dtype) for w in widths)

    def _check_finite(self, x_t, state, bad: int | None) -> None:
        """Raise the checks' error naming the input that holds an inf or a NaN: x_t (position ``bad`` 0) or the
        given state (1, 2: its h or c) as the compiled step found it (−1: none), or any of them when ``bad`` is
        None (no compiled step ran: NumPy tests them here, ~1.5 µs an array). The state goes through
        ``_state_arrays`` again, which names its arrays; zeros (state None) need no test."""
        if bad is None or bad == 0:
            check_array("x_t", x_t, x_t.shape, self.dtype)
        if state is not None and (bad is None or bad > 0):
            self._state_arrays(state, x_t.shape[0])

    def _lstm_layers(self) -> tuple | None:
        """Each layer's (W_ih, W_hh, b_ih, b_hh) when the stack is plain LSTM layers and the compiled step
        runs for its dtype (what that step takes), else None: asked before any argument is checked, so
        that step_draw's None costs the sampler no second check of the arrays its fallback checks."""
        if self.bidirectional or (self._variant_cell or self.cell) is not LSTM_CELL or self._noisy(False) \
                or not loops_compiled_for(self.dtype):
            return None
        return tuple(self._weights(layer, 0) for layer in range(self.num_layers))
