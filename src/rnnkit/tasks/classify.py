"""classify: sequence classification, many-to-one: a sentence or a numeric sequence in, a class out.

A recurrent encoder reads the sequence and a linear layer on its final state(s) gives the class
scores (:class:`~rnnkit.tasks.classifier.Classifier`): one logit and the sigmoid for two classes,
C logits and the softmax otherwise. Labels are strings; the classes are the distinct labels sorted
("0" < "1", "neg" < "pos", numbers by value), so class 1 of a binary task is the second.

Data (see :mod:`rnnkit.data.tables`): CSV/TSV files with a text and a label column, or .npz archives
of numeric sequences (X (N, T, D), y (N,), optional lengths (N,)); several files are pooled. Without
DATA the three bundled UCI "Sentiment Labelled Sentences" files (Amazon, IMDb, Yelp; 3,000
sentences, 0 = negative, 1 = positive) are used. The validation set is ``--val FILE``, or else the
last ``--val-fraction`` (default 0.2) after a fixed shuffle that does not depend on ``--seed``, so every
run is scored on the same examples; the vocabulary (and the .npz standardisation) come from the
training part only. When more than 5% of those validation texts also occur in the training texts,
whole or inside a longer one (a data set of phrases, such as a sentiment treebank's), whole texts and
their phrases are held out instead (``--val-split auto``, the default; :mod:`rnnkit.data.phrases`):
a random split of phrases scores validation far above unseen sentences, and early stopping trusts it.
``--val-split random`` keeps the random split, with a warning (:mod:`rnnkit.data.overlap`).
With ``--embeddings`` (GloVe/word2vec text) the embedding size is the file's and words of the
training part found in the file keep their vector even below ``--min-count``.

Learned embeddings start as N(0, 0.1²) (``--embed-std``), not PyTorch's N(0, 1): Adam moves each
weight by about ``--lr`` per step, so unit-scale random vectors stay mostly random over the few
hundred steps that 2,400 sentences allow. Tuned on a split of the training part only (1,920 / 480
sentences, three seeds each), σ = 1 stalled near 0.76 and σ = 0.1 reached 0.80-0.82.

Measured on a 2-core machine (rnnkit 0.1.0, float32), bundled data, the 600 validation sentences;
early stopping after 7-10 epochs, well under a minute:

    rnnkit train classify                  best val_accuracy 0.838 (--seed 1, 2: 0.825, 0.827)
    rnnkit train classify --cell lstm      best val_accuracy 0.835 (--seed 1: 0.825)

examples:
  rnnkit train classify                                       # bundled UCI sentiment sentences
  rnnkit train classify reviews.csv --text-col review --label-col stars --tokens char
  rnnkit train classify signals.npz --cell lstm --hidden 32   # X (N, T, D), y (N,), lengths (N,)
  rnnkit predict runs/classify "What a wonderful film." "Utterly boring."
  rnnkit evaluate runs/classify held_out.tsv

Python::

    from rnnkit.tasks import classify
    summary = classify.train(classify.Config(out="runs/classify"))
    model = rnnkit.load(summary["run"])                               # a Classifier, in eval mode
    classify.predict(model, ["What a wonderful film.", "Utterly boring."])
    # [{'input': 'What a wonderful film.', 'label': '1', 'probability': 0.97, ...}, ...]
"""
from __future__ import annotations

from argparse import SUPPRESS
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from rnnkit.data.batching import bucket_batches, length_batches, pad_sequences
from rnnkit.data.embeddings import embedding_matrix, read_vectors
from rnnkit.data.overlap import leak_warning
from rnnkit.data.tables import Labelled, label_order
from rnnkit.data.vocab import PAD, UNK, Vocab, words
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.tasks import driver
from rnnkit.tasks.base import HeldRows, fit_scaler, make_recurrent, open_task_run
from rnnkit.tasks.classifier import Classifier, check_features, named_inputs
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.tasks.labelled_data import VAL_SPLITS, read_data, split_data, split_name
from rnnkit.train.config import TrainConfig, add_options, flag
from rnnkit.train.metrics import classification_scores, format_confusion
from rnnkit.train.progress import summary_table
from rnnkit.train.run import Run

NAME = "classify"
VERBS = ("predict", "evaluate", "info")
DEFAULT_EPOCHS = 15
EVAL_BATCH = 256


@dataclass
class Config(TrainConfig):
    """classify's options: the training options plus data columns, tokens and embeddings."""

    data: list[str] = field(default_factory=list)
    val: str | None = None
    val_split: str = "auto"
    tokens: str = "word"
    text_col: str | None = None
    label_col: str | None = None
    no_header: bool = False
    vocab_size: int = 20000
    min_count: int = 1
    keep_case: bool = False
    max_length: int | None = None
    embeddings: str | None = None
    freeze_embeddings: bool = False
    embed_std: float = 0.1
    features: int | None = None  # D of .npz inputs: set from the data, not a flag
    cell: str = "gru"
    hidden: int = 64
    bidirectional: bool = True
    dropout: float = 0.5
    embed: int = 50
    val_fraction: float = 0.2
    patience: int | None = 5

    def check(self) -> "Config":
        super().check()
        if self.tokens not in ("word", "char"):
            raise RnnkitError(f"--tokens: expected word or char, given {self.tokens!r}")
        if self.val_split not in VAL_SPLITS:
            raise RnnkitError(f"--val-split: expected one of {', '.join(VAL_SPLITS)}, given {self.val_split!r}")
        for name, low in (("vocab_size", 3), ("min_count", 1), ("max_length", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
                raise RnnkitError(f"{flag(name)}: expected an integer >= {low}, given {value!r}")
        self.text_col = None if self.text_col is None else str(self.text_col)
        self.label_col = None if self.label_col is None else str(self.label_col)
        if not self.embed_std > 0:
            raise RnnkitError(f"--embed-std: expected a positive number, given {self.embed_std!r}")
        if self.freeze_embeddings and not self.embeddings:
            raise RnnkitError("--freeze-embeddings: freezes pre-trained vectors; give them with --embeddings PATH")
        return self


# -- the model and its inputs --------------------------------------------------------------------------------


def build_model(config: Config, labels: list[str], vocab: Vocab | None, scaler: dict | None) -> Classifier:
    inputs = config.features if vocab is None else config.embed
    rnn = make_recurrent(config, inputs, seed=config.seed)
    model = Classifier(rnn, labels, vocab, config.embed if vocab else None, config.dropout, seed=config.seed + 10,
                       freeze_embedding=config.freeze_embeddings, scaler=scaler)
    if model.embedding is not None:
        model.embedding.params["weight"] *= config.embed_std                # N(0, 1) -> N(0, σ²)
    model.config = config
    return model


def tokenize(text: str, config: Config) -> list[str]:
    """Words (and punctuation) or characters, lower-cased unless --keep-case, cut at --max-length."""
    text = text if config.keep_case else text.lower()
    tokens = words(text) if config.tokens == "word" else list(" ".join(text.split()))
    return tokens[:config.max_length] if config.max_length else tokens


def build_vocab(token_lists: list[list[str]], config: Config, keep=()) -> Vocab:
    """<pad>, <unk>, then tokens seen --min-count times (or in ``keep``), most frequent first."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = [t for t, c in counts.most_common() if c >= config.min_count or t in keep]
    return Vocab([PAD, UNK] + kept[:config.vocab_size - 2], unk=UNK)


def encode(model: Classifier, inputs: list, source: str = "INPUT") -> list[np.ndarray]:
    """Id sequences (T_i,) of texts, or standardised (T_i, D) sequences in the model's dtype.

    Sequences must have the D features the model was trained on (DataError naming ``source``)."""
    cut = model.config.max_length
    if model.vocab is None:
        mean, std = np.array(model.scaler["mean"]), np.array(model.scaler["std"])
        check_features(model, inputs, source)
        return [((np.asarray(s)[:cut] - mean) / std).astype(model.dtype) for s in inputs]
    return [model.vocab.encode(tokenize(t, model.config) or [UNK]) for t in inputs]


def class_ids(labels: list[str], classes: list[str], source: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise DataError(f"{source}: label(s) {', '.join(map(repr, unknown[:10]))} are not classes of the model "
                        f"({', '.join(map(repr, classes))})")
    return np.array([index[label] for label in labels], dtype=np.int64)


def logits_of(model: Classifier, seqs: list[np.ndarray], batch_size: int = EVAL_BATCH) -> np.ndarray:
    """(N, out) logits, run in batches of similar lengths."""
    out = np.empty((len(seqs), model.head.out_features), dtype=model.dtype)
    for idx in length_batches([len(s) for s in seqs], batch_size):
        x, lengths = pad_sequences([seqs[i] for i in idx])
        out[idx] = model.forward(x, lengths)
    return out


def scores(model: Classifier, seqs: list[np.ndarray], y: np.ndarray, logits_fn=logits_of) -> dict:
    """loss, accuracy, macro_f1 and the confusion matrix of ``model`` on encoded examples (``logits_fn``:
    how the logits are computed)."""
    logits = logits_fn(model, seqs)
    loss, _ = model.loss(logits, y)
    return {"loss": float(loss), **classification_scores(y, model.predicted(logits), len(model.labels))}


# -- training ------------------------------------------------------------------------------------------------


class ClassifyObjective(HeldRows):
    """Padded, length-bucketed batches of whole sequences; validation accuracy for the best weights.
    On several ranks each holds its block of the training sequences (:class:`~rnnkit.tasks.base.HeldRows`)."""

    metric, mode, unit = "val_accuracy", "max", "examples"

    def __init__(self, model: Classifier, train: tuple[list, np.ndarray], val: tuple[list, np.ndarray], config):
        self.model, self.config = model, config
        self.held, self.val = {"seqs": train[0], "y": train[1]}, val
        self.lengths = np.array([len(s) for s in train[0]])
        self.extras: dict = {}

    def steps_per_epoch(self) -> int:
        return -(-len(self.lengths) // self.config.batch_size)

    def batches(self, rng):
        return self.held_batches(bucket_batches(self.lengths, self.config.batch_size, rng), self._batch)

    def _batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, lengths = pad_sequences(self.rows("seqs", rows))
        return x, lengths, self.rows("y", rows)

    def start_epoch(self) -> None:
        pass

    def train_step(self, batch) -> tuple[float, int]:
        x, lengths, y = batch
        loss, dlogits = self.model.loss(self.model.forward(x, lengths), y)
        self.model.backward(dlogits)
        return float(loss), len(y)

    def distribute(self, world) -> None:
        """Keep this rank's block of the training sequences and its share of the validation sequences."""
        super().distribute(world)
        seqs, y = self.val
        self.val = self.val_share(seqs), y

    def evaluate(self) -> dict[str, float]:
        n = len(self.val[1])  # each rank runs its share of the sequences; the labels of all are here
        s = scores(self.model, *self.val, logits_fn=lambda model, seqs: self.joined(n, logits_of(model, seqs)))
        return {"val_loss": s["loss"], "val_accuracy": s["accuracy"], "val_macro_f1": s["macro_f1"]}

    def carried(self) -> dict[str, np.ndarray]:
        return {}  # every sequence starts from a zero state

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass

    def summary_extras(self) -> dict:
        """The data sizes and the majority-class baseline, merged into the run's summary by the trainer."""
        return dict(self.extras)


def _fresh_model(config: Config, data: Labelled, train_idx: np.ndarray) -> tuple[Classifier, dict]:
    """The model for new training data (vocabulary or scaler from the training part); and notes for the summary."""
    labels = label_order(data.labels)
    if len(labels) < 2:
        raise DataError(f"{', '.join(config.data) or 'the bundled data'}: every example has the label "
                        f"{labels[0]!r}; a classifier needs at least two classes (is --label-col right?)")
    if data.numeric:
        if config.embeddings:
            raise RnnkitError("--embeddings: word vectors apply to text data, not to .npz sequences")
        config.features = int(data.inputs[0].shape[1])
        return build_model(config, labels, None, fit_scaler(np.concatenate([data.inputs[i] for i in train_idx]))), {}
    token_lists = [tokenize(data.inputs[i], config) for i in train_idx]
    if not config.embeddings:
        return build_model(config, labels, build_vocab(token_lists, config), None), {}
    dim, vectors = read_vectors(config.embeddings, {t for tokens in token_lists for t in tokens})
    config.embed = dim
    model = build_model(config, labels, build_vocab(token_lists, config, keep=vectors), None)
    weight, found = embedding_matrix(model.vocab, vectors, dim, np.random.default_rng(config.seed + 20), zero=[PAD])
    model.embedding.params["weight"][...] = weight
    return model, {"pretrained_vectors": found, "vocab_size": len(model.vocab)}


def _model_of_run(run: Run, config: Config) -> Classifier:
    labels = run.read_json("labels.json").get("labels")
    if not isinstance(labels, list) or len(labels) < 2:
        raise RunError(f"{run.file('labels.json')}: expected {{'labels': [two or more class names]}}")
    if config.features is None:
        vocab = Vocab.from_json(run.read_json("vocab.json"), str(run.file("vocab.json")))
        return build_model(config, labels, vocab, None)
    return build_model(config, labels, None, run.read_json("scaler.json"))


def prepare(config: Config, run: Run | None) -> Plan:
    """The data split, the model (the run's, or fresh from the training part) and the objective."""
    model, notes = (_model_of_run(run, config), {}) if run else (None, {})
    data, train_idx, val_idx, leak, note = split_data(config)
    if model is None:
        model, notes = _fresh_model(config, data, train_idx)
    y = class_ids(data.labels, model.labels, ", ".join(config.data) or "the bundled data")
    seqs = encode(model, data.inputs)
    objective = ClassifyObjective(model, ([seqs[i] for i in train_idx], y[train_idx]),
                                  ([seqs[i] for i in val_idx], y[val_idx]), config)
    majority = np.bincount(y[train_idx], minlength=len(model.labels)).argmax()
    objective.extras = {"classes": len(model.labels), "train_examples": len(train_idx),
                        "val_examples": len(val_idx),
                        "majority_val_accuracy": float(np.mean(y[val_idx] == majority)), **leak, **notes}
    files = {"labels.json": {"labels": model.labels}}
    files |= {"vocab.json": model.vocab.to_json()} if model.vocab is not None else {"scaler.json": model.scaler}
    warning = leak and leak_warning({k[4:]: v for k, v in leak.items()}, split_name(config, leak))
    return Plan(objective, files, warning="\n".join(filter(None, (note, warning))) or None,
                report=lambda summary: f"baseline: always predicting {model.labels[majority]!r} scores val_accuracy "
                                       f"{summary['majority_val_accuracy']:.4f} (this run's best: "
                                       f"{summary['best_val_accuracy']:.4f})")


RECIPE = Recipe(NAME, Config, prepare, default_epochs=DEFAULT_EPOCHS)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train a classifier; returns the summary (``summary["run"]`` is the run directory).

    Everything is read and checked before the run directory is created.
    ``resume``: continue that run instead, with the budget ``changes`` (see :mod:`rnnkit.tasks.session`);
    ``world``: the processes training together (see :mod:`rnnkit.tasks.driver`).
    """
    return driver.train(RECIPE, config, resume, changes, world)

# -- using a trained model ------------------------------------------------------------------------------------


def load(run: Run | str, which: str = "best") -> Classifier:
    """The trained classifier of a run (``best`` or ``last`` weights), in eval mode, with ``.config``."""
    run, config = open_task_run(run, NAME, Config)
    model = _model_of_run(run, config)
    run.load_model(f"{which}.safetensors", model)
    return model.eval()


def predict(model: Classifier, inputs: list) -> list[dict]:
    """Label and probability of each input: texts (unknown words -> <unk>), or (T, D) arrays or .npz paths."""
    seqs, names = named_inputs(model, inputs)
    probs = model.probabilities(logits_of(model, encode(model, seqs)))
    return [{"input": name, "label": model.labels[int(p.argmax())], "probability": float(p.max()),
             "probabilities": dict(zip(model.labels, p.tolist()))} for name, p in zip(names, probs)]


def format_prediction(result: dict) -> str:
    return f"{result['label']}\t{result['probability']:.3f}\t{result['input']}"


def evaluate(model: Classifier, paths: list[str]) -> dict:
    """Loss, accuracy, macro-F1 and confusion matrix of ``model`` on labelled file(s) ``paths``."""
    data = read_data(paths, model.config)
    kind = "text" if model.vocab is not None else ".npz sequences"
    if data.numeric != (model.vocab is None):
        raise DataError(f"{', '.join(paths)}: the model was trained on {kind}")
    y = class_ids(data.labels, model.labels, ", ".join(paths))
    s = scores(model, encode(model, data.inputs, ", ".join(paths)), y)
    return {"examples": len(y), "loss": s["loss"], "accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
            "labels": model.labels, "confusion": s["confusion"]}


def format_evaluation(result: dict) -> str:
    head = {k: result[k] for k in ("examples", "loss", "accuracy", "macro_f1")}
    return summary_table(head) + "\n\n" + format_confusion(result["confusion"], result["labels"])


def add_arguments(parser) -> None:
    """classify's own flags for ``rnnkit train classify`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[],
                        help="CSV/TSV file(s) with text and label columns, or .npz file(s) with X, y (and lengths); "
                             "several are pooled; default: the bundled UCI sentiment sentences")
    options = {
        "val": (dict(metavar="FILE"), "validation examples, a file like DATA (default: the last --val-fraction of "
                                      "the shuffled examples)"),
        "val_split": (dict(choices=VAL_SPLITS), "without --val: hold out random examples, or whole texts and their "
                                                "phrases (phrases); auto does the latter when more than 5%% of random "
                                                "validation texts occur inside training texts "
                                                f"(default {d.val_split})"),
        "tokens": (dict(choices=("word", "char")), f"model words or characters (default {d.tokens})"),
        "text_col": (dict(metavar="COL"), "the text column: a header name or a 0-based index "
                                          "(default: a column named text, sentence, review... or 0)"),
        "label_col": (dict(metavar="COL"), "the label column: a name or a 0-based index "
                                           "(default: a column named label, class, sentiment... or the last)"),
        "no_header": (dict(action="store_true"), "the first line is data (default: detect a header line)"),
        "vocab_size": (dict(type=int), f"keep at most this many words (default {d.vocab_size})"),
        "min_count": (dict(type=int), f"rarer words become <unk> (default {d.min_count})"),
        "keep_case": (dict(action="store_true"), "do not lower-case the text"),
        "max_length": (dict(type=int), "cut longer sequences to this many tokens or steps"),
        "embeddings": (dict(metavar="PATH"), "pre-trained word vectors, GloVe/word2vec text (sets --embed)"),
        "freeze_embeddings": (dict(action="store_true"), "keep the pre-trained vectors fixed"),
        "embed_std": (dict(type=float), f"learned embeddings start as N(0, σ²) with this σ (default {d.embed_std})"),
    }
    add_options(parser, options)
    parser.add_argument("--no-bidirectional", dest="bidirectional", action="store_false", default=SUPPRESS,
                        help="read the sequence left to right only")
