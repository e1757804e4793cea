"""ONNX export of the translate model as an encoder graph and a decoder-step graph: both agree with rnnkit
to 1e-5 on random inputs with variable source lengths, greedy decoding in a host loop through onnxruntime
gives ``Seq2Seq.greedy``'s translations with the same log-probabilities at every step, for every attention,
and a trained run goes through ``rnnkit export --check``."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.batching import pad_sequences
from rnnkit.data.vocab import Vocab
from rnnkit.interop import InteropError, compare_onnx, export_onnx, run_onnx
from rnnkit.tasks.seq2seq import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Seq2Seq

from .test_onnx_export import TOL, agrees

SOURCE = Vocab(["<pad>", "<unk>"] + list("abcdefghij"), unk="<unk>")
TARGET = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + list("ABCDEFGH"), unk="<unk>")
SOURCES = [np.array(s) for s in ([2, 5, 7, 3, 9, 4], [8, 2], [11, 10, 1, 6], [3])]


def seq2seq(cell, attention, layers=2):
    model = Seq2Seq(SOURCE, TARGET, cell(5, 6, num_layers=layers, seed=1), cell(5, 6, num_layers=layers, seed=2), 5,
                    attention, 0.2, seed=0).eval()
    model.out.params["bias"][EOS_ID] -= 10                           # untrained: never stop early, run every step
    return model


def greedy_through_onnx(protos, model, sources, max_length):
    """Seq2Seq.greedy with onnxruntime: the encoder once, then one decoder call per step carrying h_n [c_n];
    returns the translations, the tokens fed (B, steps) and the log-probabilities (B, steps, V)."""
    src, lengths = pad_sequences(sources, pad=PAD_ID)
    enc = run_onnx(protos["encoder"], {"src": src.astype(np.int64), "src_lengths": np.asarray(lengths, np.int64)})
    names = {i.name for i in protos["decoder"].graph.input}
    fixed = {k: v for k, v in {"memory": enc["memory"], "src_lengths": np.asarray(lengths, np.int64)}.items()
             if k in names}
    state = {"h0": enc["h_n"]} | ({"c0": enc["c_n"]} if "c_n" in enc else {})
    tokens, fed, logps = np.full((len(sources), 1), BOS_ID, np.int64), [], []
    out, done = [[] for _ in sources], np.zeros(len(sources), bool)
    for _ in range(max_length):
        got = run_onnx(protos["decoder"], {"tokens": tokens} | state | fixed)
        fed.append(tokens[:, 0])
        logps.append(got["log_probs"][:, 0])
        allowed = got["log_probs"][:, 0].copy()
        allowed[:, [PAD_ID, UNK_ID, BOS_ID]] = -np.inf
        tokens = allowed.argmax(axis=1)[:, None].astype(np.int64)
        state = {"h0": got["h_n"]} | ({"c0": got["c_n"]} if "c_n" in got else {})
        for i in np.flatnonzero(~done):
            done[i] |= tokens[i, 0] == EOS_ID
            if not done[i]:
                out[i].append(int(tokens[i, 0]))
        if done.all():
            break
    return out, np.stack(fed, axis=1), np.stack(logps, axis=1)


def decodes_like_the_model(protos, model, sources, max_length):
    """The host loop's translations are ``model.greedy``'s, and its log-probabilities ``decode_step``'s."""
    out, fed, logps = greedy_through_onnx(protos, model, sources, max_length)
    assert out == model.greedy(sources, max_length)
    keys, state, lengths = model.encode(sources)
    for t in range(fed.shape[1]):
        want, state = model.decode_step(fed[:, t], state, keys, lengths)
        assert np.max(np.abs(logps[:, t] - want)) < TOL
    return fed


@pytest.mark.parametrize("cell, attention", [(rk.GRU, "luong"), (rk.LSTM, "luong"), (rk.LSTM, "bahdanau"),
                                             (rk.GRU, "none"), (rk.RNN, "bahdanau")])
def test_encoder_and_decoder_graphs(cell, attention):
    model = seq2seq(cell, attention)
    protos = export_onnx(model)
    assert list(protos) == ["encoder", "decoder"]
    states = ["h_n"] + (["c_n"] if cell is rk.LSTM else [])
    assert [i.name for i in protos["encoder"].graph.input] == ["src", "src_lengths"]
    assert [o.name for o in protos["encoder"].graph.output] == ["memory"] + states
    attends = ["memory", "src_lengths"] if attention != "none" else []
    assert [i.name for i in protos["decoder"].graph.input] == ["tokens"] + [s.replace("_n", "0") for s in states] + \
        attends
    assert [o.name for o in protos["decoder"].graph.output] == ["log_probs"] + states
    for proto in protos.values():
        agrees(model, proto, seeds=(0, 1), batch=4, time=7)         # decoder: 4 steps over a random memory
    assert decodes_like_the_model(protos, model, SOURCES, 8).shape == (len(SOURCES), 8)


def test_without_lengths_and_with_probabilities():
    model = seq2seq(rk.GRU, "luong", layers=1)
    protos = export_onnx(model, lengths=False, probabilities=True)
    assert [i.name for i in protos["decoder"].graph.input] == ["tokens", "h0", "memory"]
    assert [o.name for o in protos["decoder"].graph.output] == ["log_probs", "probabilities", "h_n"]
    for proto in protos.values():
        agrees(model, proto)
    diffs = compare_onnx(model, protos)                              # both parts at once
    assert sorted(diffs) == ["decoder.h_n", "decoder.log_probs", "decoder.probabilities", "encoder.h_n",
                             "encoder.memory"] and max(diffs.values()) < TOL


def test_refused():
    model = seq2seq(rk.GRU, "luong")
    with pytest.raises(InteropError, match="state: not an option for a Seq2Seq"):
        export_onnx(model, state=True)

    class Sampled(Seq2Seq):
        def decode_step(self, tokens, state, keys, lengths):
            logp, state = super().decode_step(tokens, state, keys, lengths)
            return logp / 2, state

    model.__class__ = Sampled
    with pytest.raises(InteropError, match="Sampled overrides decode_step of Seq2Seq"):
        export_onnx(model)


def test_translate_run_through_the_cli(tmp_path, capsys):
    from rnnkit.tasks import translate, translate_data

    pairs = [("i am hungry .", "j'ai faim ."), ("it is raining .", "il pleut ."), ("he is here .", "il est ici ."),
             ("where is the station ?", "où est la gare ?"), ("i am cold .", "j'ai froid ."),
             ("the station is here .", "la gare est ici .")] * 4
    (tmp_path / "pairs.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    config = translate.Config(data=[str(tmp_path / "pairs.tsv")], cell="lstm", layers=2, hidden=6, embed=5,
                              batch_size=8, max_steps=2, eval_every=2, min_count=1, beam=1, val_fraction=0.25,
                              out=str(tmp_path / "run"), quiet=True)
    run = translate.train(config)["run"]
    assert main(["export", run, str(tmp_path / "mt.onnx"), "--check"]) == 0
    printed = capsys.readouterr().out
    assert "mt.encoder.onnx (opset 17; inputs src, src_lengths; outputs memory, h_n, c_n)" in printed
    assert "mt.decoder.onnx (opset 17; inputs tokens, h0, c0, memory, src_lengths; outputs log_probs" in printed
    assert printed.count("onnxruntime vs rnnkit") == 2
    assert sorted(p.name for p in tmp_path.glob("mt*")) == ["mt.decoder.onnx", "mt.encoder.onnx"]
    model = rk.load(run)
    protos = {part: onnx.load(str(tmp_path / f"mt.{part}.onnx")) for part in ("encoder", "decoder")}
    sources = [model.source_vocab.encode(translate_data.source_tokens(t))
               for t in ("I am hungry.", "Where is the station here?", "It is cold.")]
    assert decodes_like_the_model(protos, model, sources, 10).shape[0] == 3
    assert main(["export", run, str(tmp_path / "s.onnx"), "--state"]) == 2
