"""Seq2Seq: every gradient in float64 for each attention and cell, the batched teacher-forced pass equals
step-by-step decoding, padding changes nothing, beam scores are the model's own log-probabilities, and a
tiny model learns to reverse sequences."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.data.vocab import Vocab
from rnnkit.functional.losses import log_softmax, softmax_cross_entropy
from rnnkit.optim import Adam
from rnnkit.tasks import translate
from rnnkit.tasks.seq2seq import BOS_ID, EOS_ID, Seq2Seq

SRC = Vocab(["<pad>", "<unk>"] + list("abcdef"), unk="<unk>")
TGT = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + list("abcdef"), unk="<unk>")


def model(attention="luong", cell="gru", dtype="float64", hidden=6, layers=1, dropout=0.0, seed=0, **variants):
    cfg = translate.Config(attention=attention, cell=cell, hidden=hidden, embed=5, layers=layers, dropout=dropout,
                           dtype=dtype, seed=seed, **variants)
    return translate.build_model(cfg, SRC, TGT)


def batch():
    src = np.array([[2, 3, 4, 5], [3, 2, 0, 0], [6, 7, 3, 0]])
    tgt_in = np.array([[BOS_ID, 4, 5, 6], [BOS_ID, 7, 0, 0], [BOS_ID, 0, 0, 0]])
    return src, tgt_in, np.array([4, 2, 3]), np.array([4, 2, 1])


@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gradcheck(attention, cell):
    m = model(attention, cell, layers=2, dropout=0.3)
    for name, value in m.parameters().items():
        if name.startswith("attention."):
            value *= 4  # sharper weights than at init, so attention's gradients stand out of the rounding
    src, tgt_in, src_len, tgt_len = batch()
    errors = rk.gradcheck_errors(m, src, eps=1e-3, tgt_in=tgt_in, src_lengths=src_len, tgt_lengths=tgt_len,
                                 n_checks=12)
    assert set(errors) == set(m.parameters())
    assert max(errors.values()) < 5e-6, errors


@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
def test_gradcheck_with_a_projection(attention):
    """Keys, queries and the output layer are P wide: h's width, not the cell's."""
    m = model(attention, "lstm", layers=2, proj_size=4, layer_norm=True)
    src, tgt_in, src_len, tgt_len = batch()
    errors = rk.gradcheck_errors(m, src, eps=1e-3, tgt_in=tgt_in, src_lengths=src_len, tgt_lengths=tgt_len,
                                 n_checks=12)
    assert "decoder.weight_hr_l1" in errors and max(errors.values()) < 5e-6, errors


@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
def test_teacher_forcing_equals_step_by_step_decoding(attention):
    m = model(attention, "lstm", layers=2, seed=3).eval()
    src, tgt_in, src_len, tgt_len = batch()
    logits = m.forward(src, tgt_in, src_len, tgt_len)
    keys, state, lengths = m.encode([src[b, :src_len[b]] for b in range(3)])
    for t in range(tgt_in.shape[1]):
        logp, state = m.decode_step(tgt_in[:, t], state, keys, lengths)
        for b in np.flatnonzero(t < tgt_len):
            np.testing.assert_allclose(logp[b], log_softmax(logits[b, t]), atol=1e-10)


def test_padding_changes_nothing():
    m = model("bahdanau", "gru", seed=1).eval()
    src, tgt_in, src_len, tgt_len = batch()
    logits = m.forward(src, tgt_in, src_len, tgt_len)
    for b in range(3):
        alone = m.forward(src[b:b + 1, :src_len[b]], tgt_in[b:b + 1, :tgt_len[b]])
        np.testing.assert_allclose(alone[0], logits[b, :tgt_len[b]], atol=1e-12)


def sequence_logp(m: Seq2Seq, source, ids) -> float:
    """log P(ids <eos> | source) by one teacher-forced pass."""
    logits = m.forward(np.array([source]), np.array([[BOS_ID] + ids]))
    targets = ids + [EOS_ID]
    return float(sum(log_softmax(logits[0, t])[y] for t, y in enumerate(targets)))


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_scores_are_normalised_log_probabilities(alpha):
    m = model("luong", "gru", seed=2).eval()
    source = np.array([2, 3, 4])
    nbest = m.beam_search(source, beam=4, max_length=6, length_penalty=alpha, nbest=4)
    assert len(nbest) == 4 and [s for _, s in nbest] == sorted((s for _, s in nbest), reverse=True)
    assert len({tuple(ids) for ids, _ in nbest}) == 4
    for ids, score in nbest:
        n = len(ids) + 1 if len(ids) < 6 else 6   # a hypothesis cut at max_length has no <eos>
        if len(ids) < 6:
            assert score == pytest.approx(sequence_logp(m, source, ids) / n ** alpha, abs=1e-9)


def test_beam_of_one_is_greedy():
    m = model("bahdanau", "lstm", seed=4).eval()
    sources = [np.array([2, 3, 4]), np.array([5]), np.array([7, 6, 5, 4, 3])]
    greedy = m.greedy(sources, max_length=8)
    for source, ids in zip(sources, greedy):
        assert m.beam_search(source, beam=1, max_length=8, length_penalty=0.0)[0][0] == ids


def test_larger_beam_never_finds_a_worse_raw_score():
    m = model("luong", "gru", seed=5).eval()
    source = np.array([4, 2, 7])
    best1 = m.beam_search(source, beam=1, max_length=8, length_penalty=0.0)[0]
    best8 = m.beam_search(source, beam=8, max_length=8, length_penalty=0.0)[0]
    assert best8[1] >= best1[1] - 1e-12


def test_learns_to_reverse_sequences():
    """A tiny model (float32) learns to output its input reversed: exact on held-out sequences."""
    rng = np.random.default_rng(0)
    m = model("luong", "gru", dtype="float32", hidden=32, seed=0)
    m.tgt_embedding.params["weight"] *= 0.3
    m.src_embedding.params["weight"] *= 0.3

    def sample(n):
        seqs = [rng.integers(2, 8, size=rng.integers(2, 6)) for _ in range(n)]
        return seqs, [s[::-1] + 2 for s in seqs]              # source id i is target id i + 2 (same letter)

    opt = Adam(lr=1e-2)
    for _ in range(250):
        src, tgt = sample(32)
        s, sl, tin, tout, tl = translate.make_batch(src, tgt)
        m.zero_grad()
        loss, dlogits = softmax_cross_entropy(m.forward(s, tin, sl, tl), tout, np.arange(tin.shape[1]) < tl[:, None])
        m.backward(dlogits)
        opt.step(m.parameters(), m.gradients())
    m.eval()
    src, tgt = sample(100)
    out = m.greedy(src, max_length=8)
    accuracy = np.mean([list(o) == list(t) for o, t in zip(out, tgt)])
    assert accuracy >= 0.9, accuracy
    assert float(loss) < 0.2


def test_mismatched_encoder_and_decoder_are_refused():
    enc, dec = rk.GRU(5, 6), rk.GRU(5, 7)
    with pytest.raises(ValueError, match="same cell, hidden size, projection and layers"):
        Seq2Seq(SRC, TGT, enc, dec, 5)
    with pytest.raises(ValueError, match="same cell, hidden size, projection and layers"):
        Seq2Seq(SRC, TGT, rk.LSTM(5, 6, proj_size=3), rk.LSTM(5, 6), 5)
    with pytest.raises(ValueError, match="attention: expected one of none, luong, bahdanau"):
        Seq2Seq(SRC, TGT, enc, rk.GRU(5, 6), 5, attention="dot")
