"""ONNX export of the tag and caption models: onnxruntime agrees with rnnkit to 1e-5 on random packed
inputs with variable sentence and word lengths and on real text, the caption graph with state generates
the model's own captions in a host loop, and trained runs go through ``rnnkit export --check``."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.vocab import Vocab
from rnnkit.interop import InteropError, export_onnx, run_onnx
from rnnkit.tasks.captioner import BOS, Captioner
from rnnkit.tasks.tagger import CASINGS, Tagger

from .test_onnx_export import TOL, agrees, attr, ops

WORDS = Vocab(["<pad>", "<unk>", "eu", "rejects", "german", "call", "to", "boycott", "british", "lamb", "."],
              unk="<unk>")
CHARS = Vocab(["<pad>", "<unk>"] + sorted(set("EU rejects German call to boycott British lamb .")), unk="<unk>")
SENTENCES = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
             ["Peter", "Blackburn"], ["BRUSSELS", "1996-08-22"], ["lamb"]]


def tagger(cell=rk.GRU, chars=True, max_word=7):
    char_rnn = cell(4, 3, bidirectional=True, seed=1) if chars else None
    rnn = cell(5 + len(CASINGS) + (6 if chars else 0), 6, num_layers=2, bidirectional=True, seed=2)
    return Tagger(rnn, ["O", "B-ORG", "I-ORG", "B-PER", "I-PER", "B-MISC"], WORDS, 5, CHARS if chars else None,
                  char_rnn, 4, 0.3, seed=0, max_word=max_word).eval()


@pytest.mark.parametrize("cell", [rk.GRU, rk.LSTM])
def test_tagger_on_random_and_real_sentences(cell):
    model = tagger(cell)
    proto = export_onnx(model)
    assert [i.name for i in proto.graph.input] == ["x", "lengths"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    char_node, *word_nodes = ops(proto)                             # the char layer, then the word-level stack
    assert {n.op_type for n in ops(proto)} == {cell.__name__} and len(word_nodes) == 2
    assert attr(char_node, "hidden_size") == 3 and char_node.input[4]            # per-word sequence_lens
    agrees(model, proto, seeds=(0, 1, 2), batch=5, time=8)
    x, lengths = model.batch(SENTENCES)                              # real, right-padded, long words cut at S
    got = run_onnx(proto, {"x": x, "lengths": np.asarray(lengths, np.int64)})["logits"]
    assert np.max(np.abs(got - model.forward(x, lengths))) < TOL
    for row, sentence in enumerate(SENTENCES):                       # padding words change nothing
        alone, n = model.batch([sentence])
        one = run_onnx(proto, {"x": alone, "lengths": np.asarray(n, np.int64)})["logits"][0]
        assert np.max(np.abs(one - got[row, :len(sentence)])) < TOL


def test_tagger_without_characters_and_options():
    model = tagger(rk.LSTM, chars=False)
    proto = export_onnx(model, probabilities=True, lengths=False)
    assert [i.name for i in proto.graph.input] == ["x"] and len(ops(proto)) == 2
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    agrees(model, proto)
    with pytest.raises(InteropError, match="state: a Tagger takes no initial state"):
        export_onnx(model, state=True)


def test_tagger_long_words_and_no_lengths():
    model = tagger(rk.RNN, max_word=12)
    proto = export_onnx(model, lengths=False)                        # every word of every row is real
    agrees(model, proto, batch=3, time=5)


def captioner(cell=rk.GRU, layers=2):
    vocab = Vocab(["<pad>", "<unk>", BOS, "<eos>"] + list("efinorstuvwxz"), unk="<unk>")
    return Captioner(vocab, "char", cell(4 + 5, 6, num_layers=layers, seed=3), 4, 5,
                     {"mean": [0.0] * 5, "std": [1.0] * 5}, 0.2, seed=1).eval()


def host_loop(proto, model, v, max_tokens):
    """Greedy captions through the graph, one step per call, carrying h_n [c_n] as the next h0 [c0];
    also the ids fed (B, max_tokens) and the logits of every step (B, max_tokens, V)."""
    rnn, B, eos = model.rnn, len(v), model.vocab.stoi["<eos>"]
    zeros = np.zeros((rnn.num_layers, B, rnn.hidden_size), np.float32)
    state = {"h0": zeros} | ({"c0": zeros} if rnn.cell.n_states == 2 else {})
    ids, fed, logits = np.full((B, 1), model.vocab.stoi[BOS], np.int64), [], []
    out, done = [[] for _ in range(B)], np.zeros(B, bool)
    for _ in range(max_tokens):
        got = run_onnx(proto, {"v": v.astype(np.float32), "ids": ids} | state)
        fed.append(ids[:, 0])
        logits.append(got["logits"][:, -1])
        ids = got["logits"][:, -1].argmax(axis=1)[:, None].astype(np.int64)
        state = {"h0": got["h_n"]} | ({"c0": got["c_n"]} if "c_n" in got else {})
        for i in np.flatnonzero(~done & (ids[:, 0] != eos)):
            out[i].append(model.vocab.itos[ids[i, 0]])
        done |= ids[:, 0] == eos
    return [model.join(t) for t in out], np.stack(fed, axis=1), np.stack(logits, axis=1)


def generates_like_the_model(proto, model, v, max_tokens):
    """The host loop's captions are ``model.generate``'s and its step logits rnnkit's on the same ids."""
    captions, fed, logits = host_loop(proto, model, v, max_tokens)
    assert captions == model.generate(v, max_tokens)
    assert np.max(np.abs(logits - model.forward(v, fed))) < TOL


@pytest.mark.parametrize("cell", [rk.GRU, rk.LSTM, rk.RNN])
def test_captioner_scores_and_steps(cell):
    model = captioner(cell)
    proto = export_onnx(model, probabilities=True)
    assert [i.name for i in proto.graph.input] == ["v", "ids", "lengths"]
    assert [o.name for o in proto.graph.output] == ["logits", "probabilities"]
    agrees(model, proto)
    stepper = export_onnx(model, state=True, lengths=False)
    states = ["h0"] + (["c0"] if cell is rk.LSTM else [])
    assert [i.name for i in stepper.graph.input] == ["v", "ids"] + states
    agrees(model, stepper)
    model.rnn.params["weight_ih_l0"] *= 3                           # sharper: the vectors change the captions
    model.head.params["weight"] *= 3
    v = 2 * np.random.default_rng(5).standard_normal((4, 5)).astype(np.float32)
    generates_like_the_model(export_onnx(model, state=True, lengths=False), model, v, 6)


def test_captioner_with_state_and_lengths():
    model = captioner(rk.LSTM, layers=1)
    agrees(model, export_onnx(model, state=True))                    # h_n at each caption's own last step


def test_a_subclass_that_computes_differently_is_refused():
    class Sharper(Captioner):
        def _step(self, ids, v, state):
            logits, state = super()._step(ids, v, state)
            return 2 * logits, state

    model = captioner()
    model.__class__ = Sharper
    with pytest.raises(InteropError, match="Sharper overrides _step of Captioner"):
        export_onnx(model)


# -- trained runs, through the CLI --------------------------------------------------------------------------------


def test_tag_run_through_the_cli(tmp_path, capsys):
    from rnnkit.tasks import tag

    config = tag.Config(hidden=6, embed=5, char_embed=3, char_hidden=4, max_word=8, batch_size=8, max_steps=2,
                        eval_every=2, out=str(tmp_path / "run"), quiet=True)
    run = tag.train(config)["run"]
    out = tmp_path / "tagger.onnx"
    assert main(["export", run, str(out), "--check"]) == 0
    assert "inputs x, lengths; outputs logits" in capsys.readouterr().out
    model = rk.load(run)
    sentences = [s.split() for s in ("Angela Merkel visited Paris on Monday .", "UN", "the 3rd report of ACME Corp")]
    x, lengths = model.batch(sentences)
    got = run_onnx(out, {"x": x, "lengths": np.asarray(lengths, np.int64)})["logits"]
    assert np.max(np.abs(got - model.forward(x, lengths))) < TOL
    tags = [[model.tags[k] for k in row[:n]] for row, n in zip(model.decode(got, lengths), lengths)]  # as Tagger.tag
    assert tags == model.tag(sentences)


def test_caption_run_through_the_cli(tmp_path, capsys):
    from rnnkit.tasks import caption

    config = caption.Config(cell="lstm", layers=2, hidden=6, embed=4, batch_size=8, max_steps=2, eval_every=2,
                            out=str(tmp_path / "run"), quiet=True)
    run = caption.train(config)["run"]
    assert main(["export", run, str(tmp_path / "cap.onnx"), "--check", "--probabilities"]) == 0
    assert main(["export", run, str(tmp_path / "step.onnx"), "--state", "--no-lengths", "--check"]) == 0
    assert "inputs v, ids, h0, c0; outputs logits, h_n, c_n" in capsys.readouterr().out
    model = rk.load(run)
    vectors, captions = caption.read_captioned([caption.bundled_path()])
    v = model.scale(vectors[:6])                                     # real digits, standardised as predict does
    ids, _, mask = caption.teacher_forcing(model, captions[:6])
    lengths = mask.sum(axis=1).astype(np.int64)
    got = run_onnx(tmp_path / "cap.onnx", {"v": v, "ids": ids, "lengths": lengths})
    assert np.max(np.abs(got["logits"] - model.forward(v, ids, lengths))) < TOL
    generates_like_the_model(onnx.load(str(tmp_path / "step.onnx")), model, v, model.config.max_tokens)


@pytest.mark.parametrize("opset", [14, 21])
def test_other_opsets(opset):
    from .test_onnx_seq2seq import seq2seq

    for model, state in ((tagger(), False), (captioner(rk.LSTM), True), (seq2seq(rk.GRU, "bahdanau"), False)):
        protos = export_onnx(model, opset=opset, state=state)
        for proto in protos.values() if isinstance(protos, dict) else [protos]:
            assert proto.opset_import[0].version == opset
            agrees(model, proto, seeds=(0,))
