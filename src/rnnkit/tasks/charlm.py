"""charlm: a character- (or word-) level language model, many-to-many.

Trained with truncated BPTT: the text is cut into ``batch_size`` parallel
streams, each step takes the next ``bptt`` tokens of every stream, and the
final state of one chunk is carried (without gradient) into the next. The
validation text is ``--val FILE``, or else the last ``val_fraction`` of the input. Reported:

    loss (nats/token) = −1/N Σ_t log P(x_{t+1} | x_≤t),  bits = nats / ln 2,  perplexity = e^nats

Evaluation follows the convention of the AWD-LSTM and PyTorch word-language-model examples:
the validation text is cut into 10 long streams (``EVAL_STREAMS``) and a held-out text given to
``rnnkit evaluate`` into one (``TEST_STREAMS``), the state carried from chunk to chunk through each
stream, so only the first tokens of a stream are predicted from a zero state. The summary says
how many: ``val_streams``. (Validation used to cut the text into as many streams as training
batches, 64; measured on tiny Shakespeare's validation text after two minutes of training: 1.9672
nats/char in 64 streams, 1.9660 in 10, 1.9658 in one.)

Budget and size: without ``--epochs``, ``--max-steps`` or ``--time-limit``, a run trains for
``DEFAULT_TIME_LIMIT`` (two minutes), and the defaults (2-layer LSTM 128, batch 32, bptt 64, Adam
3e-3) are the ones that learn most in those two minutes: on tiny Shakespeare, validation 1.607
nats/char (median of 3 seeds, one core) against 1.728 for LSTM 256 at batch 32 / bptt 64 and 1.873
for LSTM 256 at batch 64 / bptt 100, the defaults before (docs/defaults.md). Its samples are
recognisable verse. For a longer budget a larger model pays: ``--hidden 256 --time-limit 900``.

Large corpora: the text files are streamed twice in chunks of a few MiB
(once to count the symbols for the vocabulary, once to encode them) and
never held as one string; the ids are a uint8/uint16 array, in memory up to
64 MiB and beyond that in an unlinked temporary file (in ``$TMPDIR``) that is
memory-mapped. Peak memory therefore does not grow with the corpus: training
on a 1 GB text file peaks at 0.5 GB (character level) and 1.05 GB (word
level, most of it the model's logits), see docs/reliability.md. Word level
streams too (line by line), but its passes run at Python speed (about a
minute of CPU per GB each).

Python::

    from rnnkit.tasks import charlm
    summary = charlm.train(charlm.Config(max_steps=200, hidden=128))
    model = rnnkit.load(summary["run"])
    print("".join(model.sample(200, prime="ROMEO:")))
"""
from __future__ import annotations

import math
from argparse import SUPPRESS
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from rnnkit.data.batching import stream_batches, stream_length, stream_steps
from rnnkit.data.text import iter_text, line_chunks
from rnnkit.data.vocab import EOS, UNK, Vocab, count_chars, count_words, encode_chars, encode_words
from rnnkit.errors import DataError, RnnkitError
from rnnkit.functional.losses import softmax_cross_entropy
from rnnkit.tasks import driver
from rnnkit.tasks.base import make_recurrent, open_task_run
from rnnkit.tasks.driver import Plan, Recipe
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.train.config import TrainConfig, flag
from rnnkit.train.distributed import SINGLE, World, concat_shares, share
from rnnkit.train.run import Run

NAME = "charlm"
VERBS = ("sample", "score", "evaluate", "info")
DEFAULT_CORPUS = "tinyshakespeare.txt"
DEFAULT_TIME_LIMIT = 120.0  # seconds: the budget when none of --epochs, --max-steps, --time-limit is given
EVAL_STREAMS = 10  # validation: streams the text is cut into (AWD-LSTM's and PyTorch's eval batch size)
TEST_STREAMS = 1   # rnnkit evaluate: one stream through the whole held-out text (their test batch size)


@dataclass
class Config(TrainConfig):
    """charlm's options: the training options plus data, level and truncation length."""

    data: list[str] = field(default_factory=list)
    val: str | None = None
    level: str = "char"
    bptt: int = 64
    vocab_size: int = 10000
    hidden: int = 128
    layers: int = 2
    batch_size: int = 32
    lr: float = 3e-3
    tie_weights: bool = False

    def check(self) -> "Config":
        super().check()
        if self.level not in ("char", "word"):
            raise RnnkitError(f"--level: expected char or word, given {self.level!r}")
        for name in ("bptt", "vocab_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise RnnkitError(f"{flag(name)}: expected a positive integer, given {getattr(self, name)!r}")
        if self.bidirectional:
            raise RnnkitError("--bidirectional: a language model predicts the next token from the past only")
        width, source = (self.proj_size, "--proj-size") if self.proj_size else (self.hidden, "--hidden")
        if self.tie_weights and self.embed != width:
            raise RnnkitError(f"--tie-weights: the output layer's weight is the embedding matrix, so --embed must "
                              f"equal the width of the recurrent output, {source} {width} (--hidden, or --proj-size "
                              f"with a projection); given --embed {self.embed}")
        return self


def bundled_corpus() -> str:
    """Tiny Shakespeare (Karpathy's char-rnn), shipped with rnnkit."""
    return resources.files("rnnkit.datasets").joinpath(DEFAULT_CORPUS).read_text(encoding="utf-8")


def corpus_chunks(paths: list[str]):
    """The corpus as a stream of text chunks: the files joined by "\\n" (the bundled text if none)."""
    if not paths:
        yield bundled_corpus()
        return
    for k, p in enumerate(paths):
        if k:
            yield "\n"
        yield from iter_text(p)


def load_corpus(paths: list[str]) -> str:
    """The whole corpus as one string (small texts only; training streams it instead)."""
    return "".join(corpus_chunks(paths))


def build_vocab(paths: list[str], config: Config) -> Vocab:
    """The vocabulary of the corpus, counted in one streamed pass (characters: of ``--val`` too, so
    that a character seen only there can still be scored)."""
    if config.level == "char":
        return Vocab.of_char_counts(count_chars(corpus_chunks(paths + ([config.val] if config.val else []))))
    return Vocab.of_word_counts(count_words(line_chunks(corpus_chunks(paths))), config.vocab_size,
                                specials=(UNK, EOS))


def encode_corpus(paths: list[str], vocab: Vocab, level: str, source: str = "training text") -> np.ndarray:
    """The corpus as token ids (uint8/uint16, memory-mapped when large), streamed."""
    if level == "char":
        return encode_chars(corpus_chunks(paths), vocab, source)
    return encode_words(line_chunks(corpus_chunks(paths)), vocab, source)


class LMObjective:
    """Truncated-BPTT training and validation of a :class:`LanguageModel`.

    On several ranks each keeps only its streams: rows ``rows`` of the ``batch_size`` training streams
    and its share of the validation streams, so the token ids a rank holds shrink as ranks grow
    (the whole text is still read, once to count and once to encode)."""

    metric, mode = "val_loss", "min"

    def __init__(self, model: LanguageModel, train_ids: np.ndarray, val_ids: np.ndarray, config: Config):
        self.model, self.config = model, config
        self.unit = "chars" if config.level == "char" else "tokens"
        self.train_ids, self.val_ids = train_ids, val_ids
        self.n_train, self.n_val = len(train_ids), len(val_ids)
        B, bptt = config.batch_size, config.bptt
        if stream_length(len(train_ids), B, bptt - 1) < 1:
            raise DataError(f"the training text has {len(train_ids)} tokens: too few for "
                            f"--batch-size {B} and --bptt {bptt}; use smaller values or more text")
        self.length = stream_length(len(train_ids), B, bptt - 1)            # L of every training stream
        self.val_streams = stream_count(self.n_val, EVAL_STREAMS, bptt)
        self.val_length = stream_length(self.n_val, self.val_streams)
        self.state = None
        self.world, self.rows, self.val_rows = SINGLE, slice(0, B), slice(0, self.val_streams)

    def distribute(self, world: World) -> None:
        """Keep this rank's share of the training streams and of the validation streams only."""
        self.world, self.rows = world, share(self.config.batch_size, world.rank, world.size)
        self.val_rows = share(self.val_streams, world.rank, world.size)
        L, Lv = self.length, self.val_length  # a stream's tokens, and room for every epoch's offset
        self.train_ids = _kept(self.train_ids[self.rows.start * L:self.rows.stop * L + self.config.bptt])
        self.val_ids = _kept(self.val_ids[self.val_rows.start * Lv:self.val_rows.stop * Lv + 1])

    def share(self, batch) -> tuple[tuple[np.ndarray, np.ndarray], int]:
        """The batch of this rank's streams (already its own), and the tokens it holds."""
        return batch, batch[0].size

    def steps_per_epoch(self) -> int:
        return stream_steps(self.n_train, self.config.batch_size, self.config.bptt)

    def batches(self, rng):
        offset = int(rng.integers(self.config.bptt))  # a new cut of the text every epoch
        streams = self.rows.stop - self.rows.start
        return as_int64(stream_batches(self.train_ids, streams, self.config.bptt, offset, self.length))

    def start_epoch(self) -> None:
        self.state = None

    def train_step(self, batch) -> tuple[float, int]:
        x, y = batch
        logits, self.state = self.model.forward(x, self.state)
        loss, dlogits = softmax_cross_entropy(logits, y)
        self.model.backward(dlogits)
        return float(loss), x.size

    def evaluate(self) -> dict[str, float]:
        streams = self.val_rows.stop - self.val_rows.start
        sums = np.array(nats_and_tokens(self.model, self.val_ids, streams, self.config.bptt, self.val_length))
        total, count = self.world.allreduce_sum(sums)
        nats = float(total / count)
        return {"val_loss": nats, "val_bits": nats / math.log(2), "val_perplexity": math.exp(min(nats, 700))}

    def summary_extras(self) -> dict:
        """How the validation loss was measured, merged into the run's summary by the trainer."""
        return {"train_tokens": self.n_train, "val_tokens": self.n_val - 1, "val_streams": self.val_streams}

    def carried(self) -> dict[str, np.ndarray]:
        """The state carried into the next chunk, (layers, batch_size, H) each: every rank's rows joined."""
        if self.state is None:
            return {}
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        return {f"state{i}": concat_shares(self.world, p, axis=1) for i, p in enumerate(parts)}

    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None:
        parts = tuple(tensors[f"state{i}"][:, self.rows] for i in range(len(tensors)))
        self.state = None if not parts else parts if len(parts) > 1 else parts[0]


def _kept(ids: np.ndarray) -> np.ndarray:
    """A rank's part of the ids on its own: a copy (the rest can be freed), or, memory-mapped, a view."""
    return ids if isinstance(ids, np.memmap) else ids.copy()


def as_int64(batches):
    """(x, y) chunks of compact ids (uint8/uint16, perhaps memory-mapped) as int64 arrays."""
    return ((x.astype(np.int64), y.astype(np.int64)) for x, y in batches)


def stream_count(n_tokens: int, streams: int, bptt: int) -> int:
    """How many streams :func:`evaluate_ids` cuts ``n_tokens`` into: ``streams``, fewer if each would be
    shorter than one ``bptt`` chunk."""
    return max(1, min(streams, (n_tokens - 1) // max(bptt, 1)))


def evaluate_ids(model: LanguageModel, ids: np.ndarray, streams: int, bptt: int) -> float:
    """Mean nats per token of ``ids``, cut into :func:`stream_count` streams that each carry their state
    from chunk to chunk (every token but the first is predicted; a leftover of fewer than the streams is
    not)."""
    B = stream_count(len(ids), streams, bptt)
    total, count = nats_and_tokens(model, ids, B, bptt)
    return total / count


def nats_and_tokens(model: LanguageModel, ids: np.ndarray, streams: int, bptt: int,
                    length: int | None = None) -> tuple[float, int]:
    """(Σ nats, tokens) of ``ids`` cut into ``streams`` streams (of ``length`` tokens: a rank's rows of a
    longer text)."""
    total, count, state = 0.0, 0, None
    if streams < 1:
        return total, count  # a rank with no validation stream
    for x, y in as_int64(stream_batches(ids, streams, bptt, 0, length)):
        logits, state = model.forward(x, state)
        loss, _ = softmax_cross_entropy(logits, y)
        total, count = total + float(loss) * y.size, count + y.size
    return total, count


def build_model(vocab: Vocab, config: Config) -> LanguageModel:
    rnn = make_recurrent(config, config.embed, seed=config.seed)
    return LanguageModel(vocab, config.level, rnn, config.embed, config.dropout, seed=config.seed + 10,
                         tie_weights=config.tie_weights)


def split_ids(ids: np.ndarray, val_fraction: float, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    n_val = int(len(ids) * val_fraction)
    if n_val < minimum:
        raise DataError(f"the text has {len(ids)} tokens: --val-fraction {val_fraction} leaves {n_val} "
                        f"for validation, fewer than {minimum}; give more text or a larger --val-fraction")
    return ids[:-n_val], ids[-n_val:]


def prepare(config: Config, run: Run | None) -> Plan:
    """The vocabulary (the run's, or counted from the corpus), the model, the ids and the objective."""
    if run:
        vocab = Vocab.from_json(run.read_json("vocab.json"), str(run.file("vocab.json")))
    else:
        vocab = build_vocab(config.data, config)
    model = build_model(vocab, config)
    ids = encode_corpus(config.data, vocab, config.level)
    train_ids, val_ids = train_val_ids(ids, vocab, config)
    return Plan(LMObjective(model, train_ids, val_ids, config), files={"vocab.json": vocab.to_json()})


RECIPE = Recipe(NAME, Config, prepare, default_time_limit=DEFAULT_TIME_LIMIT)


def train(config: Config | None = None, resume: str | None = None, changes: dict | None = None,
          world=None) -> dict:
    """Train a language model; returns the summary (``summary["run"]`` is the run directory).

    ``resume``: continue that run instead, with the budget ``changes`` (see :mod:`rnnkit.tasks.session`);
    ``world``: the processes training together (see :mod:`rnnkit.tasks.driver`).
    A new run given no budget trains for ``DEFAULT_TIME_LIMIT`` (stored in config.json, so a resume keeps it).
    """
    return driver.train(RECIPE, config, resume, changes, world)


def train_val_ids(ids: np.ndarray, vocab: Vocab, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(training ids, validation ids): all of ``ids`` and the ``--val`` file's, or the split of ``ids``."""
    if not config.val:
        return split_ids(ids, config.val_fraction, minimum=2)
    val_ids = encode_corpus([config.val], vocab, config.level, f"--val {config.val}")
    if len(val_ids) < 2:
        raise DataError(f"--val {config.val}: too short to validate on: give at least two tokens")
    return ids, val_ids


def load(run: Run | str, which: str = "best") -> LanguageModel:
    """The trained model of a run (``best`` or ``last`` weights), in eval mode."""
    run, config = open_task_run(run, NAME, Config)
    model = build_model(Vocab.from_json(run.read_json("vocab.json"), str(run.file("vocab.json"))), config)
    run.load_model(f"{which}.safetensors", model)
    model.config = config
    return model.eval()


def evaluate(model: LanguageModel, paths: list[str]) -> dict[str, float]:
    """Loss (nats/token), bits/token and perplexity of ``model`` on the text file(s) ``paths``."""
    ids = encode_corpus(paths, model.vocab, model.level, ", ".join(paths))
    if len(ids) < 2:
        raise DataError(f"{', '.join(paths)}: too short to evaluate: give at least two tokens")
    nats = evaluate_ids(model, ids, TEST_STREAMS, model.config.bptt)
    return {"tokens": int(len(ids) - 1), "streams": TEST_STREAMS, "loss": nats, "bits": nats / math.log(2),
            "perplexity": math.exp(min(nats, 700))}


def add_arguments(parser) -> None:
    """charlm's own flags for ``rnnkit train charlm`` (defaults come from :class:`Config`)."""
    d = Config()
    parser.add_argument("data", nargs="*", default=[], help="UTF-8 text file(s); default: the bundled tiny Shakespeare")
    parser.add_argument("--val", metavar="FILE", default=SUPPRESS,
                        help="validation text (default: the last --val-fraction of the training text)")
    parser.add_argument("--level", choices=("char", "word"), default=SUPPRESS,
                        help=f"model characters or words (default {d.level})")
    parser.add_argument("--bptt", type=int, default=SUPPRESS,
                        help=f"truncated-BPTT length in tokens (default {d.bptt})")
    parser.add_argument("--vocab-size", type=int, default=SUPPRESS,
                        help="word level: keep this many most frequent words, the rest become <unk> "
                             f"(default {d.vocab_size})")
    parser.add_argument("--tie-weights", action="store_true", default=SUPPRESS,
                        help="the output layer's weight is the embedding matrix (Press & Wolf 2017): one (V, E) "
                             "parameter; needs --embed equal to --hidden (or --proj-size)")
