"""Check an exported graph: run it with onnxruntime and compare with rnnkit on the same inputs.

Legend: B batch, T time steps, D features, V vocabulary.

    feeds = sample_feeds(model, proto, batch=3, time=7, seed=0)   # ids or x, lengths if the graph takes them
    diffs = compare_onnx(model, proto, feeds)                      # {"logits": max |onnx − rnnkit|, ...}

``reference_outputs`` computes what each graph output means in rnnkit terms
(``model.forward`` in eval mode, ``Classifier.probabilities``, a stack's
final state; an exporter's own ``reference``, such as ``Seq2Seq.encode`` and
``Seq2Seq.decode_step``), so the comparison covers every output the graph has.
"""
from __future__ import annotations

import numpy as np

from rnnkit.interop._common import InteropError


def _graph_inputs(proto) -> list[str]:
    return [i.name for i in proto.graph.input]


def sample_feeds(model, proto, batch: int = 3, time: int = 7, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for every graph input: ids in 0..V-1 (B, T) int64 or x ~ N(0, 1) (B, T, D) float32,
    lengths (B,) int64 in 1..T with one full-length sequence, states h0, c0 ~ N(0, 0.5²) (L·K, B, H);
    the model's exporter makes the inputs it knows better (``register_exporter(..., feeds=)``: a
    tagger's packed ids, a captioner's vectors, a Seq2Seq's sources, tokens and memory)."""
    from rnnkit.interop.onnx_export import exporter_for

    rng, names = np.random.default_rng(seed), _graph_inputs(proto)
    rnn = getattr(model, "rnn", model)
    own = exporter_for(model).feeds
    feeds = own(model, names, rng, batch, time) if own is not None else {}
    for name in names:
        if name in feeds:
            continue
        if name == "ids":
            feeds[name] = rng.integers(0, model.embedding.num_embeddings, size=(batch, time), dtype=np.int64)
        elif name == "x":
            D = model.input_size if hasattr(model, "input_size") else model.rnn.input_size
            feeds[name] = rng.standard_normal((batch, time, D)).astype(np.float32)
        elif name == "lengths":
            lengths = rng.integers(1, time + 1, size=batch)
            lengths[rng.integers(batch)] = time
            feeds[name] = lengths.astype(np.int64)
        elif name in ("h0", "c0"):
            shape = (rnn.num_layers * rnn.num_directions, batch, rnn.hidden_size)
            feeds[name] = (0.5 * rng.standard_normal(shape)).astype(np.float32)
    return feeds


def reference_outputs(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """rnnkit's values of the graph outputs (logits, probabilities, output, h_n, c_n) for ``feeds``
    (the exporter's own ``reference`` where it has one)."""
    from rnnkit.interop.onnx_export import exporter_for
    from rnnkit.nn.recurrent import Recurrent
    from rnnkit.tasks.language_model import LanguageModel

    own = exporter_for(model).reference
    was_training = model.training
    model.eval()
    try:
        if own is not None:
            return own(model, feeds)
        inputs = feeds["ids"] if "ids" in feeds else feeds["x"]
        lengths = feeds.get("lengths")
        state = None if "h0" not in feeds else (feeds["h0"], feeds["c0"]) if "c0" in feeds else feeds["h0"]
        if isinstance(model, Recurrent):
            out, final = model.forward(inputs, state, lengths=lengths)
            return {"output": out} | state_outputs_of(final)
        finals = {}
        if isinstance(model, LanguageModel):
            logits, final = model.forward(inputs, state)
            finals = state_outputs_of(final)
        else:
            logits = model.forward(inputs, lengths=lengths)
        probs = model.probabilities(logits) if hasattr(model, "probabilities") else softmax(logits)
        return {"logits": logits, "probabilities": probs} | finals
    finally:
        model.train(was_training)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64."""
    z = logits.astype(np.float64)
    probs = np.exp(z - z.max(axis=-1, keepdims=True))
    return probs / probs.sum(axis=-1, keepdims=True)


def state_outputs_of(state) -> dict[str, np.ndarray]:
    """``{"h_n": h [, "c_n": c]}`` of a recurrent state (an array, or a tuple (h, c))."""
    h, c = state if isinstance(state, tuple) else (state, None)
    return {"h_n": h} | ({"c_n": c} if c is not None else {})


def run_onnx(proto_or_path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output of the graph on ``feeds``, computed by onnxruntime (CPU)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InteropError("checking an ONNX graph needs onnxruntime: pip install 'rnnkit[onnx]'") from None
    data = proto_or_path.SerializeToString() if hasattr(proto_or_path, "SerializeToString") else str(proto_or_path)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def compare_onnx(model, proto, feeds: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """Max |onnxruntime − rnnkit| of each graph output on ``feeds`` (random ones if None).

    ``proto`` may be ``{part: proto}`` (a Seq2Seq's encoder and decoder): each part is then checked on
    its own random feeds and the keys are ``"<part>.<output>"``.
    """
    if isinstance(proto, dict):
        if feeds is not None:
            raise InteropError("feeds: give one graph (proto) with its feeds, not a {part: proto} dict")
        return {f"{part}.{name}": diff for part, one in proto.items()
                for name, diff in compare_onnx(model, one).items()}
    feeds = sample_feeds(model, proto) if feeds is None else feeds
    got, want = run_onnx(proto, feeds), reference_outputs(model, feeds)
    return {name: float(np.max(np.abs(value.astype(np.float64) - want[name]))) for name, value in got.items()}
