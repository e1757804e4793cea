"""translate: sentence-to-sentence translation, many-to-many unaligned (an encoder–decoder with attention).

The model is :class:`~rnnkit.tasks.seq2seq.Seq2Seq`: the encoder reads the source words, the decoder
starts from its final state and, trained with teacher forcing, predicts the target words one by
one; attention (``--attention luong`` (default), ``bahdanau`` or ``none``) lets every decoder step
look at all encoder outputs. Translations are decoded greedily or with beam search (``--beam``,
scores normalised by length^``--length-penalty``), at most ``--max-length`` words.

Data: ``source<TAB>target`` lines (see :mod:`rnnkit.data.pairs`), several files pooled. Without
DATA the bundled English–French Tatoeba pairs are used (60,000 pairs, the shortest of the
manythings.org file; CC BY 2.0 FR, www.manythings.org/anki and tatoeba.org). The held-out set is
``--val FILE``, or else a fixed random ``--val-fraction`` (default 5%) of the pairs, drawn with its own
generator whatever ``--seed`` is (the file is sorted by length, so its tail would be all long sentences); the run
writes it to ``heldout.tsv``. Sources are lower-cased; targets keep their case, so BLEU is
sacreBLEU's default, case-sensitive corpus BLEU (13a tokens, exp smoothing) on the detokenized
output against the untouched references. Pairs with a side longer than ``--max-length`` words are
left out of training. Validation during training decodes greedily; at the end the best weights
translate the held-out set with the beam and the summary reports both BLEU scores.

examples:
  rnnkit train translate                               # bundled eng-fra pairs, GRU 256, Luong attention
  rnnkit train translate pairs.tsv --attention bahdanau --cell lstm --epochs 5
  rnnkit translate runs/translate "I am hungry." --beam 5 --nbest 3
  rnnkit predict runs/translate "Where is the station?" "It is raining."
  rnnkit evaluate runs/translate runs/translate/heldout.tsv     # BLEU and exact match

Python::

    from rnnkit.tasks import translate
    summary = translate.train(translate.Config(epochs=1))
    model = rnnkit.load(summary["run"])                             # a Seq2Seq, in eval mode
    translate.translate(model, "I am hungry.", beam=5, nbest=3)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnnkit.data.batching import bucket_batches, length_batches, pad_sequences
from rnnkit.data.pairs import Pairs, detokenize, read_pairs
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.functional.losses import softmax_cross_entropy
from rnnkit.tasks import driver
from rnnkit.tasks.base import HeldRows, make_recurrent, open_task_run
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.tasks.seq2seq import ATTENTION_KINDS, BOS_ID, EOS_ID, PAD_ID, Seq2Seq
from rnnkit.tasks.translate_data import (
    build_vocab,
    encode_pairs,
    load_pairs,
    source_tokens,
    split_indices,
    target_tokens,
)
from rnnkit.train.bleu import corpus_bleu, exact_match
from rnnkit.train.checkpoint import atomic_write_bytes
from rnnkit.train.config import TrainConfig, add_options, flag
from rnnkit.train.run import Run

NAME = "translate"
VERBS = ("translate", "predict", "evaluate", "info")
BOS, EOS = "<bos>", "<eos>"
DEFAULT_EPOCHS = 8
EVAL_BATCH = 500


@dataclass
class Config(TrainConfig):
    """translate's options: the training options plus attention, vocabulary and decoding."""

    data: list[str] = field(default_factory=list)
    val: str | None = None
    attention: str = "luong"
    beam: int = 5
    length_penalty: float = 1.0
    max_length: int = 50
    min_count: int = 2
    vocab_size: int = 30000
    cell: str = "gru"
    hidden: int = 256
    embed: int = 256
    dropout: float = 0.2
    batch_size: int = 64
    lr: float = 2e-3
    schedule: str = "cosine"
    val_fraction: float = 0.05

    def check(self) -> Config:
        super().check()
        if self.attention not in ATTENTION_KINDS:
            raise RnnkitError(f"--attention: expected one of {', '.join(ATTENTION_KINDS)}, given {self.attention!r}")
        for name, low in (("beam", 1), ("max_length", 1), ("min_count", 1), ("vocab_size", 5)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise RnnkitError(f"{flag(name)}: expected an integer >= {low}, given {value!r}")
        if not self.length_penalty >= 0:
            raise RnnkitError(f"--length-penalty: expected a number >= 0, given {self.length_penalty!r}")
        if self.bidirectional:
            raise RnnkitError("--bidirectional: the decoder starts from the encoder's final state; "
                              "this encoder reads one direction")
        return self


# -- the model ---------------------------------------------------------------------------------------------


def build_model(config: Config, source_vocab: Vocab, target_vocab: Vocab) -> Seq2Seq:
    encoder = make_recurrent(config, config.embed, seed=config.seed, bidirectional=False)
    decoder = make_recurrent(config, config.embed, seed=config.seed + 100, bidirectional=False)
    model = Seq2Seq(source_vocab, target_vocab, encoder, decoder, config.embed, config.attention, config.dropout,
                    seed=config.seed + 200)
    model.config = config
    return model


def _model_of_run(run: Run, config: Config) -> Seq2Seq:
    vocabs = [Vocab.from_json(run.read_json(f"{side}_vocab.json"), str(run.file(f"{side}_vocab.json")))
              for side in ("source", "target")]
    if vocabs[1].itos[:4] != [PAD, UNK, BOS, EOS]:
        raise RunError(f"{run.file('target_vocab.json')}: expected the tokens to start {PAD} {UNK} {BOS} {EOS}")
    return build_model(config, *vocabs)


# -- decoding ------------------------------------------------------------------------------------------------


def _source_ids(model: Seq2Seq, texts: list[str]) -> list[np.ndarray]:
    bad = [t for t in texts if not isinstance(t, str) or not source_tokens(t)]
    if bad:
        raise RnnkitError(f"TEXT: expected sentences with at least one word, given {bad[0]!r}")
    cut = model.config.max_length
    return [model.source_vocab.encode(source_tokens(t)[:cut]) for t in texts]


def _text(model: Seq2Seq, ids: list[int]) -> str:
    return detokenize(model.target_vocab.decode(ids))


def greedy_translations(model: Seq2Seq, sources: list[np.ndarray], max_length: int) -> list[list[int]]:
    """Greedy ids of every source, in batches of similar source length."""
    out: list = [None] * len(sources)
    for idx in length_batches([len(s) for s in sources], EVAL_BATCH):
        for i, ids in zip(idx, model.greedy([sources[i] for i in idx], max_length)):
            out[i] = ids
    return out


def translate_ids(model: Seq2Seq, sources: list[np.ndarray], beam: int, nbest: int = 1,
                  length_penalty: float | None = None, max_length: int | None = None) -> list[list[tuple]]:
    """The n-best (ids, score) lists of every source: greedy (score None) for beam 1 and nbest 1."""
    cfg = model.config
    max_length = cfg.max_length if max_length is None else max_length
    alpha = cfg.length_penalty if length_penalty is None else length_penalty
    if beam == 1 and nbest == 1:
        return [[(ids, None)] for ids in greedy_translations(model, sources, max_length)]
    return [model.beam_search(s, max(beam, nbest), max_length, alpha, nbest) for s in sources]


def translate(model: Seq2Seq, text: str, beam: int | None = None, nbest: int = 1,
              length_penalty: float | None = None, max_length: int | None = None) -> dict:
    """{"input", "translation", "score", "nbest": [{"translation", "score"}, ...]} for one sentence."""
    beam = model.config.beam if beam is None else beam
    for name, value in (("--beam", beam), ("--nbest", nbest), ("--max-length", max_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RnnkitError(f"{name}: expected a positive integer, given {value!r}")
    if length_penalty is not None and not (isinstance(length_penalty, (int, float)) and 0 <= length_penalty < math.inf):
        raise RnnkitError(f"--length-penalty: expected a finite number >= 0, given {length_penalty!r}")
    hyps = translate_ids(model, _source_ids(model, [text]), beam, nbest, length_penalty, max_length)[0]
    listed = [{"translation": _text(model, ids), "score": score} for ids, score in hyps]
    return {"input": text, "translation": listed[0]["translation"], "score": listed[0]["score"], "nbest": listed}


def predict(model: Seq2Seq, inputs: list[str]) -> list[dict]:
    """The translation of each input sentence (the run's --beam)."""
    return [translate(model, text) for text in inputs]


def format_prediction(result: dict) -> str:
    return result["translation"]


# -- metrics -------------------------------------------------------------------------------------------------


def scores(model: Seq2Seq, sources: list[str], references: list[str], beam: int = 1) -> dict:
    """BLEU (sacreBLEU's corpus BLEU, 0–100) and exact match of the model's translations."""
    return scored(translations(model, sources, beam), references)


def translations(model: Seq2Seq, sources: list[str], beam: int = 1) -> list[str]:
    """The model's best translation of each source sentence."""
    return [_text(model, nbest[0][0]) for nbest in translate_ids(model, _source_ids(model, sources), beam)]


def scored(hyps: list[str], references: list[str]) -> dict:
    """BLEU and exact match of the translations ``hyps`` (and the translations)."""
    return {"bleu": corpus_bleu(hyps, [references]), "exact_match": exact_match(hyps, references),
            "hypotheses": hyps}


def evaluate(model: Seq2Seq, paths: list[str]) -> dict:
    """BLEU and exact match of ``model`` (beam ``model.config.beam``) on the pairs file(s) ``paths``."""
    pairs = read_pairs(paths)
    s = scores(model, pairs.sources, pairs.targets, model.config.beam)
    return {"pairs": len(pairs.sources), "beam": model.config.beam, "bleu": s["bleu"], "exact_match": s["exact_match"]}


# -- training --------------------------------------------------------------------------------------------------


class TranslateObjective(HeldRows):
    """Teacher-forced batches bucketed by length; greedy BLEU on the held-out pairs picks the best weights.
    On several ranks each holds its block of the training pairs (:class:`~rnnkit.tasks.base.HeldRows`)."""

    metric, mode, unit = "val_bleu", "max", "tokens"

    def __init__(self, model: Seq2Seq, train: tuple[list, list], val: tuple[list, list], config: Config):
        self.model, self.config = model, config
        self.held = {"src": train[0], "tgt": train[1]}
        self.val_sources, self.val_targets = val
        # batches sorted by target length first: the output layer, the costliest product, then pads little
        self.lengths = np.array([1000 * len(t) + len(s) for s, t in zip(*train)])

    def steps_per_epoch(self) -> int:
        return -(-len(self.lengths) // self.config.batch_size)

    def batches(self, rng):
        return self.held_batches(bucket_batches(self.lengths, self.config.batch_size, rng),
                                 lambda rows: make_batch(self.rows("src", rows), self.rows("tgt", rows)))

    def start_epoch(self) -> None:
        pass

    def weight(self, batch) -> int:
        return int(batch[4].sum())  # the loss is the mean over real target tokens (and <eos>)

    def train_step(self, batch) -> tuple[float, int]:
        src, src_len, tgt_in, tgt_out, tgt_len = batch
        logits = self.model.forward(src, tgt_in, src_len, tgt_len)
        mask = np.arange(tgt_in.shape[1])[None, :] < tgt_len[:, None]
        loss, dlogits = softmax_cross_entropy(logits, tgt_out, mask)
        self.model.backward(dlogits)
        return float(loss), int(tgt_len.sum())

    def distribute(self, world) -> None:
        """Keep this rank's block of the training pairs and its share of the held-out sources."""
        super().distribute(world)
        self.val_sources = self.val_share(self.val_sources)

    def evaluate(self) -> dict[str, float]:
        sources = self.val_sources  # this rank's share; greedy; the translations of all ranks joined in order
        hyps = [h for part in self.each_share(len(self.val_targets), lambda _: translations(self.model, sources))
                for h in part]
        s = scored(hyps, self.val_targets)
        return {"val_bleu": s["bleu"], "val_exact_match": s["exact_match"]}

    def carried(self) -> dict[str, np.ndarray]:
        return {}

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass


def make_batch(src: list[np.ndarray], tgt: list[np.ndarray]):
    """-> src (B, S), src lengths, decoder input <bos> y (B, T), targets y <eos> (B, T), target lengths."""
    src_pad, src_len = pad_sequences(src, pad=PAD_ID)
    tgt_in, tgt_len = pad_sequences([np.concatenate([[BOS_ID], t]) for t in tgt], pad=PAD_ID)
    tgt_out, _ = pad_sequences([np.concatenate([t, [EOS_ID]]) for t in tgt], pad=PAD_ID)
    return src_pad, src_len, tgt_in, tgt_out, tgt_len


def _model_and_splits(config: Config, pairs: Pairs, model: Seq2Seq | None):
    """The model (new vocabularies from the training part unless given) and the encoded splits."""
    if config.val:   # all of DATA trains; --val holds out
        held, n = load_pairs([config.val]), len(pairs.sources)
        pairs = Pairs(pairs.sources + held.sources, pairs.targets + held.targets, pairs.where + held.where)
        train_idx, val_idx = np.arange(n), np.arange(n, len(pairs.sources))
    else:
        train_idx, val_idx = split_indices(len(pairs.sources), config.val_fraction)
    if model is None:
        src_vocab = build_vocab((source_tokens(pairs.sources[i]) for i in train_idx), [PAD, UNK], config)
        tgt_vocab = build_vocab((target_tokens(pairs.targets[i]) for i in train_idx), [PAD, UNK, BOS, EOS], config)
        model = build_model(config, src_vocab, tgt_vocab)
    src, tgt = encode_pairs(model, [pairs.sources[i] for i in train_idx], [pairs.targets[i] for i in train_idx])
    keep = [k for k in range(len(src)) if 0 < len(src[k]) <= config.max_length and 0 < len(tgt[k]) <= config.max_length]
    if not keep:
        raise DataError(f"{', '.join(config.data) or 'the bundled pairs'}: no training pair has both sides within "
                        f"--max-length {config.max_length} words")
    train = ([src[k] for k in keep], [tgt[k] for k in keep])
    val = ([pairs.sources[i] for i in val_idx], [pairs.targets[i] for i in val_idx])
    return model, train, val, len(src) - len(keep)


def _write_heldout(run: Run, val: tuple[list, list]) -> None:
    text = "".join(f"{s}\t{t}\n" for s, t in zip(*val))
    atomic_write_bytes(run.file("heldout.tsv"), text.encode("utf-8"))


def prepare(config: Config, run: Run | None) -> Plan:
    """The pairs, the model (the run's, or fresh with vocabularies of the training part), the objective;
    a finished run is scored on the held-out pairs (written into a new run as heldout.tsv)."""
    model = _model_of_run(run, config) if run else None
    model, train_set, val, skipped = _model_and_splits(config, load_pairs(config.data), model)
    n_train = len(train_set[0])  # the closure keeps the count, not the pairs (a rank holds its block only)

    def finish(run: Run, summary: dict) -> dict:
        return _final_scores(run, config, val) | {
            "train_pairs": n_train, "heldout_pairs": len(val[0]), "skipped_too_long": skipped,
            "source_vocab": len(model.source_vocab), "target_vocab": len(model.target_vocab)}

    return Plan(TranslateObjective(model, train_set, val, config),
                files={"source_vocab.json": model.source_vocab.to_json(),
                       "target_vocab.json": model.target_vocab.to_json()},
                write_new=lambda run: _write_heldout(run, val), finish=finish,
                report=lambda s: f"held-out BLEU {s['heldout_bleu_greedy']:.2f} (greedy), "
                                 f"{s['heldout_bleu_beam']:.2f} (beam {config.beam}); exact match "
                                 f"{s['heldout_exact_match_beam']:.3f}")


RECIPE = Recipe(NAME, Config, prepare, default_epochs=DEFAULT_EPOCHS)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train a translation model; returns the summary (``summary["run"]`` is the run directory).

    Everything is read and checked before the run directory is created.
    ``resume``: continue that run instead, with the budget ``changes`` (see :mod:`rnnkit.tasks.session`);
    ``world``: the processes training together (see :mod:`rnnkit.tasks.driver`).
    """
    return driver.train(RECIPE, config, resume, changes, world)


def _final_scores(run: Run, config: Config, val: tuple[list, list]) -> dict:
    """Greedy and beam BLEU of the best weights on the held-out pairs."""
    best = load(run)
    greedy, beam = scores(best, *val, beam=1), scores(best, *val, beam=config.beam)
    return {"heldout_bleu_greedy": greedy["bleu"], "heldout_exact_match_greedy": greedy["exact_match"],
            "heldout_bleu_beam": beam["bleu"], "heldout_exact_match_beam": beam["exact_match"]}


def load(run: Run | str, which: str = "best") -> Seq2Seq:
    """The trained model of a run (``best`` or ``last`` weights), in eval mode, with ``.config``."""
    run, config = open_task_run(run, NAME, Config)
    model = _model_of_run(run, config)
    run.load_model(f"{which}.safetensors", model)
    return model.eval()


def add_arguments(parser) -> None:
    """translate's own flags for ``rnnkit train translate`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[],
                        help="source<TAB>target file(s), pooled; default: the bundled English-French Tatoeba pairs")
    options = {
        "val": (dict(metavar="FILE"), "held-out pairs, a file like DATA (default: a fixed random --val-fraction)"),
        "attention": (dict(choices=ATTENTION_KINDS), f"attention over the encoder outputs (default {d.attention})"),
        "beam": (dict(type=int), f"beam width for the final held-out score and for translating (default {d.beam})"),
        "length_penalty": (dict(type=float), f"beam scores are log P / length^this (default {d.length_penalty})"),
        "max_length": (dict(type=int), (f"longest sentence trained on and translation produced, in words "
                                        f"(default {d.max_length})")),
        "min_count": (dict(type=int), f"rarer words become <unk> (default {d.min_count})"),
        "vocab_size": (dict(type=int), f"keep at most this many words per language (default {d.vocab_size})"),
    }
    add_options(parser, options)
