"""Moving models in and out of rnnkit: PyTorch state dicts, Keras weights, ONNX graphs.

    torch_format   safetensors / dicts with PyTorch's names <-> rnnkit modules and task models
    keras_format   Keras 3 ``layer.get_weights()`` lists <-> rnnkit RNN / LSTM / GRU stacks
    onnx_export    task models and stacks -> ONNX graphs of LSTM / GRU / RNN operators (pieces: onnx_graph)
    onnx_tasks     the tag and caption graphs;  onnx_seq2seq  translate's encoder and decoder-step graphs
    onnx_check     run a graph with onnxruntime and compare it with rnnkit

None of them needs torch or Keras; ``onnx`` / ``onnxruntime`` are imported only
when a graph is built or run.
"""
from rnnkit.interop._common import InteropError
from rnnkit.interop.keras_format import recurrent_from_keras, to_keras_weights
from rnnkit.interop.onnx_check import compare_onnx, run_onnx, sample_feeds
from rnnkit.interop.onnx_export import export_onnx, register_exporter
from rnnkit.interop.torch_format import (
                                         language_model_from_torch,
                                         load_torch_state_dict,
                                         many_to_many_from_torch,
                                         many_to_one_from_torch,
                                         recurrent_from_torch,
                                         save_torch,
                                         to_torch_state_dict,
)

__all__ = [
    "InteropError", "recurrent_from_torch", "many_to_one_from_torch", "many_to_many_from_torch",
    "language_model_from_torch", "load_torch_state_dict", "to_torch_state_dict", "save_torch",
    "recurrent_from_keras", "to_keras_weights", "export_onnx", "register_exporter", "compare_onnx", "run_onnx",
    "sample_feeds",
]
