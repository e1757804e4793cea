"""What the compiled paths' tests compare: everything one training step of a layer gives."""
from __future__ import annotations


def train_case(layer, x, state, lengths, dout, dstate) -> list:
    """Outputs, final states, dx, initial-state and weight gradients (copies: the next call zeroes and
    refills the layer's own gradient arrays)."""
    out, final = layer.forward(x, state, lengths=lengths)
    layer.zero_grad()
    dx, dstate0 = layer.backward(dout, dstate)
    as_list = lambda s: list(s) if isinstance(s, tuple) else [s]  # noqa: E731
    return [out, *as_list(final), dx, *as_list(dstate0), *(g.copy() for g in layer.gradients().values())]
