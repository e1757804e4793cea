"""PyTorch interop: models recorded with torch load with their sizes inferred and give torch's outputs;
rnnkit writes files with torch's names; bad state dicts are refused with every mismatch listed."""
from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import rnnkit as rk
from rnnkit.errors import RnnkitError
from rnnkit.interop import (
    InteropError,
    language_model_from_torch,
    many_to_many_from_torch,
    many_to_one_from_torch,
    recurrent_from_torch,
)
from tests.interop.conftest import TORCH_DIR, records

OUTPUTS = TORCH_DIR / "outputs.npz"
TOL = 1e-5


def close(got, want):
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < TOL


@pytest.mark.parametrize("name, cls, sizes", [
    ("lstm_bidir", rk.LSTM, (5, 6, 2, True)),
    ("gru", rk.GRU, (5, 6, 2, False)),
    ("rnn_relu", rk.RNN, (5, 6, 1, True)),
])
def test_recurrent_stacks_match_torch(name, cls, sizes):
    rec = records(OUTPUTS, name)
    kwargs = {"nonlinearity": "relu"} if cls is rk.RNN else {}
    model = cls.from_torch_state_dict(TORCH_DIR / f"{name}.safetensors", **kwargs)
    assert type(model) is cls and model.dtype == np.float32
    assert (model.input_size, model.hidden_size, model.num_layers, model.bidirectional) == sizes
    out, state = model.forward(rec["x"], lengths=rec["lengths"])
    close(out, rec["out"])
    h, c = state if isinstance(state, tuple) else (state, None)
    close(h, rec["h_n"])
    if c is not None:
        close(c, rec["c_n"])


def test_cell_type_is_inferred_and_checked():
    path = TORCH_DIR / "lstm_bidir.safetensors"
    assert type(recurrent_from_torch(path)) is rk.LSTM
    assert type(rk.Recurrent.from_torch_state_dict(path)) is rk.LSTM
    with pytest.raises(InteropError, match=r"a LSTM .*not a GRU"):
        rk.GRU.from_torch_state_dict(path)


def test_a_dict_of_arrays_loads_like_the_file():
    tensors = load_file(str(TORCH_DIR / "gru.safetensors"))
    a, b = rk.GRU.from_torch_state_dict(tensors), rk.GRU.from_torch_state_dict(TORCH_DIR / "gru.safetensors")
    assert all(np.array_equal(a.params[k], b.params[k]) for k in b.params)
    assert rk.GRU.from_torch_state_dict({k: v.astype(np.float64) for k, v in tensors.items()}).dtype == np.float64


def test_charlm_model_matches_torch():
    rec = records(OUTPUTS, "charlm")
    model = language_model_from_torch(TORCH_DIR / "charlm.safetensors", [str(i) for i in range(12)])
    assert (model.embedding.num_embeddings, model.embedding.embedding_dim, model.rnn.num_layers) == (12, 4, 2)
    logits, _ = model.forward(rec["ids"])
    close(logits, rec["logits"])


def test_classifier_and_tagger_match_torch_with_lengths():
    rec = records(OUTPUTS, "classifier")
    model = many_to_one_from_torch(TORCH_DIR / "classifier.safetensors")
    assert type(model.rnn) is rk.GRU and model.rnn.bidirectional and model.head.out_features == 3
    close(model.forward(rec["ids"], lengths=rec["lengths"]), rec["logits"])
    rec = records(OUTPUTS, "tagger")
    model = many_to_many_from_torch(TORCH_DIR / "tagger.safetensors")
    assert model.embedding is None and model.rnn.num_layers == 2
    close(model.forward(rec["x"], lengths=rec["lengths"]), rec["logits"])


def test_run_model_file_is_plain_safetensors_with_torch_names(charlm_run):
    tensors = load_file(str(charlm_run / "best.safetensors"))         # no rnnkit involved in reading
    model = rk.load(charlm_run)
    assert set(tensors) == {"embedding.weight", "head.weight", "head.bias"} | {
        f"rnn.{kind}_l{k}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") for k in range(2)}
    assert tensors["rnn.weight_ih_l0"].shape == (4 * 12, 6)            # (4H, E), gates i f g o
    for name, value in model.to_torch_state_dict().items():
        np.testing.assert_array_equal(tensors[name], value)
    again = language_model_from_torch(charlm_run / "best.safetensors", model.vocab)
    ids = np.array([[1, 2, 3, 4]])
    np.testing.assert_array_equal(again.forward(ids)[0], model.forward(ids)[0])


def test_save_torch_writes_what_safetensors_torch_reads(tmp_path):
    model = rk.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    rk.save_torch(model, tmp_path / "m.safetensors")
    from safetensors import safe_open
    with safe_open(str(tmp_path / "m.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}                       # what safetensors.torch.load_file expects
        assert set(f.keys()) == set(model.params)
    back = rk.LSTM.from_torch_state_dict(tmp_path / "m.safetensors")
    assert all(np.array_equal(back.params[k], v) for k, v in model.params.items())
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind


def test_textbook_gru_has_no_torch_form(tmp_path):
    with pytest.raises(InteropError, match="reset_after=False"):
        rk.GRU(3, 4, reset_after=False).to_torch_state_dict()


def test_every_mismatch_is_listed_with_shapes():
    tensors = load_file(str(TORCH_DIR / "gru.safetensors"))
    del tensors["bias_hh_l1"]
    tensors["weight_hh_l1"] = tensors["weight_hh_l1"][:, :5]
    tensors["weight_hr_l0"] = np.zeros((6, 2), np.float32)
    with pytest.raises(InteropError) as err:
        rk.GRU.from_torch_state_dict(tensors)
    msg = str(err.value)
    assert "missing: bias_hh_l1 (18,)" in msg
    assert "unexpected: weight_hr_l0 (6, 2)" in msg
    assert "wrong shape: weight_hh_l1 expected (18, 6), given (18, 5)" in msg
    assert msg.count("\n") == 3                                       # one line each, in one error


def test_existing_model_refuses_a_foreign_state_dict():
    model = rk.LSTM(5, 6, num_layers=2, bidirectional=True)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(InteropError, match=r"(?s)gru.safetensors: .*wrong shape: weight_hh_l0 expected \(24, 6\)"):
        model.load_torch_state_dict(TORCH_DIR / "gru.safetensors")
    assert all(np.array_equal(before[k], v) for k, v in model.params.items())   # nothing half-loaded


@pytest.mark.parametrize("tensors, message", [
    ({"foo": np.zeros(3, np.float32)}, "found prefixes: none"),
    ({"a.weight_ih_l0": np.zeros((4, 2)), "b.weight_ih_l0": np.zeros((4, 2))}, "found prefixes: 'a.', 'b.'"),
    ({"weight_ih_l0": np.zeros((10, 2)), "weight_hh_l0": np.zeros((10, 2))}, "5 gate blocks"),
])
def test_not_a_recurrent_state_dict(tensors, message):
    with pytest.raises(InteropError, match=message):
        recurrent_from_torch(tensors)


def test_truncated_file_is_a_clear_error(tmp_path):
    data = (TORCH_DIR / "lstm_bidir.safetensors").read_bytes()
    for size in (len(data) - 100, 40, 5):
        bad = tmp_path / f"cut{size}.safetensors"
        bad.write_bytes(data[:size])
        with pytest.raises(RnnkitError, match=f"cut{size}.safetensors"):
            rk.LSTM.from_torch_state_dict(bad)
    with pytest.raises(RnnkitError, match="is a directory"):
        rk.LSTM.from_torch_state_dict(tmp_path)
    with pytest.raises(RnnkitError, match="file not found"):
        rk.LSTM.from_torch_state_dict(tmp_path / "missing.safetensors")


def test_float16_file_loads_and_bad_sources_are_refused(tmp_path):
    tensors = load_file(str(TORCH_DIR / "gru.safetensors"))
    save_file({k: v.astype(np.float16) for k, v in tensors.items()}, str(tmp_path / "h.safetensors"))
    assert rk.GRU.from_torch_state_dict(tmp_path / "h.safetensors").dtype == np.float32
    with pytest.raises(InteropError, match="expected a path to a .safetensors file or a dict"):
        rk.GRU.from_torch_state_dict(42)
    with pytest.raises(InteropError, match="expected a float array"):
        rk.GRU.from_torch_state_dict({k: v.astype(np.int32) for k, v in tensors.items()})
