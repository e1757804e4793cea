"""tag: named-entity tagging, many-to-many aligned: a tag for every word of a sentence.

A bidirectional recurrent layer reads each sentence's words (lower-cased, with a casing class and,
with ``--char-features``, on by default, a small recurrent encoding of each word's characters) and a
linear layer on every step gives the tag scores (:class:`~rnnkit.tasks.tagger.Tagger`). Tags are
kept and predicted in IOB2 (B-X begins every entity): each sentence gets the valid IOB2 tag sequence
of highest log-probability (Viterbi, :mod:`~rnnkit.tasks.tag_decoding`). Files in IOB1 (CoNLL-2003)
are read the way conlleval reads them, so the entities, and the scores, are the same.

Data (:mod:`rnnkit.data.conll`): CoNLL column files, token first and tag last, space- or tab-separated,
a blank line between sentences, ``-DOCSTART-`` lines skipped, IOB1 or IOB2 tags (detected, or
``--scheme``). Several training files are pooled. ``--val FILE`` gives the validation sentences;
without it, the last ``--val-fraction`` of the training sentences after a fixed shuffle (independent
of ``--seed``). Without DATA the bundled generated sentences (``rnnkit/datasets/ner``, ours, MIT) are
used. The vocabulary comes from the training sentences; during training a word seen only once becomes
``<unk>`` with probability ``--unk-replace``, so that ``<unk>`` is learned and the characters and
casing carry unknown words.

Metrics (:mod:`rnnkit.train.entities`): entity precision, recall and F1 as conlleval computes them,
overall (``val_f1`` picks the best weights) and per type, and token accuracy.

Measured on the project's 2-core machine (shared with other jobs), float32, default options (a
bidirectional GRU of 100 units over 100-d word embeddings + 8 casing classes + a bidirectional GRU of
25 units over 25-d character embeddings; dropout 0.5; Adam 2e-3, batch 16, cosine schedule, 8 epochs
= 7,024 steps), CoNLL-2003 without pre-trained vectors:

    rnnkit train tag eng.train --val eng.testa     best val_f1 (eng.testa) 0.902 at epoch 7, 3.7 min
    rnnkit evaluate runs/tag eng.testb             entity F1 0.846 (PER 0.89, LOC 0.90, ORG 0.81, MISC 0.72)

examples:
  rnnkit train tag                                            # bundled generated sentences
  rnnkit train tag eng.train --val eng.testa                  # CoNLL-2003
  rnnkit predict runs/tag "EU rejects German call to boycott British lamb ."
  rnnkit evaluate runs/tag eng.testb

Python::

    from rnnkit.tasks import tag
    summary = tag.train(tag.Config(data=["eng.train"], val="eng.testa"))
    tagger = rnnkit.load(summary["run"])                        # a Tagger, in eval mode
    tagger.tag([["EU", "rejects", "German", "call"]])           # [['B-ORG', 'O', 'B-MISC', 'O']]
    tag.predict(tagger, ["EU rejects German call"])             # tokens, tags and entities
"""
from __future__ import annotations

from argparse import SUPPRESS
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import resources

import numpy as np

from rnnkit.data.batching import bucket_batches, pad_sequences
from rnnkit.data.conll import SCHEMES, Tagged, read_conll
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.tasks import driver
from rnnkit.tasks.base import HeldRows, make_recurrent, open_task_run, split_indices
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.tasks.tag_scoring import logits_of, scores
from rnnkit.tasks.tagger import CASINGS, Tagger, word_key
from rnnkit.train.config import VARIANT_FIELDS, TrainConfig, add_options, flag
from rnnkit.train.entities import chunks, entity_scores, format_entity_scores
from rnnkit.train.run import Run

NAME = "tag"
VERBS = ("predict", "evaluate", "info")
BUNDLED = ("train.conll", "valid.conll")
DEFAULT_EPOCHS = 8
SPLIT_SEED = 0x5EED


@dataclass
class Config(TrainConfig):
    """tag's options: the training options plus files, tag scheme, vocabulary and character features."""

    data: list[str] = field(default_factory=list)
    val: str | None = None
    scheme: str = "auto"
    char_features: bool = True
    char_embed: int = 25
    char_hidden: int = 25
    max_word: int = 20
    keep_case: bool = False
    min_count: int = 1
    vocab_size: int = 50000
    unk_replace: float = 0.5
    embed_std: float = 0.1
    crf: bool = False
    cell: str = "gru"
    hidden: int = 100
    bidirectional: bool = True
    dropout: float = 0.5
    embed: int = 100
    batch_size: int = 16
    lr: float = 2e-3
    schedule: str = "cosine"
    val_fraction: float = 0.1
    patience: int | None = None   # the cosine schedule anneals over the whole budget: let it (docs/defaults.md)

    def check(self) -> "Config":
        super().check()
        if self.scheme not in SCHEMES:
            raise RnnkitError(f"--scheme: expected one of {', '.join(SCHEMES)}, given {self.scheme!r}")
        for name, low in (("char_embed", 1), ("char_hidden", 1), ("max_word", 1), ("min_count", 1),
                          ("vocab_size", 3)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise RnnkitError(f"{flag(name)}: expected an integer >= {low}, given {value!r}")
        if not 0 <= self.unk_replace <= 1:
            raise RnnkitError(f"--unk-replace: expected a probability in [0, 1], given {self.unk_replace!r}")
        if not self.embed_std > 0:
            raise RnnkitError(f"--embed-std: expected a positive number, given {self.embed_std!r}")
        return self


# -- data and vocabularies ------------------------------------------------------------------------------------


def bundled_paths() -> list[str]:
    """The generated training and validation sentences shipped with rnnkit (see datasets/ner/README)."""
    root = resources.files("rnnkit.datasets") / "ner"
    return [str(root / name) for name in BUNDLED]


def split(data: Tagged, val_fraction: float) -> tuple[Tagged, Tagged]:
    """(train, validation): a fixed shuffle, then the last ``val_fraction`` for validation."""
    parts = []
    for idx in split_indices(len(data), val_fraction, SPLIT_SEED, "sentences",
                             "more data, --val FILE or another --val-fraction"):
        parts.append(Tagged([data.tokens[i] for i in idx], [data.tags[i] for i in idx],
                            [data.where[i] for i in idx], data.scheme))
    return parts[0], parts[1]


def read_data(config: Config) -> tuple[Tagged, Tagged]:
    """(train, validation) sentences: DATA (or the bundled file) and ``--val`` (or a split); all checked."""
    bundled_train, bundled_val = bundled_paths()
    train = read_conll(config.data or bundled_train, config.scheme)
    if all(t == "O" for s in train.tags for t in s):
        raise DataError(f"{', '.join(config.data)}: every tag is 'O' (outside any entity): there is nothing to "
                        f"learn; check that the last column holds the entity tags")
    if config.val or not config.data:
        return train, read_conll(config.val or bundled_val, config.scheme)
    return split(train, config.val_fraction)


def build_vocabs(train: Tagged, val: Tagged, config: Config) -> tuple[Vocab, Vocab | None, list[str]]:
    """Words (<pad>, <unk>, then by frequency), characters (<pad>, <unk>, then sorted) and tags (O first)."""
    counts = Counter(word_key(t, not config.keep_case) for s in train.tokens for t in s)
    kept = [w for w, c in counts.most_common() if c >= config.min_count]
    vocab = Vocab([PAD, UNK] + kept[:config.vocab_size - 2], unk=UNK)
    chars = None
    if config.char_features:
        chars = Vocab([PAD, UNK] + sorted({ch for s in train.tokens for t in s for ch in t}), unk=UNK)
    tags = sorted({t for s in train.tags + val.tags for t in s}, key=lambda t: (t != "O", t[2:], t))
    return vocab, chars, tags


def build_model(config: Config, vocab: Vocab, chars: Vocab | None, tags: list[str]) -> Tagger:
    char_rnn, char_out = None, 0
    if chars is not None:  # the same cell, one plain bidirectional layer of --char-hidden units (no variants)
        shape = replace(config, hidden=config.char_hidden, layers=1, dropout=0.0,
                        **{name: getattr(TrainConfig(), name) for name in VARIANT_FIELDS})
        char_rnn = make_recurrent(shape, config.char_embed, seed=config.seed + 30, bidirectional=True)
        char_out = 2 * config.char_hidden
    rnn = make_recurrent(config, config.embed + len(CASINGS) + char_out, seed=config.seed)
    model = Tagger(rnn, tags, vocab, config.embed, chars, char_rnn, config.char_embed, config.dropout,
                   seed=config.seed + 10, lowercase=not config.keep_case, max_word=config.max_word, crf=config.crf)
    model.embedding.params["weight"] *= config.embed_std                    # N(0, 1) -> N(0, σ²)
    if model.char is not None:
        model.char.embedding.params["weight"] *= config.embed_std
    model.config = config
    return model


def tag_ids(model: Tagger, data: Tagged) -> list[np.ndarray]:
    index = {t: i for i, t in enumerate(model.tags)}
    unknown = sorted({t for s in data.tags for t in s} - set(index))
    if unknown:
        raise DataError(f"{data.where[0].rsplit(':', 1)[0]}: tag(s) {', '.join(map(repr, unknown[:10]))} are "
                        f"not tags of the model")
    return [np.array([index[t] for t in s], dtype=np.int64) for s in data.tags]


# -- training ------------------------------------------------------------------------------------------------


class TagObjective(HeldRows):
    """Padded, length-bucketed batches of sentences; validation entity F1 for the best weights.
    On several ranks each holds its block of the training sentences (:class:`~rnnkit.tasks.base.HeldRows`)."""

    metric, mode, unit = "val_f1", "max", "words"

    def __init__(self, model: Tagger, train: tuple[list, list], val: tuple[list, list, list], config: Config,
                 rare: np.ndarray):
        self.model, self.config, self.rare = model, config, rare
        self.held, self.val = {"rows": train[0], "y": train[1]}, val
        self.val_lengths = [len(r) for r in val[0]]  # of every validation sentence (a rank may hold its share)
        self.lengths = np.array([len(r) for r in train[0]])
        self.extras: dict = {}

    def summary_extras(self) -> dict:
        """The data sizes, merged into the run's summary by the trainer."""
        return dict(self.extras)

    def steps_per_epoch(self) -> int:
        return -(-len(self.lengths) // self.config.batch_size)

    def batches(self, rng):
        for idx in bucket_batches(self.lengths, self.config.batch_size, rng):
            # which words become <unk>: drawn for the whole global batch on every rank, as one process does
            draw = rng.random((len(idx), int(self.lengths[idx].max()))) < self.config.unk_replace
            held = self.holds(idx)
            yield self._batch(idx[held], draw[held]) if held.any() else None

    def _batch(self, rows: np.ndarray, draw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, lengths = pad_sequences(self.rows("rows", rows))
        y, _ = pad_sequences(self.rows("y", rows))
        words = x[..., 0]
        drop = self.rare[words] & draw[:, :words.shape[1]]
        x[..., 0] = np.where(drop, self.model.vocab.unk_id, words)   # singletons -> <unk>, sometimes
        return x, lengths, y

    def start_epoch(self) -> None:
        pass

    def weight(self, batch) -> int:
        return int(batch[1].sum())  # the loss is the mean over real words

    def distribute(self, world) -> None:
        """Keep this rank's block of the training sentences and its share of the validation sentences."""
        super().distribute(world)
        rows, y, gold = self.val
        self.val = self.val_share(rows), y, gold

    def _shared_logits(self, model: Tagger, rows: list[np.ndarray]) -> list[np.ndarray]:
        """:func:`logits_of` of every validation sentence, each rank running its share ``rows`` (their words'
        rows joined)."""
        words = self.joined(len(self.val_lengths), np.concatenate(logits_of(model, rows) or
                                                                  [np.zeros((0, len(model.tags)), model.dtype)]))
        return np.split(words, np.cumsum(self.val_lengths)[:-1])

    def train_step(self, batch) -> tuple[float, int]:
        x, lengths, y = batch
        loss, dlogits = self.model.loss(self.model.forward(x, lengths), y, lengths)
        self.model.backward(dlogits)
        return float(loss), int(lengths.sum())

    def evaluate(self) -> dict[str, float]:
        s = scores(self.model, *self.val, logits_fn=self._shared_logits)
        return {"val_loss": s["loss"], "val_f1": s["f1"], "val_precision": s["precision"],
                "val_recall": s["recall"], "val_accuracy": s["accuracy"]}

    def carried(self) -> dict[str, np.ndarray]:
        return {}

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass


def _model_of_run(run: Run, config: Config) -> Tagger:
    tags = run.read_json("tags.json").get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise RunError(f"{run.file('tags.json')}: expected {{'tags': [tag names]}}")
    vocab = Vocab.from_json(run.read_json("vocab.json"), str(run.file("vocab.json")))
    chars = Vocab.from_json(run.read_json("chars.json"), str(run.file("chars.json"))) if config.char_features \
        else None
    return build_model(config, vocab, chars, tags)


def _rare_words(model: Tagger, train: Tagged) -> np.ndarray:
    """(V,) bool: the words seen exactly once in the training sentences."""
    counts = Counter(word_key(t, model.lowercase) for s in train.tokens for t in s)
    rare = np.zeros(len(model.vocab), dtype=bool)
    rare[[model.vocab.stoi[w] for w, c in counts.items() if c == 1 and w in model.vocab.stoi]] = True
    return rare


def prepare(config: Config, run: Run | None) -> Plan:
    """The sentences, the model (the run's, or fresh with vocabularies of the training part), the objective."""
    model = _model_of_run(run, config) if run else None
    train_data, val_data = read_data(config)
    if model is None:
        model = build_model(config, *build_vocabs(train_data, val_data, config))
    objective = TagObjective(model, ([model.encode(s) for s in train_data.tokens], tag_ids(model, train_data)),
                             ([model.encode(s) for s in val_data.tokens], tag_ids(model, val_data),
                              val_data.tags), config, _rare_words(model, train_data))
    objective.extras = {"train_sentences": len(train_data), "val_sentences": len(val_data),
                        "train_words": int(objective.lengths.sum()), "vocab_size": len(model.vocab),
                        "tags": len(model.tags), "scheme": train_data.scheme}
    files = {"tags.json": {"tags": model.tags, "scheme": train_data.scheme}, "vocab.json": model.vocab.to_json()}
    if model.chars is not None:
        files["chars.json"] = model.chars.to_json()
    return Plan(objective, files)


RECIPE = Recipe(NAME, Config, prepare, default_epochs=DEFAULT_EPOCHS)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train a tagger; returns the summary (``summary["run"]`` is the run directory).

    Everything is read and checked before the run directory is created.
    ``resume``: continue that run instead, with the budget ``changes`` (see :mod:`rnnkit.tasks.session`);
    ``world``: the processes training together (see :mod:`rnnkit.tasks.driver`).
    """
    return driver.train(RECIPE, config, resume, changes, world)

# -- using a trained model ------------------------------------------------------------------------------------


def load(run: Run | str, which: str = "best") -> Tagger:
    """The trained tagger of a run (``best`` or ``last`` weights), in eval mode, with ``.config``."""
    run, config = open_task_run(run, NAME, Config)
    model = _model_of_run(run, config)
    run.load_model(f"{which}.safetensors", model)
    return model.eval()


def predict(model: Tagger, inputs: list[str]) -> list[dict]:
    """Tags and entities of each sentence (split on whitespace; an empty one gets none)."""
    bad = [x for x in inputs if not isinstance(x, str)]
    if bad:
        raise RnnkitError(f"INPUT: this model tags sentences (strings); given {type(bad[0]).__name__}")
    sentences = [x.split() for x in inputs]
    results = []
    for text, tokens, tags in zip(inputs, sentences, model.tag(sentences)):
        entities = [{"type": kind, "start": a, "end": b + 1, "text": " ".join(tokens[a:b + 1])}
                    for kind, a, b in chunks(tags)]
        results.append({"input": text, "tokens": tokens, "tags": tags, "entities": entities})
    return results


def format_prediction(result: dict) -> str:
    return " ".join(f"{w}/{t}" for w, t in zip(result["tokens"], result["tags"]))


def evaluate(model: Tagger, paths: list[str]) -> dict:
    """Entity precision, recall, F1 (overall and per type) and token accuracy on CoNLL file(s)."""
    data = read_conll(paths)
    pred = model.tag(data.tokens)
    return {"sentences": len(data), **entity_scores(data.tags, pred)}


def format_evaluation(result: dict) -> str:
    return f"{result['sentences']} sentences\n" + format_entity_scores(result)


def add_arguments(parser) -> None:
    """tag's own flags for ``rnnkit train tag`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[],
                        help="CoNLL training file(s) (token ... tag columns); default: the bundled generated "
                             "sentences")
    options = {
        "val": (dict(metavar="FILE"), "validation sentences, a CoNLL file (default: the last --val-fraction "
                                      "of the training sentences)"),
        "scheme": (dict(choices=SCHEMES), f"tag scheme of the files; auto detects it (default {d.scheme})"),
        "char_embed": (dict(type=int), f"character embedding size (default {d.char_embed})"),
        "char_hidden": (dict(type=int), f"character recurrent units per direction (default {d.char_hidden})"),
        "max_word": (dict(type=int), f"characters of a word the character layer reads (default {d.max_word})"),
        "keep_case": (dict(action="store_true"), "do not lower-case words (the casing feature stays)"),
        "min_count": (dict(type=int), f"rarer words become <unk> (default {d.min_count})"),
        "vocab_size": (dict(type=int), f"keep at most this many words (default {d.vocab_size})"),
        "unk_replace": (dict(type=float), f"in training, a word seen once becomes <unk> with this probability "
                                          f"(default {d.unk_replace})"),
        "embed_std": (dict(type=float), f"embeddings start as N(0, σ²) with this σ (default {d.embed_std})"),
        "crf": (dict(action="store_true"), "a linear-chain CRF on the tag scores, trained by its likelihood and "
                                           "decoded by its Viterbi (a BiLSTM-CRF; default: a softmax per word)"),
    }
    add_options(parser, options)
    parser.add_argument("--char-features", dest="char_features", action="store_true", default=SUPPRESS,
                        help="add a recurrent encoding of each word's characters (the default)")
    parser.add_argument("--no-char-features", dest="char_features", action="store_false", default=SUPPRESS,
                        help="words, casing and nothing else")
    parser.add_argument("--no-bidirectional", dest="bidirectional", action="store_false", default=SUPPRESS,
                        help="read the sentence left to right only")
