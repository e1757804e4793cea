"""Keras 3 recurrent-layer weights in and out, as ``layer.get_weights()`` lists them (no Keras needed).

Legend: D input features, H units, G gates (SimpleRNN 1, GRU 3, LSTM 4), K directions.

One Keras layer (one direction) holds three arrays, gates stacked along the
columns; rnnkit (PyTorch's layout) stacks them along the rows:

    Keras                          order      rnnkit / torch                        order
    kernel            (D, G·H)     see below  weight_ih = kernelᵀ (reordered)       (G·H, D)
    recurrent_kernel  (H, G·H)                weight_hh = recurrent_kernelᵀ         (G·H, H)
    LSTM      bias (4H,)           i f c o    bias_ih = bias, bias_hh = 0           i f g o (same)
    SimpleRNN bias (H,)                       bias_ih = bias, bias_hh = 0
    GRU reset_after=True  bias (2, 3H)  z r h   bias_ih = bias[0], bias_hh = bias[1]  r z n (blocks swapped)
    GRU reset_after=False bias (3H,)    z r h   bias_ih = bias, bias_hh = 0          r z n

Which GRU is which: Keras' ``reset_after=True`` (its default) computes
ĥ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h)) — PyTorch's form, rnnkit's
``GRU(reset_after=True)``; ``reset_after=False`` computes
ĥ = tanh(x W_h + b_h + (r ⊙ h) U_h), r applied before the recurrent product —
the textbook form, rnnkit's ``GRU(reset_after=False)``, whose b_hn is then
folded into b_in (the two are only ever added). Both update h = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ.

Exporting sums the two biases (b_ih + b_hh) where Keras keeps one. A
``Bidirectional`` layer's ``get_weights()`` is six arrays, the forward
layer's three then the backward layer's; a stack is a list of layers.
"""
from __future__ import annotations

import numpy as np

from rnnkit.interop._common import InteropError, float_dtype, load_checked, refuse_variants
from rnnkit.nn.conversions import register

GATES = {1: "RNN", 3: "GRU", 4: "LSTM"}
_GRU_SWAP = (1, 0, 2)           # z r h <-> r z n (a swap, its own inverse)


def _blocks(a: np.ndarray, order, H: int) -> np.ndarray:
    """Reorder the gate blocks of size H along axis 0."""
    return np.concatenate([a[g * H:(g + 1) * H] for g in order]) if order else a


def _layers(weights) -> list[list[np.ndarray]]:
    """One layer's ``get_weights()`` list, or a list of them, as a list of layers."""
    if not isinstance(weights, (list, tuple)) or not weights:
        raise InteropError(f"weights: expected layer.get_weights() (a list of arrays) or a list of them, "
                           f"given {type(weights).__name__}")
    if hasattr(weights[0], "shape"):
        weights = [weights]
    return [[np.asarray(a) for a in layer] for layer in weights]


def _check_layer(k: int, layer: list[np.ndarray], D: int, H: int, G: int, reset_after: bool) -> list[str]:
    """The shape problems of layer ``k`` (3 arrays per direction)."""
    if len(layer) not in (3, 6):
        return [f"weights[{k}]: expected 3 arrays (kernel, recurrent_kernel, bias) or 6 (Bidirectional), "
                f"given {len(layer)} (use_bias=False is not supported)"]
    bias = (2, G * H) if G == 3 and reset_after else (G * H,)
    problems = []
    for j, (name, expected) in enumerate([("kernel", (D, G * H)), ("recurrent_kernel", (H, G * H)),
                                          ("bias", bias)] * (len(layer) // 3)):
        if layer[j].shape != expected:
            problems.append(f"weights[{k}][{j}] {name}: expected {expected}, given {layer[j].shape}")
    return problems


def _direction_to_torch(kernel, recurrent, bias, G: int, H: int) -> tuple[np.ndarray, ...]:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of one Keras direction."""
    order = _GRU_SWAP if G == 3 else None
    if bias.ndim == 2:                                   # GRU reset_after=True: input and recurrent bias
        b_ih, b_hh = bias[0], bias[1]
    else:
        b_ih, b_hh = bias, np.zeros_like(bias)
    return tuple(_blocks(a, order, H) for a in (kernel.T, recurrent.T, b_ih, b_hh))


KERAS_OPTIONS = ("recurrent_dropout", "weight_drop", "merge_mode")  # the variants that leave Keras' weights alone


def recurrent_from_keras(weights, cls=None, nonlinearity: str = "tanh", dtype=None, **variants):
    """An rnnkit RNN / LSTM / GRU holding Keras 3 SimpleRNN / LSTM / GRU weights.

    Args:
        weights: ``layer.get_weights()`` of one layer (3 arrays; 6 for a
            ``Bidirectional`` one) or a list of them for a stack whose layers
            all return sequences (same cell, same directions).
        cls: ``rk.LSTM`` / ``rk.GRU`` / ``rk.RNN`` to insist on; None takes the
            one the gate count of ``recurrent_kernel`` (H, G·H) names.
        nonlinearity: a SimpleRNN's activation, "tanh" or "relu".
        dtype: "float32" / "float64"; None keeps float64 arrays float64.
        variants: ``recurrent_dropout``, ``weight_drop`` and ``merge_mode`` (the Keras layers'
            ``recurrent_dropout`` and ``Bidirectional(merge_mode=...)``), for the stack built.

    A GRU's ``reset_after`` is read off its bias: (2, 3H) True, (3H,) False.
    """
    other = sorted(set(variants) - set(KERAS_OPTIONS))
    if other:
        raise InteropError(f"{other[0]}: Keras weights have no such option (they take {', '.join(KERAS_OPTIONS)})")
    from rnnkit.nn.recurrent import GRU, LSTM, RNN

    layers = _layers(weights)
    first = layers[0]
    if len(first) < 3 or first[1].ndim != 2 or first[1].shape[0] == 0 or first[1].shape[1] % first[1].shape[0]:
        raise InteropError("weights[0]: expected [kernel (D, G·H), recurrent_kernel (H, G·H), bias]")
    H, G = first[1].shape[0], first[1].shape[1] // first[1].shape[0]
    if G not in GATES:
        raise InteropError(f"weights[0][1] recurrent_kernel {first[1].shape}: {G} gate blocks; expected 1, 3 or 4")
    inferred = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM}[GATES[G]]
    if cls is not None and not issubclass(cls, inferred):
        raise InteropError(f"weights: a {inferred.__name__} layer's (recurrent_kernel {first[1].shape}), "
                           f"not a {cls.__name__}")
    K = len(first) // 3
    reset_after = first[2].ndim == 2
    below = K * H if variants.get("merge_mode", "concat") == "concat" else H      # layer k > 0 reads the merged outputs
    problems = [p for k, layer in enumerate(layers)
                for p in _check_layer(k, layer, first[0].shape[0] if k == 0 else below, H, G, reset_after)]
    problems += [f"weights[{k}]: {len(layer) // 3} directions, but weights[0] has {K}"
                 for k, layer in enumerate(layers) if len(layer) in (3, 6) and len(layer) != len(first)]
    if problems:
        raise InteropError("Keras weights do not form one recurrent stack:\n  " + "\n  ".join(problems))
    kwargs = dict(input_size=first[0].shape[0], hidden_size=H, num_layers=len(layers), bidirectional=K == 2,
                  dtype=float_dtype({str(i): a for i, a in enumerate(first)}, dtype), **variants)
    if inferred is GRU:
        kwargs["reset_after"] = reset_after
    if inferred is RNN:
        kwargs["nonlinearity"] = nonlinearity
    model = (cls or inferred)(**kwargs)
    tensors = {}
    for k, layer in enumerate(layers):
        for d in range(K):
            arrays = _direction_to_torch(*layer[3 * d:3 * d + 3], G, H)
            tensors.update(zip(model._names[k][d], arrays))
    load_checked(model, tensors, "weights")
    return model


def to_keras_weights(rnn) -> list[list[np.ndarray]]:
    """One ``get_weights()``-style list per layer of an rnnkit stack (6 arrays per layer if
    bidirectional): ``keras_layers[k].set_weights(to_keras_weights(rnn)[k])``.

    Keras' SimpleRNN / LSTM / GRU with ``return_sequences=True`` below the top
    layer, a ``GRU(reset_after=rnn.reset_after)``, wrapped in ``Bidirectional``
    if ``rnn.bidirectional`` (with ``merge_mode=rnn.merge_mode``). Of the cell variants only the
    ones Keras has or that leave evaluation unchanged pass; the others raise InteropError naming them.
    """
    refuse_variants(rnn, "Keras", allowed=("recurrent_dropout", "weight_drop", "merge_mode"))
    G, H = rnn.cell.gates, rnn.hidden_size
    order = _GRU_SWAP if G == 3 else None
    layers = []
    for k in range(rnn.num_layers):
        arrays = []
        for d in range(rnn.num_directions):
            w_ih, w_hh, b_ih, b_hh = (_blocks(a, order, H) for a in rnn._weights(k, d))
            bias = np.stack([b_ih, b_hh]) if getattr(rnn, "reset_after", False) else b_ih + b_hh
            arrays += [w_ih.T.copy(), w_hh.T.copy(), bias]
        layers.append(arrays)
    return layers


# the modules' doors to these conversions (the core does not import interop: see rnnkit.nn.conversions)
register(recurrent_from_keras=recurrent_from_keras, to_keras_weights=to_keras_weights)
