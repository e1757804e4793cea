"""caption: one-to-many, a caption generated from a feature vector (an image, a signal, ...).

The model (:class:`~rnnkit.tasks.captioner.Captioner`) is the notes' image-captioning RNN,
s_t = tanh(Uᵀ x_t + Wᵀ s_{t−1} + Zᵀ v): the vector v enters every step beside the previous token.
Captions are modelled character by character (``--level char``, default) or word by word.

Data: an .npz archive with ``vectors`` (N, D) (or (N, ...) arrays, flattened, such as images) and
either ``captions`` (N,) strings in the same archive or a UTF-8 text file with one caption per line,
line i for row i:

    rnnkit train caption images.npz                 # vectors and captions in one archive
    rnnkit train caption vectors.npz captions.txt   # captions in a text file

Without DATA the bundled digits are used: 1,797 8×8 handwritten digits (UCI optdigits via
scikit-learn), each captioned with its number word ("seven"). The validation set is the last
``--val-fraction`` (default 0.2) after a fixed shuffle that does not depend on ``--seed``; the vector
scaler comes from the training part. The metric is the fraction of validation vectors whose greedy
caption is exactly right (val_exact); the summary also gives the share of right tokens.

Measured (rnnkit 0.1.0, float32, 2-core machine, bundled digits, 359 held-out images, 25 epochs, ~5 s):

    rnnkit train caption                   best val_exact 0.978 (seeds 1-4: 0.972, 0.972, 0.975, 0.969)
    rnnkit train caption --level word      best val_exact 0.972 (one token per caption: a 10-way classifier)
    always the commonest word              0.086

examples:
  rnnkit train caption                                  # bundled digits -> "seven"
  rnnkit train caption vectors.npz captions.txt --level word --hidden 128
  rnnkit predict runs/caption new_vectors.npz           # one caption per row
  rnnkit evaluate runs/caption held_out.npz             # exact-match accuracy

Python::

    from rnnkit.tasks import caption
    summary = caption.train(caption.Config(out="runs/caption"))
    model = rnnkit.load(summary["run"])                               # a Captioner, in eval mode
    caption.predict(model, [vectors])                                 # vectors (N, D): [{'caption': 'seven', ...}]
"""
from __future__ import annotations

from argparse import SUPPRESS
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from rnnkit.data.tables import npz_arrays
from rnnkit.data.text import decode_utf8, read_lines
from rnnkit.data.vocab import EOS, PAD, UNK, Vocab
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.functional.losses import softmax_cross_entropy
from rnnkit.tasks import driver
from rnnkit.tasks.base import HeldRows, fit_scaler, make_recurrent, open_task_run, split_indices
from rnnkit.tasks.captioner import BOS, Captioner, tokenize
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.train.config import TrainConfig
from rnnkit.train.progress import summary_table
from rnnkit.train.run import Run

NAME = "caption"
VERBS = ("predict", "evaluate", "info")
BUNDLED = "digits.npz"
DEFAULT_EPOCHS = 25
SPLIT_SEED = 0xCA9  # the validation split's own generator: the same split whatever --seed is
SPECIALS = (PAD, UNK, BOS, EOS)


@dataclass
class Config(TrainConfig):
    """caption's options: the training options plus the caption level and sizes set from the data."""

    data: list[str] = field(default_factory=list)
    val: str | None = None
    level: str = "char"
    features: int | None = None     # D of the vectors: set from the data, not a flag
    max_tokens: int | None = None   # generation stops here: set from the data (longest caption + 5)
    cell: str = "gru"
    hidden: int = 64
    embed: int = 16
    lr: float = 5e-3
    batch_size: int = 32
    val_fraction: float = 0.2

    def check(self) -> "Config":
        super().check()
        if self.level not in ("char", "word"):
            raise RnnkitError(f"--level: expected char or word, given {self.level!r}")
        if len(self.data) > 2:
            raise RnnkitError(f"DATA: give an .npz file and optionally a captions text file, "
                              f"given {len(self.data)} files")
        if self.bidirectional:
            raise RnnkitError("--bidirectional: a caption is generated left to right")
        return self


# -- data ------------------------------------------------------------------------------------------------


def bundled_path() -> str:
    """The digits shipped with rnnkit (UCI optdigits via scikit-learn; see datasets/README.md)."""
    return str(resources.files("rnnkit.datasets") / "digits" / BUNDLED)


CAPTION_ARRAYS = "arrays vectors and captions"


def vectors_of(arrays: dict, path: str) -> np.ndarray:
    """The archive's ``vectors`` as finite float64 (N, D) (images flattened); DataError naming ``path``."""
    if "vectors" not in arrays:
        found = ", ".join(sorted(arrays)) or "no arrays"
        raise DataError(f"{path}: expected an array named 'vectors' (N, D) and captions (an array 'captions' (N,) "
                        f"or a text file); the archive has: {found}")
    v = arrays["vectors"]
    if v.ndim < 2 or v.shape[0] == 0 or v[0].size == 0 or not (np.issubdtype(v.dtype, np.number)
                                                                and not np.issubdtype(v.dtype, np.complexfloating)):
        raise DataError(f"{path}: vectors: expected a real numeric array (N, D) with N, D >= 1, given shape "
                        f"{v.shape} and dtype {v.dtype}")
    v = v.reshape(len(v), -1).astype(np.float64)
    bad = np.argwhere(~np.isfinite(v))
    if bad.size:
        raise DataError(f"{path}: vectors[{bad[0][0]}] is not finite at column {bad[0][1]} (NaN or inf)")
    return v


def _captions_array(arrays: dict, path: str) -> list[str]:
    if "captions" not in arrays:
        raise DataError(f"{path}: no array named 'captions'; give the captions as an array 'captions' (N,) of "
                        f"strings in the archive or as a text file, one per line (rnnkit train caption "
                        f"{path} captions.txt); the archive has: {', '.join(sorted(arrays))}")
    c = arrays["captions"]
    if c.dtype.kind not in "US" or c.ndim != 1:
        raise DataError(f"{path}: captions: expected a 1-D array of strings, given shape {c.shape} and dtype {c.dtype}")
    if c.dtype.kind == "S":
        return [decode_utf8(bytes(b), f"{path}: captions[{i}]") for i, b in enumerate(c.tolist())]
    return [str(s) for s in c.tolist()]


def read_captioned(paths: list[str]) -> tuple[np.ndarray, list[str]]:
    """(vectors (N, D) float64, N captions) from [archive.npz] or [vectors.npz, captions.txt]."""
    paths = list(paths) or [bundled_path()]
    if paths[0] == BUNDLED and not Path(BUNDLED).exists():
        paths[0] = bundled_path()  # `rnnkit evaluate RUN digits.npz` scores the bundled file
    if not paths[0].lower().endswith(".npz"):
        raise DataError(f"{paths[0]}: expected an .npz archive of vectors first (then optionally a captions text file)")
    arrays = npz_arrays(paths[0], CAPTION_ARRAYS)
    vectors = vectors_of(arrays, paths[0])
    if len(paths) > 1:
        captions, source, where = read_lines(paths[1]), paths[1], "line"
    else:
        captions, source, where = _captions_array(arrays, paths[0]), f"{paths[0]}: captions", "row"
    if len(captions) != len(vectors):
        raise DataError(f"{source}: {len(captions)} caption(s) for {len(vectors)} vectors in {paths[0]}; expected "
                        f"one caption per vector")
    for i, text in enumerate(captions):
        if not text.strip():
            raise DataError(f"{source}, {where} {i + 1 if where == 'line' else i}: the caption is empty")
    return vectors, [" ".join(t.split()) for t in captions]


def vector_inputs(model: Captioner, inputs: list) -> tuple[np.ndarray, list]:
    """Raw vectors (N, D) and a name for each row, from .npz paths (``vectors``) or (D,) / (N, D) arrays."""
    rows, names = [], []
    for k, item in enumerate(inputs):
        if isinstance(item, (str, Path)):
            v = vectors_of(npz_arrays(str(item), CAPTION_ARRAYS), str(item))
            rows.append(v)
            names += [f"{item}[{i}]" for i in range(len(v))]
            continue
        v = np.asarray(item, dtype=np.float64)
        if v.ndim == 0 or v.size == 0 or not np.all(np.isfinite(v)):
            raise DataError(f"INPUT {k}: expected a finite vector (D,) or vectors (N, D), given shape {v.shape}")
        names += [f"{k}[{i}]" for i in range(len(v))] if v.ndim > 1 else [k]
        rows.append(v.reshape(1, -1) if v.ndim == 1 else v.reshape(len(v), -1))
    vectors = np.concatenate(rows) if rows else np.zeros((0, model.features))
    if vectors.ndim != 2 or vectors.shape[1] != model.features:
        raise DataError(f"INPUT: expected vectors of {model.features} features, given shape {vectors.shape}")
    return vectors, names


# -- the model and its inputs ----------------------------------------------------------------------------


def build_vocab(token_lists: list[list[str]]) -> Vocab:
    return Vocab(list(SPECIALS) + sorted({t for tokens in token_lists for t in tokens} - set(SPECIALS)), unk=UNK)


def build_model(config: Config, vocab: Vocab, scaler: dict) -> Captioner:
    rnn = make_recurrent(config, config.embed + config.features, seed=config.seed)
    model = Captioner(vocab, config.level, rnn, config.embed, config.features, scaler, config.dropout,
                      seed=config.seed + 10)
    model.config = config
    return model


def teacher_forcing(model: Captioner, captions: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (B, T) <bos> w_1 … w_n, targets (B, T) w_1 … w_n <eos>, mask (B, T) of the real steps."""
    ids = [model.vocab.encode(model.tokens(c)) for c in captions]
    T = max(len(i) for i in ids) + 1
    inputs = np.zeros((len(ids), T), dtype=np.int64)
    targets, mask = np.zeros_like(inputs), np.zeros((len(ids), T), dtype=bool)
    for b, seq in enumerate(ids):
        inputs[b, 0], inputs[b, 1:len(seq) + 1] = model.vocab.stoi[BOS], seq
        targets[b, :len(seq)], targets[b, len(seq)] = seq, model.vocab.stoi[EOS]
        mask[b, :len(seq) + 1] = True
    return inputs, targets, mask


def scores(model: Captioner, vectors: np.ndarray, captions: list[str], batch: int = 512) -> dict:
    """Teacher-forced loss, and exact-match and token accuracy of the greedy captions."""
    return scored(model, [caption_sums(model, vectors, captions, batch)], captions)


def caption_sums(model: Captioner, vectors: np.ndarray, captions: list[str], batch: int = 512) -> list:
    """[Σ nats over the caption tokens, their count, the greedy captions] of ``vectors``."""
    v = model.scale(vectors)
    total, count, said = 0.0, 0, []
    for i in range(0, len(v), batch):
        inputs, targets, mask = teacher_forcing(model, captions[i:i + batch])
        loss, _ = softmax_cross_entropy(model.forward(v[i:i + batch], inputs), targets, mask)
        total, count = total + float(loss) * float(mask.sum()), count + int(mask.sum())
        said += model.generate(v[i:i + batch], model.config.max_tokens)
    return [total, count, said]


def scored(model: Captioner, parts: list, captions: list[str]) -> dict:
    """The scores of :func:`caption_sums` of consecutive parts of ``captions`` (one, or a rank's each)."""
    total, count = sum(p[0] for p in parts), sum(p[1] for p in parts)
    said = [c for p in parts for c in p[2]]
    right = [a == b for a, b in zip(said, captions)]
    tokens = [(model.tokens(a), model.tokens(b)) for a, b in zip(said, captions)]
    token_right = sum(sum(x == y for x, y in zip(a, b)) for a, b in tokens)
    return {"loss": total / count, "exact": float(np.mean(right)),
            "token_accuracy": token_right / max(sum(len(b) for _, b in tokens), 1)}


# -- training --------------------------------------------------------------------------------------------


class CaptionObjective(HeldRows):
    """Shuffled batches of (vector, caption) pairs, teacher forcing; greedy exact match on validation.
    On several ranks each holds its block of the training pairs (:class:`~rnnkit.tasks.base.HeldRows`)."""

    metric, mode, unit = "val_exact", "max", "captions"

    def __init__(self, model: Captioner, vectors: np.ndarray, captions: list[str], train_idx, val_idx, config):
        self.model, self.config = model, config
        self.held = {"v": model.scale(vectors[train_idx]), "captions": [captions[i] for i in train_idx]}  # (N, D)
        self.lengths = np.array([len(c) for c in self.held["captions"]])  # (N,) characters: the ranks check them
        self.val_vectors, self.val_captions = vectors[val_idx], [captions[i] for i in val_idx]
        self.extras: dict = {}

    def summary_extras(self) -> dict:
        """The data sizes and the commonest-caption baseline, merged into the run's summary by the trainer."""
        return dict(self.extras)

    def steps_per_epoch(self) -> int:
        return -(-len(self.lengths) // self.config.batch_size)

    def batches(self, rng):
        order = rng.permutation(len(self.lengths))
        B = self.config.batch_size
        return self.held_batches((order[i:i + B] for i in range(0, len(order), B)),
                                 lambda rows: (self.rows("v", rows),
                                               *teacher_forcing(self.model, self.rows("captions", rows))))

    def start_epoch(self) -> None:
        pass

    def weight(self, batch) -> int:
        return int(np.sum(batch[3]))  # the loss is the mean over the caption tokens the mask keeps

    def train_step(self, batch) -> tuple[float, int]:
        v, inputs, targets, mask = batch
        loss, dlogits = softmax_cross_entropy(self.model.forward(v, inputs), targets, mask)
        self.model.backward(dlogits)
        return float(loss), len(v)

    def distribute(self, world) -> None:
        """Keep this rank's block of the training pairs and its share of the validation vectors."""
        super().distribute(world)
        self.val_vectors = self.val_share(self.val_vectors).copy()  # the other rows can be freed

    def evaluate(self) -> dict[str, float]:
        v, c = self.val_vectors, self.val_captions  # v: this rank's share, the captions of all
        s = scored(self.model, self.each_share(len(c), lambda part: caption_sums(self.model, v, c[part])), c)
        return {"val_loss": s["loss"], "val_exact": s["exact"], "val_token_accuracy": s["token_accuracy"]}

    def carried(self) -> dict[str, np.ndarray]:
        return {}

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        pass


def read_split(config: Config) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """(vectors, captions, training indices, validation indices): a split of DATA, or all of DATA and
    then the ``--val`` file's pairs."""
    vectors, captions = read_captioned(config.data)
    if not config.val:
        return vectors, captions, *split_indices(len(captions), config.val_fraction, SPLIT_SEED, "vectors")
    held, held_captions = read_captioned([config.val])
    if held.shape[1] != vectors.shape[1]:
        raise DataError(f"--val {config.val}: vectors of {held.shape[1]} features; DATA's have {vectors.shape[1]}")
    n = len(captions)
    return (np.concatenate([vectors, held]), captions + held_captions, np.arange(n),
            np.arange(n, n + len(held_captions)))


def _model_of_run(run: Run, config: Config) -> Captioner:
    vocab = Vocab.from_json(run.read_json("vocab.json"), str(run.file("vocab.json")))
    if any(s not in vocab for s in SPECIALS) or config.features is None or config.max_tokens is None:
        raise RunError(f"{run.path}: not a complete caption run (vocab.json needs {', '.join(SPECIALS)}; "
                       f"config.json needs features and max_tokens)")
    return build_model(config, vocab, run.read_json("scaler.json"))


def prepare(config: Config, run: Run | None) -> Plan:
    """The vectors and captions, the model (the run's, or fresh from the training part), the objective."""
    vectors, captions, train_idx, val_idx = read_split(config)
    if run:
        model = _model_of_run(run, config)
    else:
        config.features = int(vectors.shape[1])
        tokens = [tokenize(c, config.level) for c in captions]
        config.max_tokens = max(len(t) for t in tokens) + 5
        model = build_model(config, build_vocab([tokens[i] for i in train_idx]), fit_scaler(vectors[train_idx]))
    objective = CaptionObjective(model, vectors, captions, train_idx, val_idx, config)
    common = Counter(captions[i] for i in train_idx).most_common(1)[0][0]
    objective.extras = {"train_examples": len(train_idx), "val_examples": len(val_idx),
                        "vocab_size": len(model.vocab),
                        "majority_val_exact": float(np.mean([captions[i] == common for i in val_idx]))}
    return Plan(objective, {"vocab.json": model.vocab.to_json(), "scaler.json": model.scaler},
                report=lambda s: f"baseline: always saying {common!r} is exactly right for "
                                 f"{s['majority_val_exact']:.4f} of the validation vectors (this run's best: "
                                 f"{s['best_val_exact']:.4f})")


RECIPE = Recipe(NAME, Config, prepare, default_epochs=DEFAULT_EPOCHS)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train a captioner; returns the summary (``summary["run"]`` is the run directory).

    ``resume``: continue that run instead, with the budget ``changes`` (see :mod:`rnnkit.tasks.session`);
    ``world``: the processes training together (see :mod:`rnnkit.tasks.driver`).
    """
    return driver.train(RECIPE, config, resume, changes, world)


def load(run: Run | str, which: str = "best") -> Captioner:
    """The trained captioner of a run (``best`` or ``last`` weights), in eval mode, with ``.config``."""
    run, config = open_task_run(run, NAME, Config)
    model = _model_of_run(run, config)
    run.load_model(f"{which}.safetensors", model)
    return model.eval()


def predict(model: Captioner, inputs: list, temperature: float | None = None, seed: int | None = None) -> list[dict]:
    """One caption per vector: ``inputs`` are .npz paths (array ``vectors``) or (D,) / (N, D) arrays.

    Greedy unless ``temperature`` is given (then drawn, reproducibly with ``seed``).
    """
    vectors, names = vector_inputs(model, inputs)
    said = model.generate(model.scale(vectors), model.config.max_tokens, temperature, seed)
    return [{"input": name, "caption": text} for name, text in zip(names, said)]


def format_prediction(result: dict) -> str:
    return f"{result['input']}\t{result['caption']}"


def evaluate(model: Captioner, paths: list[str]) -> dict:
    """Exact-match and token accuracy of the greedy captions, and the loss, on ``paths``:
    [archive.npz] or [vectors.npz, captions.txt]."""
    vectors, captions = read_captioned(paths)
    if vectors.shape[1] != model.features:
        raise DataError(f"{paths[0]}: vectors of {vectors.shape[1]} features; the model reads {model.features}")
    return {"examples": len(captions), **scores(model, vectors, captions)}


def format_evaluation(result: dict) -> str:
    return summary_table(result)


def add_arguments(parser) -> None:
    """caption's own flags for ``rnnkit train caption`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[],
                        help="an .npz with arrays vectors (N, D) and captions (N,), or an .npz with vectors and a "
                             "text file with one caption per line; default: the bundled digits")
    parser.add_argument("--val", metavar="FILE", default=SUPPRESS,
                        help="validation vectors and captions, an .npz like DATA (default: the last --val-fraction "
                             "after a fixed shuffle)")
    parser.add_argument("--level", choices=("char", "word"), default=SUPPRESS,
                        help=f"generate characters or words (default {d.level})")
