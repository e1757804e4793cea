"""Stateful modules: the module protocol, building blocks and recurrent layers."""
from rnnkit.nn.crf import CRF
from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import GRU, LSTM, RNN, Recurrent

__all__ = ["Module", "Linear", "Embedding", "Dropout", "Recurrent", "RNN", "LSTM", "GRU", "CRF"]
