"""The encoder–decoder with attention of the translate task (many-to-many, unaligned: T_x ≠ T_y).

Legend: B batch, S source steps, T target steps, E embedding, H hidden (h's width: P with --proj-size), L layers,
V_x / V_y source / target vocabulary, n live beams, k beam width.

    encoder:   h_j = RNN_enc(E_x[x_1] … E_x[x_j])                   (B, S, H)   final state h_S
    decoder:   s_t = RNN_dec(E_y[y_0] … E_y[y_{t−1}]), s_0 = h_S    (B, T, H)   y_0 = <bos>
    attention: c_t = Σ_j α_{t,j} h_j   (luong: e = s_tᵀ W_a h_j;  bahdanau: e = vᵀ tanh(W_q s_t + W_k h_j))
               h̃_t = tanh(W_c [c_t ; s_t] + b_c)                    (B, T, H)   (none: h̃_t = s_t)
    output:    P(y_t | y_<t, x) = softmax(dropout(h̃_t) W_yᵀ + b_y)  (B, T, V_y)

Teacher forcing (notes: the decoder is a language model conditioned on the encoding): the decoder
reads the reference y_0 … y_{T−1} and is trained to predict y_1 … y_T = … <eos>, so the whole target
runs through the decoder RNN in one call, and attention, W_c and the output layer act on all T steps
at once. Attention comes after the decoder RNN (Luong's placement) for both score functions, so
``bahdanau`` here is Bahdanau's additive score in Luong's architecture, not his input-fed decoder.
Dropout acts on both embeddings and before the output layer.

Decoding, one step at a time through ``Recurrent.step``: greedy (argmax, a batch of sentences at
once) or beam search (the k live hypotheses of one sentence as one batch), never choosing <pad>,
<unk> or <bos> (an <unk> can never match a reference word). A finished hypothesis is
ranked by its length-normalised log-probability log P(y | x) / |y|^α (α = ``length_penalty``,
|y| counting <eos>; α = 0: raw log-probability, which favours short outputs).
"""
from __future__ import annotations

import numpy as np

from rnnkit.data.batching import pad_sequences
from rnnkit.data.vocab import Vocab
from rnnkit.functional.losses import log_softmax
from rnnkit.nn.attention import ATTENTIONS
from rnnkit.nn.layers import Dropout, Embedding, Linear
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3  # the target vocabulary starts <pad> <unk> <bos> <eos>
ATTENTION_KINDS = ("none", "luong", "bahdanau")


def _select(state, idx):
    """Rows ``idx`` of a recurrent state ((L, n, H) or a tuple of them) along the batch axis."""
    return tuple(s[:, idx] for s in state) if isinstance(state, tuple) else state[:, idx]


class Seq2Seq(Module):
    """Embeddings, encoder and decoder stacks, optional attention, and the output layer."""

    def __init__(self, source_vocab: Vocab, target_vocab: Vocab, encoder: Recurrent, decoder: Recurrent,
                 embed: int, attention: str = "luong", dropout: float = 0.0, seed: int = 0):
        super().__init__(encoder.dtype)
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention: expected one of {', '.join(ATTENTION_KINDS)}, given {attention!r}")
        if (encoder.hidden_size, encoder.output_size, encoder.num_layers, encoder.cell.name) != \
                (decoder.hidden_size, decoder.output_size, decoder.num_layers, decoder.cell.name) \
                or encoder.bidirectional:
            raise ValueError("encoder, decoder: the decoder starts from the encoder's final state, so both need "
                             "the same cell, hidden size, projection and layers, and the encoder one direction")
        self.source_vocab, self.target_vocab, self.attention_kind = source_vocab, target_vocab, attention
        H, dt = decoder.output_size, encoder.dtype                     # h's width: P with a projection
        self.src_embedding = Embedding(len(source_vocab), embed, padding_idx=PAD_ID, dtype=dt, seed=seed)
        self.tgt_embedding = Embedding(len(target_vocab), embed, padding_idx=PAD_ID, dtype=dt, seed=seed + 1)
        self.encoder, self.decoder = encoder, decoder
        self.attention = None if attention == "none" else ATTENTIONS[attention](H, H, dtype=dt, seed=seed + 2)
        self.combine = None if attention == "none" else Linear(2 * H, H, dtype=dt, seed=seed + 3)
        self.src_drop, self.tgt_drop = Dropout(dropout, seed=seed + 4), Dropout(dropout, seed=seed + 5)
        self.out_drop = Dropout(dropout, seed=seed + 6)
        self.out = Linear(H, len(target_vocab), dtype=dt, seed=seed + 7)
        self._cache = None

    # -- teacher forcing --------------------------------------------------------------------------------
    def forward(self, src, tgt_in, src_lengths=None, tgt_lengths=None) -> np.ndarray:
        """src (B, S) ids, tgt_in (B, T) ids <bos> y_1 … (right-padded, lengths (B,)) -> logits (B, T, V_y)."""
        xs = self.src_drop.forward(self.src_embedding.forward(src))              # (B, S, E)
        keys, enc_state = self.encoder.forward(xs, lengths=src_lengths)          # (B, S, H)
        xt = self.tgt_drop.forward(self.tgt_embedding.forward(tgt_in))           # (B, T, E)
        s, _ = self.decoder.forward(xt, state=enc_state, lengths=tgt_lengths)    # (B, T, H)
        top = self._attend(s, keys, src_lengths)                                 # (B, T, H) h̃_t
        self._cache = keys.shape
        return self.out.forward(self.out_drop.forward(top))

    def _attend(self, s, keys, src_lengths) -> np.ndarray:
        """h̃ = tanh(W_c [c ; s] + b_c) for queries s (n, T, H), or s itself without attention."""
        if self.attention is None:
            return s
        context, _ = self.attention.forward(s, keys, src_lengths)
        self._h_tilde = np.tanh(self.combine.forward(np.concatenate([context, s], axis=-1)))
        return self._h_tilde

    def backward(self, dlogits) -> None:
        """Backpropagate dlogits (B, T, V_y) through the last forward into every parameter's gradient."""
        if self._cache is None:
            raise RuntimeError("Seq2Seq.backward: call forward first")
        keys_shape = self._cache
        dtop = self.out_drop.backward(self.out.backward(dlogits))                # (B, T, H)
        if self.attention is None:
            ds, dkeys = dtop, np.zeros(keys_shape, dtype=self.dtype)
        else:
            H = self.decoder.output_size
            dcat = self.combine.backward(dtop * (1 - self._h_tilde ** 2))        # backprop through tanh
            dquery, dkeys = self.attention.backward(dcat[..., :H])
            ds = dcat[..., H:] + dquery                                          # s_t fed both c_t and W_c
        dxt, dstate0 = self.decoder.backward(ds)                                 # dstate0: into h_S
        self.tgt_embedding.backward(self.tgt_drop.backward(dxt))
        dxs, _ = self.encoder.backward(dkeys, dstate=dstate0)
        self.src_embedding.backward(self.src_drop.backward(dxs))
        self._cache = None

    # -- decoding -----------------------------------------------------------------------------------------
    def encode(self, sources: list[np.ndarray]):
        """Id sequences -> (keys (n, S, H), final state, lengths (n,)), no dropout."""
        src, lengths = pad_sequences(sources, pad=PAD_ID)
        emb = self.src_embedding.params["weight"][src]
        keys, state = self.encoder.forward(emb, lengths=lengths)
        self.encoder._cache = None  # inference: drop what a backward would need
        return keys, state, lengths

    def decode_step(self, tokens: np.ndarray, state, keys: np.ndarray, lengths: np.ndarray):
        """Previous tokens (n,), decoder state, keys (n, S, H) -> (log P(y_t | …) (n, V_y), new state)."""
        s, state = self.decoder.step(self.tgt_embedding.params["weight"][tokens], state)   # (n, H)
        top = self._attend(s[:, None, :], keys, lengths)[:, 0]                            # (n, H)
        return log_softmax(self.out.forward(top).astype(np.float64)), state

    def _allowed(self, logp: np.ndarray) -> np.ndarray:
        """log-probabilities with <pad>, <unk> and <bos> ruled out: never a useful output word."""
        out = logp.copy()
        out[:, [PAD_ID, UNK_ID, BOS_ID]] = -np.inf
        return out

    def greedy(self, sources: list[np.ndarray], max_length: int) -> list[list[int]]:
        """The argmax translation of each source (ids without <eos>), all sources as one batch."""
        keys, state, lengths = self.encode(sources)
        n = len(sources)
        tokens, done = np.full(n, BOS_ID), np.zeros(n, dtype=bool)
        out = [[] for _ in range(n)]
        for _ in range(max_length):
            logp, state = self.decode_step(tokens, state, keys, lengths)
            tokens = self._allowed(logp).argmax(axis=1)
            for i in np.flatnonzero(~done):
                if tokens[i] == EOS_ID:
                    done[i] = True
                else:
                    out[i].append(int(tokens[i]))
            if done.all():
                break
        return out

    def beam_search(self, source: np.ndarray, beam: int = 5, max_length: int = 50, length_penalty: float = 1.0,
                    nbest: int = 1) -> list[tuple[list[int], float]]:
        """The ``nbest`` best hypotheses (ids without <eos>, score) of one source, best first.

        score = log P(y | x) / |y|^α. Search stops once ``beam`` hypotheses have ended with <eos>
        or after ``max_length`` steps (the live ones then count as finished).
        """
        keys, state, lengths = self.encode([source])
        seqs, logps = [[]], np.zeros(1)                                    # the live hypotheses
        finished = []
        for step in range(1, max_length + 1):
            n = len(seqs)
            tokens = np.array([seq[-1] if seq else BOS_ID for seq in seqs])
            logp, state = self.decode_step(tokens, state, np.repeat(keys, n, 0), np.repeat(lengths, n))
            total = (logps[:, None] + self._allowed(logp)).reshape(-1)      # (n · V_y)
            top = np.argpartition(-total, min(2 * beam, total.size) - 1)[:2 * beam]
            top = top[np.argsort(-total[top], kind="stable")]
            keep = []
            for flat in top:
                if not np.isfinite(total[flat]):
                    break  # only ruled-out tokens are left
                row, token = divmod(int(flat), logp.shape[1])
                if token == EOS_ID:
                    finished.append((seqs[row], float(total[flat]) / step ** length_penalty))
                elif len(keep) < beam:
                    keep.append((row, token, total[flat]))
                if len(keep) == beam:
                    break  # the candidates left rank below every kept one
            if len(finished) >= beam or not keep:
                break
            rows = np.array([r for r, _, _ in keep])
            seqs = [seqs[r] + [t] for r, t, _ in keep]
            logps = np.array([lp for _, _, lp in keep])
            state = _select(state, rows)
        else:
            finished += [(seq, float(lp) / max_length ** length_penalty) for seq, lp in zip(seqs, logps)]
        finished.sort(key=lambda h: -h[1])
        return finished[:nbest]
