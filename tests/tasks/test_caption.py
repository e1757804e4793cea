"""caption: the per-step conditioning's gradients, the notes' equation, the bundled digits, the run's verbs,
and data that is refused before anything is written."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError
from rnnkit.tasks import caption
from rnnkit.tasks.captioner import BOS, Captioner, condition_backward, condition_forward
from tests.conftest import CELLS, assert_interrupt_and_resume_exact, numeric_grad

VOCAB = Vocab(["<pad>", "<unk>", BOS, "<eos>", "a", "b", "c"], unk="<unk>")


def captioner(cell="gru", embed=3, features=4, hidden=5, dtype="float64", seed=0):
    rnn = CELLS[cell](embed + features, hidden, dtype=dtype, seed=seed)
    scaler = {"mean": [0.0] * features, "std": [1.0] * features}
    return Captioner(VOCAB, "char", rnn, embed, features, scaler, seed=seed)


def test_condition_backward_sums_the_copies_of_v(rng):
    x, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5))
    out, E = condition_forward(x, v)
    assert out.shape == (2, 3, 9) and E == 4
    np.testing.assert_array_equal(out[:, 1, 4:], v)
    g = rng.standard_normal(out.shape)
    dx, dv = condition_backward(g, E)
    np.testing.assert_allclose(dv, numeric_grad(lambda: np.sum(g * condition_forward(x, v)[0]), v), rtol=1e-7)
    np.testing.assert_allclose(dx, numeric_grad(lambda: np.sum(g * condition_forward(x, v)[0]), x), rtol=1e-7)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_captioner_gradients_float64(cell, rng):
    model = captioner(cell)
    v = rng.standard_normal((2, 4))
    ids = np.array([[2, 4, 5, 6], [2, 6, 0, 0]])
    errors = rk.gradcheck_errors(model, v, ids=ids)
    assert set(errors) >= {"x", "embedding.weight", "rnn.weight_ih_l0", "head.weight"}  # "x" is v here
    assert max(errors.values()) < 1e-6, errors


def test_the_input_weights_are_U_and_Z_side_by_side(rng):
    """s_1 = tanh(Uᵀ x_1 + Wᵀ s_0 + Zᵀ v) with [U Z] = weight_ih_l0 (biases added), as the docstring says."""
    model = captioner("rnn_tanh")
    p = model.rnn.params
    U, Z = p["weight_ih_l0"][:, :3], p["weight_ih_l0"][:, 3:]
    v, ids = rng.standard_normal((1, 4)), np.array([[2, 5]])
    model.forward(v, ids)
    x = model.embedding.params["weight"][ids[0]]                       # (T, E)
    s = np.zeros(5)
    for t in range(2):
        s = np.tanh(U @ x[t] + p["weight_hh_l0"] @ s + Z @ v[0] + p["bias_ih_l0"] + p["bias_hh_l0"])
    out, _ = model.rnn.forward(condition_forward(model.embedding.forward(ids), v)[0])
    np.testing.assert_allclose(out[0, -1], s, rtol=1e-12)


def test_generation_steps_match_the_teacher_forced_forward(rng):
    """Greedy generation one step at a time equals re-running the whole-sequence forward on its own output."""
    model = captioner("lstm").eval()
    v = rng.standard_normal((3, 4))
    inputs = np.full((3, 1), VOCAB.stoi[BOS])
    for _ in range(4):
        inputs = np.column_stack([inputs, model.forward(v, inputs)[:, -1].argmax(axis=1)])
    expected = []
    for row in inputs[:, 1:]:
        tokens = [VOCAB.itos[i] for i in row]
        expected.append("".join(tokens[:tokens.index("<eos>")] if "<eos>" in tokens else tokens))
    assert model.generate(v, max_tokens=4) == expected
    drawn = model.generate(v, 4, temperature=1.0, seed=3)
    assert drawn == model.generate(v, 4, temperature=1.0, seed=3)


def test_bundled_digits_are_captioned(tmp_path):
    """A short run on the bundled digits already gets ≥ 90 % of the 359 held-out words exactly right."""
    summary = caption.train(caption.Config(epochs=5, out=str(tmp_path / "digits"), quiet=True))
    assert summary["val_examples"] == 359 and summary["best_val_exact"] >= 0.9
    assert summary["majority_val_exact"] < 0.15
    model = rk.load(summary["run"])
    assert isinstance(model, Captioner) and not model.training and model.rnn.input_size == 16 + 64
    data = np.load(caption.bundled_path(), allow_pickle=False)
    out = caption.predict(model, [data["vectors"][:20]])
    right = np.mean([r["caption"] == c for r, c in zip(out, data["captions"][:20])])
    assert right >= 0.8 and out[0]["input"] == "0[0]"


def write_pairs(tmp_path, n=60, seed=0):
    """Vectors whose sign pattern decides the caption; an .npz of vectors and a captions text file."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, 3))
    words = np.where(v[:, 0] > 0, "up", "down")
    np.savez(tmp_path / "v.npz", vectors=v)
    (tmp_path / "c.txt").write_text("\n".join(words) + "\n")
    np.savez(tmp_path / "both.npz", vectors=v.reshape(n, 3, 1), captions=words.astype("S"))
    return str(tmp_path / "v.npz"), str(tmp_path / "c.txt"), list(words)


def test_text_file_word_level_predict_evaluate_cli(tmp_path, capsys):
    vpath, cpath, _ = write_pairs(tmp_path)
    config = caption.Config(data=[vpath, cpath], level="word", hidden=16, embed=4, epochs=12, batch_size=8,
                            out=str(tmp_path / "run"), quiet=True)
    summary = caption.train(config)
    assert summary["best_val_exact"] >= 0.9 and summary["vocab_size"] == 6
    model = rk.load(summary["run"])
    result = caption.evaluate(model, [str(tmp_path / "both.npz")])
    assert result["examples"] == 60 and result["exact"] >= 0.9 and 0 < result["loss"]
    capsys.readouterr()
    assert main(["predict", summary["run"], vpath]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 60 and lines[0].startswith(f"{vpath}[0]\t") and lines[0].split("\t")[1] in ("up", "down")
    assert main(["evaluate", summary["run"], vpath, cpath, "--json"]) == 0
    assert '"exact"' in capsys.readouterr().out


def test_interrupt_and_resume_is_exact(tmp_path, monkeypatch):
    vpath, cpath, _ = write_pairs(tmp_path, n=40)

    def make(name):
        return caption.Config(data=[vpath, cpath], hidden=8, embed=4, epochs=2, batch_size=8,
                              out=str(tmp_path / name), quiet=True)

    assert_interrupt_and_resume_exact(monkeypatch, caption.CaptionObjective, caption.train, make, at_call=3, total=8)


@pytest.mark.parametrize("make,message", [
    (lambda d: np.savez(d / "x.npz", X=np.ones((3, 2)), y=np.zeros(3)),
     "expected an array named 'vectors' (N, D) and captions (an array 'captions' (N,) or a text file); "
     "the archive has: X, y"),
    (lambda d: np.savez(d / "x.npz", vectors=np.ones((3, 2))), "no array named 'captions'"),
    (lambda d: np.savez(d / "x.npz", vectors=np.ones((3, 2)), captions=np.array(["a", "b"])),
     "2 caption(s) for 3 vectors"),
    (lambda d: np.savez(d / "x.npz", vectors=np.ones((3, 2)), captions=np.array(["a", " ", "b"])),
     "captions, row 1: the caption is empty"),
    (lambda d: np.savez(d / "x.npz", vectors=np.array([[1.0, np.nan]] * 3), captions=np.array(["a"] * 3)),
     "vectors[0] is not finite at column 1"),
    (lambda d: np.savez(d / "x.npz", vectors=np.ones(3), captions=np.array(["a"] * 3)),
     "vectors: expected a real numeric array (N, D)"),
    (lambda d: np.savez(d / "x.npz", vectors=np.ones((3, 2)), captions=np.arange(3)),
     "captions: expected a 1-D array of strings"),
    (lambda d: (d / "x.npz").write_bytes(b"PK\x03\x04 not really a zip"), "not a readable .npz archive"),
])
def test_bad_archives_exit_2_and_write_nothing(tmp_path, capsys, make, message):
    make(tmp_path)
    out = tmp_path / "out"
    assert main(["train", "caption", str(tmp_path / "x.npz"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and not out.exists()


def test_caption_file_must_match_the_vectors(tmp_path, capsys):
    np.savez(tmp_path / "v.npz", vectors=np.ones((3, 2)))
    (tmp_path / "c.txt").write_text("one\ntwo\n")
    out = tmp_path / "out"
    assert main(["train", "caption", str(tmp_path / "v.npz"), str(tmp_path / "c.txt"), "--out", str(out)]) == 2
    assert "c.txt: 2 caption(s) for 3 vectors in" in capsys.readouterr().err and not out.exists()
    with pytest.raises(DataError, match="expected an .npz archive of vectors first"):
        caption.read_captioned([str(tmp_path / "c.txt"), str(tmp_path / "v.npz")])


def _valid_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, vectors=np.arange(6.0).reshape(3, 2), captions=np.array(["one", "two", "six"]))
    return buf.getvalue()


VALID = _valid_npz()


def _read_or_data_error(tmp_path_factory, archive: bytes, text: bytes | None = None):
    d = tmp_path_factory.mktemp("cap")
    (d / "x.npz").write_bytes(archive)
    paths = [str(d / "x.npz")]
    if text is not None:
        (d / "c.txt").write_bytes(text)
        paths.append(str(d / "c.txt"))
    try:
        vectors, captions = caption.read_captioned(paths)
    except DataError as exc:
        assert str(exc)
        return
    assert vectors.ndim == 2 and len(captions) == len(vectors) and all(c.strip() for c in captions)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(VALID)), flip=st.integers(0, len(VALID) - 1), byte=st.integers(0, 255))
def test_damaged_archives_give_data_or_a_data_error(tmp_path_factory, cut, flip, byte):
    damaged = bytearray(VALID)
    damaged[flip] = byte
    _read_or_data_error(tmp_path_factory, bytes(damaged[:cut]) if cut else bytes(damaged))


@settings(max_examples=200, deadline=None)
@given(archive=st.binary(max_size=300), text=st.one_of(st.none(), st.binary(max_size=60)))
def test_random_bytes_give_data_or_a_data_error(tmp_path_factory, archive, text):
    _read_or_data_error(tmp_path_factory, archive, text)


@settings(max_examples=200, deadline=None)
@given(text=st.binary(max_size=60))
def test_random_caption_files_give_data_or_a_data_error(tmp_path_factory, text):
    buf = io.BytesIO()
    np.savez(buf, vectors=np.ones((3, 2)))
    _read_or_data_error(tmp_path_factory, buf.getvalue(), text)


def test_val_file_validates(tmp_path):
    vpath, cpath, _ = write_pairs(tmp_path)
    held = tmp_path / "held"
    held.mkdir()
    write_pairs(held, n=10, seed=3)
    config = caption.Config(data=[vpath, cpath], val=str(held / "both.npz"), hidden=8, embed=4, max_steps=2,
                            out=str(tmp_path / "run"), quiet=True)
    summary = caption.train(config)
    assert summary["val_examples"] == 10
    np.savez(held / "wide.npz", vectors=np.zeros((4, 5)), captions=np.array([b"up"] * 4))
    with pytest.raises(DataError, match="--val .*wide.npz: vectors of 5 features; DATA's have 3"):
        caption.train(caption.Config(data=[vpath, cpath], val=str(held / "wide.npz"), out=str(tmp_path / "w")))
