"""The cell variants in other formats: peepholes to ONNX (checked by onnxruntime), projections from and to
torch state dicts (the recorded torch fixture), and a clear refusal naming the option elsewhere."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import rnnkit as rk
from rnnkit.interop import InteropError, compare_onnx, export_onnx, sample_feeds, to_keras_weights
from tests.interop.conftest import FIXTURES, records


def peephole_lstm(**kw):
    lstm = rk.LSTM(5, 6, peephole=True, seed=0, **kw)
    rng = np.random.default_rng(1)
    for name in lstm.params:
        if name.startswith("peephole"):  # larger than the default init, so a wrong order would show
            lstm.params[name][...] = rng.uniform(-1.5, 1.5, lstm.params[name].shape)
    return lstm


@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True), dict(recurrent_dropout=0.3, weight_drop=0.2)])
def test_peephole_lstm_runs_in_onnxruntime_with_input_p(kw):
    lstm = peephole_lstm(**kw)
    proto = export_onnx(lstm, state=True)
    nodes = [n for n in proto.graph.node if n.op_type == "LSTM"]
    assert len(nodes) == lstm.num_layers and all(len(n.input) == 8 and n.input[7] for n in nodes)
    p = onnx.numpy_helper.to_array(next(i for i in proto.graph.initializer if i.name == nodes[0].input[7]))
    assert p.shape == (lstm.num_directions, 18)
    for seed in (0, 1):
        diffs = compare_onnx(lstm, proto, sample_feeds(lstm, proto, 4, 9, seed))
        assert max(diffs.values()) < 1e-5, diffs


@pytest.mark.parametrize("make,option", [
    (lambda: rk.LSTM(5, 6, proj_size=3), "proj_size"),
    (lambda: rk.LSTM(5, 6, layer_norm=True), "layer_norm"),
    (lambda: rk.GRU(5, 6, zoneout=0.1), "zoneout"),
])
def test_onnx_refuses_what_its_operators_cannot_compute(make, option):
    with pytest.raises(InteropError, match=f"{option}: ONNX export has no such option"):
        export_onnx(make())


@pytest.mark.parametrize("mode", ["sum", "mul", "ave"])
def test_merge_modes_export_to_onnx(mode):
    gru = rk.GRU(5, 6, num_layers=2, bidirectional=True, merge_mode=mode, seed=3)
    proto = export_onnx(gru)
    assert [d.dim_value or d.dim_param for d in proto.graph.output[0].type.tensor_type.shape.dim] == ["B", "T", 6]
    for seed in (0, 1):
        diffs = compare_onnx(gru, proto, sample_feeds(gru, proto, 4, 9, seed))
        assert max(diffs.values()) < 1e-5, diffs


def test_projected_lstm_from_torch_tensors_matches_the_torch_fixture():
    rec = records(FIXTURES / "torch_lstm_proj.npz", "deep_bidir_lengths.float64")
    params = {k.removeprefix("param."): v for k, v in rec.items() if k.startswith("param.")}
    lstm = rk.LSTM.from_torch_state_dict(params)
    assert (lstm.proj_size, lstm.hidden_size, lstm.num_layers, lstm.bidirectional) == (3, 6, 2, True)
    out, (h_n, c_n) = lstm.forward(rec["x"], state=(rec["h0"], rec["c0"]), lengths=rec["lengths"])
    np.testing.assert_allclose(out, rec["out"], atol=1e-12)
    np.testing.assert_allclose(c_n, rec["c_n"], atol=1e-12)
    assert {k: v.shape for k, v in lstm.to_torch_state_dict().items()} == {k: v.shape for k, v in params.items()}


@pytest.mark.parametrize("mode", ["concat", "sum"])
def test_keras_weights_round_trip_with_recurrent_dropout_and_merge_mode(mode):
    lstm = rk.LSTM(5, 6, num_layers=2, bidirectional=True, recurrent_dropout=0.3, merge_mode=mode, seed=4)
    back = rk.LSTM.from_keras_weights(lstm.to_keras_weights(), recurrent_dropout=0.3, merge_mode=mode)
    assert back.variants == lstm.variants
    x = np.random.default_rng(0).standard_normal((3, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(back.eval().forward(x)[0], lstm.eval().forward(x)[0], atol=1e-6)
    with pytest.raises(InteropError, match="peephole: Keras weights have no such option"):
        rk.LSTM.from_keras_weights(lstm.to_keras_weights(), peephole=True)


def test_torch_and_keras_refuse_the_variants_they_lack():
    with pytest.raises(InteropError, match="peephole: torch.nn has no such option"):
        rk.LSTM(5, 6, peephole=True).to_torch_state_dict()
    with pytest.raises(InteropError, match="proj_size: Keras has no such option"):
        to_keras_weights(rk.LSTM(5, 6, proj_size=2))
    weights = to_keras_weights(rk.LSTM(5, 6, bidirectional=True, recurrent_dropout=0.2, merge_mode="ave"))
    assert [w.shape for w in weights[0]] == [(5, 24), (6, 24), (24,)] * 2
