"""rnnkit: recurrent neural networks in NumPy, built from the equations up.

Cells (vanilla RNN, LSTM, GRU) with hand-written forward and backward passes,
stacked and bidirectional layers over variable-length batches, building
blocks, losses, optimizers and a numerical gradient checker.

Example::

    >>> import numpy as np, rnnkit as rk
    >>> lstm = rk.LSTM(input_size=32, hidden_size=64, num_layers=2, bidirectional=True, seed=0)
    >>> out, (h_n, c_n) = lstm.forward(np.zeros((8, 100, 32), np.float32))
    >>> dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
"""
from rnnkit import functional, nn, optim
from rnnkit.functional.losses import binary_cross_entropy_with_logits, log_softmax, mse, softmax, softmax_cross_entropy
from rnnkit.gradcheck import gradcheck, gradcheck_errors
from rnnkit.interop import export_onnx, save_torch
from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import GRU, LSTM, RNN, Recurrent
from rnnkit.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm, clip_grad_value

__version__ = "0.1.0"


def load(run, which: str = "best"):
    """The trained model of a run directory: :func:`rnnkit.tasks.load`, imported on first use so that
    ``import rnnkit`` does not load every task."""
    from rnnkit.tasks import load as load_run

    return load_run(run, which)


__all__ = [
    "RNN", "LSTM", "GRU", "Recurrent", "Module", "Linear", "Embedding", "Dropout",
    "softmax_cross_entropy", "binary_cross_entropy_with_logits", "mse", "log_softmax", "softmax",
    "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "clip_grad_norm", "clip_grad_value",
    "gradcheck", "gradcheck_errors", "load", "functional", "nn", "optim", "export_onnx", "save_torch",
]
