"""ONNX export: every model kind runs in onnxruntime and agrees with rnnkit to 1e-5, on random inputs with
variable lengths and on real text; the graph uses ONNX's own recurrent operators; bad requests are refused."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.vocab import Vocab
from rnnkit.interop import InteropError, compare_onnx, export_onnx, run_onnx, sample_feeds
from rnnkit.interop import onnx_export as oe
from rnnkit.tasks import toy
from rnnkit.tasks.classifier import Classifier
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.models import ManyToMany, ManyToOne

TOL = 1e-5


def agrees(model, proto, seeds=(0, 1), batch=4, time=9):
    """onnxruntime matches rnnkit on every output, on random feeds of several seeds."""
    for seed in seeds:
        diffs = compare_onnx(model, proto, sample_feeds(model, proto, batch, time, seed))
        assert max(diffs.values()) < TOL, diffs
    return diffs


def ops(proto) -> list[onnx.NodeProto]:
    return [n for n in proto.graph.node if n.op_type in ("LSTM", "GRU", "RNN")]


def attr(node, name):
    return next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)


STACKS = {
    "lstm_bidir_2": lambda: rk.LSTM(5, 6, num_layers=2, bidirectional=True, seed=0),
    "lstm_1": lambda: rk.LSTM(5, 6, seed=1),
    "gru_bidir_2": lambda: rk.GRU(5, 6, num_layers=2, bidirectional=True, seed=2),
    "gru_textbook_bidir_2": lambda: rk.GRU(5, 6, num_layers=2, bidirectional=True, reset_after=False, seed=3),
    "rnn_tanh_2": lambda: rk.RNN(5, 6, num_layers=2, seed=4),
    "rnn_relu_bidir": lambda: rk.RNN(5, 6, nonlinearity="relu", bidirectional=True, seed=5),
}


@pytest.mark.parametrize("name", STACKS)
def test_bare_stacks_with_lengths(name):
    model = STACKS[name]()
    proto = export_onnx(model)
    assert [i.name for i in proto.graph.input] == ["x", "lengths"]
    expected = ["output", "h_n"] + (["c_n"] if isinstance(model, rk.LSTM) else [])
    assert [o.name for o in proto.graph.output] == expected
    agrees(model, proto)
    nodes = ops(proto)
    assert len(nodes) == model.num_layers
    assert {n.op_type for n in nodes} == {type(model).__name__}
    assert {attr(n, "direction") for n in nodes} == {b"bidirectional" if model.bidirectional else b"forward"}
    assert all(n.input[4] for n in nodes)                                # sequence_lens wired in
    if isinstance(model, rk.GRU):
        assert {attr(n, "linear_before_reset") for n in nodes} == {int(model.reset_after)}
    assert proto.opset_import[0].version >= 14


@pytest.mark.parametrize("opset", [14, 21])
def test_other_opsets(opset):
    model = rk.GRU(3, 4, num_layers=2, bidirectional=True, seed=0)
    proto = export_onnx(model, opset=opset)
    assert proto.opset_import[0].version == opset
    agrees(model, proto)


def test_stack_without_lengths_and_float64_model():
    model = rk.GRU(3, 4, num_layers=2, dtype="float64", seed=0)
    proto = export_onnx(model, lengths=False)
    assert [i.name for i in proto.graph.input] == ["x"]
    assert all(len(n.input) == 4 for n in ops(proto))                # X, W, R, B: no sequence_lens
    agrees(model, proto)


def language_model(cell=rk.LSTM):
    return LanguageModel(Vocab(list("abcdefgh \n")), "char", cell(4, 8, num_layers=2, seed=1), 4, 0.2, seed=0).eval()


@pytest.mark.parametrize("cell", [rk.LSTM, rk.GRU, rk.RNN])
def test_language_model(cell):
    model = language_model(cell)
    proto = export_onnx(model)
    assert [i.name for i in proto.graph.input] == ["ids"] and proto.graph.input[0].type.tensor_type.elem_type == 7
    assert [o.name for o in proto.graph.output] == ["logits"]
    agrees(model, proto)
    assert [o.name for o in export_onnx(model, probabilities=True).graph.output] == ["logits", "probabilities"]
    agrees(model, export_onnx(model, probabilities=True))


@pytest.mark.parametrize("cell", [rk.LSTM, rk.GRU])
def test_language_model_with_state_runs_a_text_in_pieces(cell):
    model = language_model(cell)
    proto = export_onnx(model, state=True)
    names = ["ids", "h0"] + (["c0"] if cell is rk.LSTM else [])
    assert [i.name for i in proto.graph.input] == names
    assert [o.name for o in proto.graph.output] == ["logits"] + [n.replace("0", "_n") for n in names[1:]]
    agrees(model, proto)
    ids = np.random.default_rng(3).integers(0, 10, size=(2, 12))
    whole, _ = model.forward(ids)
    first = run_onnx(proto, {"ids": ids[:, :5]} | {n: np.zeros((2, 2, 8), np.float32) for n in names[1:]})
    second = run_onnx(proto, {"ids": ids[:, 5:]} | {n: first[n.replace("0", "_n")] for n in names[1:]})
    assert np.max(np.abs(np.concatenate([first["logits"], second["logits"]], axis=1) - whole)) < TOL


def test_bare_stack_with_initial_state():
    model = rk.LSTM(5, 6, num_layers=2, bidirectional=True, seed=7)
    proto = export_onnx(model, state=True)
    assert [i.name for i in proto.graph.input] == ["x", "h0", "c0", "lengths"]
    agrees(model, proto)


def test_charlm_run_on_real_text(charlm_run, tmp_path):
    model = rk.load(charlm_run)
    path = tmp_path / "charlm.onnx"
    rk.export_onnx(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charlm.onnx"]   # written atomically, nothing left over
    text = "the lazy dog jumps over the quick brown fox."
    ids = np.stack([model.vocab.encode(list(text)), model.vocab.encode(list(text[::-1]))]).astype(np.int64)
    got = run_onnx(path, {"ids": ids})["logits"]
    want, _ = model.forward(ids)
    assert got.shape == want.shape == (2, len(text), len(model.vocab))
    assert np.max(np.abs(got - want)) < TOL


def classifier(labels, vocab=True, cell=rk.LSTM):
    words = Vocab(["<pad>", "<unk>", "the", "film", "was", "great", "awful", "not", "a", "story", "."], unk="<unk>")
    rnn = cell(6 if vocab else 3, 5, num_layers=2, bidirectional=True, seed=2)
    return Classifier(rnn, labels, words if vocab else None, 6 if vocab else None, 0.3, seed=4).eval()


@pytest.mark.parametrize("labels", [["neg", "pos"], ["a", "b", "c"]], ids=["binary", "three"])
@pytest.mark.parametrize("cell", [rk.LSTM, rk.GRU])
def test_classifier_with_lengths(labels, cell):
    model = classifier(labels, cell=cell)
    proto = export_onnx(model)
    assert [i.name for i in proto.graph.input] == ["ids", "lengths"]
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    agrees(model, proto)
    sentences = ["the film was great .", "not a great story", "awful"]       # real, right-padded to the longest
    encoded = [model.vocab.encode(s.split()) for s in sentences]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    ids = np.zeros((len(encoded), lengths.max()), dtype=np.int64)
    for row, e in zip(ids, encoded):
        row[:len(e)] = e
    got = run_onnx(proto, {"ids": ids, "lengths": lengths})
    logits = model.forward(ids, lengths=lengths)
    assert np.max(np.abs(got["logits"] - logits)) < TOL
    assert np.max(np.abs(got["probabilities"] - model.probabilities(logits))) < TOL
    # the padding really is ignored: each sentence alone gives the same answer
    alone = run_onnx(proto, {"ids": ids[2:, :1], "lengths": lengths[2:]})["logits"]
    assert np.max(np.abs(alone - got["logits"][2:])) < TOL


def test_feature_classifier():
    model = classifier(["a", "b", "c"], vocab=False, cell=rk.RNN)
    proto = export_onnx(model)
    assert [i.name for i in proto.graph.input] == ["x", "lengths"]
    agrees(model, proto)


@pytest.mark.parametrize("task, cell", [(toy.echo, "lstm"), (toy.adding, "gru"), (toy.copy, "rnn"),
                                        (toy.copy, "lstm")])
def test_toy_models(task, cell):
    config = task.Config(cell=cell, hidden=7, layers=2, bidirectional=cell == "lstm")
    model = task.build_model(config).eval()
    assert isinstance(model, (ManyToOne, ManyToMany))
    proto = export_onnx(model, probabilities=task is not toy.adding)
    agrees(model, proto)
    real = task.examples(np.random.default_rng(0), 3, config).x                 # the task's own inputs
    got = run_onnx(proto, {"x": real, "lengths": np.full(3, real.shape[1], np.int64)})["logits"]
    assert np.max(np.abs(got - model.forward(real))) < TOL


def test_refused():
    with pytest.raises(InteropError, match="opset: expected an integer from 14 to"):
        export_onnx(rk.LSTM(2, 3), opset=13)
    with pytest.raises(InteropError, match="opset: expected an integer from 14 to"):
        export_onnx(rk.LSTM(2, 3), opset=999)
    with pytest.raises(InteropError, match="state: a Classifier takes no initial state"):
        export_onnx(classifier(["a", "b"]), state=True)
    with pytest.raises(InteropError, match="cannot export a Linear"):
        export_onnx(rk.Linear(2, 3))


def test_cli_export(charlm_run, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(charlm_run), str(out), "--check", "--weights", "last"]) == 0
    printed = capsys.readouterr().out
    assert "inputs ids; outputs logits" in printed and "onnxruntime vs rnnkit" in printed
    onnx.checker.check_model(onnx.load(str(out)))
    assert main(["export", str(charlm_run), str(tmp_path / "s.onnx"), "--state", "--check"]) == 0
    assert "inputs ids, h0, c0; outputs logits, h_n, c_n" in capsys.readouterr().out
    assert main(["export", str(charlm_run), str(tmp_path / "m.safetensors")]) == 0
    assert rk.load(charlm_run).state_dict().keys() == rk.interop.torch_format.read_tensors(
        tmp_path / "m.safetensors").keys()
    assert main(["export", str(charlm_run), str(tmp_path / "m.pt")]) == 2
    assert main(["export", str(charlm_run), str(tmp_path / "no" / "m.onnx")]) == 2
    assert "directory" in capsys.readouterr().err


def test_classify_run_through_the_cli(tmp_path):
    from rnnkit.data.batching import pad_sequences
    from rnnkit.tasks import classify

    rows = [("a truly great film", "pos"), ("an awful boring story", "neg"), ("it was fine i guess", "meh")] * 8
    (tmp_path / "data.tsv").write_text("".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    config = classify.Config(data=[str(tmp_path / "data.tsv")], cell="gru", hidden=6, embed=5, layers=2,
                             bidirectional=True, batch_size=8, max_steps=2, out=str(tmp_path / "run"), quiet=True)
    run = classify.train(config)["run"]
    assert main(["export", run, str(tmp_path / "clf.onnx"), "--check"]) == 0
    model = rk.load(run)
    texts = ["a great story", "boring", "it was an awful film i guess"]
    ids, lengths = pad_sequences(classify.encode(model, texts))
    got = run_onnx(tmp_path / "clf.onnx", {"ids": ids.astype(np.int64), "lengths": np.asarray(lengths, np.int64)})
    want = [r["probabilities"] for r in classify.predict(model, texts)]
    assert np.max(np.abs(got["probabilities"] - [[p[label] for label in model.labels] for p in want])) < TOL


def test_a_subclass_that_computes_differently_is_refused():
    class Doubled(ManyToMany):
        def _encode(self, x, lengths):
            return self.rnn.forward(2 * x, lengths=lengths)

    with pytest.raises(InteropError, match="Doubled overrides _encode of ManyToMany"):
        export_onnx(Doubled(rk.GRU(3, 4), 2))
    def build(g, model, options):                                  # the same pieces, one node more
        x, seq_lens = oe.sequence_input(g, model, options.lengths)
        doubled = g.op("Mul", [x, g.const("two", np.array(2, np.float32))])
        g.output("logits", oe.linear(g, model.head, oe.recurrent(g, model.rnn, doubled, seq_lens).output),
                 ["B", "T", model.head.out_features])

    rk.interop.register_exporter(Doubled, build)
    try:
        model = Doubled(rk.GRU(3, 4, bidirectional=True, seed=0), 2).eval()
        agrees(model, export_onnx(model))
    finally:
        oe._EXPORTERS.pop(0)
