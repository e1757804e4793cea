"""charlm: it learns, samples, scores, resumes exactly, and refuses bad input."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.data import text as text_module
from rnnkit.data import vocab as rk_vocab
from rnnkit.errors import DataError, RnnkitError, RunError
from rnnkit.functional import losses as rk_loss
from rnnkit.tasks import charlm
from rnnkit.train import distributed as rk_world
from rnnkit.train.run import Run
from tests.conftest import assert_interrupt_and_resume_exact

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 120


def tiny(tmp_path, name="run", **kwargs):
    (tmp_path / "corpus.txt").write_text(TEXT)
    base = dict(data=[str(tmp_path / "corpus.txt")], hidden=32, layers=1, embed=16, batch_size=8, bptt=20,
                max_steps=60, eval_every=20, lr=1e-2, out=str(tmp_path / name), quiet=True)
    return charlm.Config(**(base | kwargs))


def test_learns_samples_and_scores(tmp_path):
    summary = charlm.train(tiny(tmp_path))
    vocab_size = len(set(TEXT))
    assert summary["best_val_loss"] < 0.5 * math.log(vocab_size)  # well below uniform guessing
    model = rk.load(summary["run"])
    logits, _ = model.forward(np.zeros((2, 7), dtype=np.int64))
    assert logits.shape == (2, 7, vocab_size)
    text = "".join(model.sample(40, temperature=0.5, prime="the ", seed=0))
    assert len(text) == 40 and set(text) <= set(TEXT)
    assert text == "".join(model.sample(40, temperature=0.5, prime="the ", seed=0))
    good, bad = model.score("the lazy dog."), model.score("dog lazy the.")
    assert good["log_prob"] > bad["log_prob"]
    assert good["perplexity"] == pytest.approx(math.exp(-good["log_prob"] / good["tokens"]))
    assert len(good["per_token"]) == good["tokens"] == len("the lazy dog.")


def test_run_directory_contents(tmp_path):
    summary = charlm.train(tiny(tmp_path, max_steps=20))
    run = Run.open(summary["run"])
    names = {p.name for p in run.path.iterdir()}
    assert {"config.json", "vocab.json", "best.safetensors", "last.safetensors", "metrics.jsonl",
            "summary.json", "state.json", "state.safetensors"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert [r["step"] for r in run.metrics()] == [20]
    assert run.config["task"] == "charlm"


def test_same_seed_same_weights(tmp_path):
    a = rk.load(charlm.train(tiny(tmp_path, "a", max_steps=15, dropout=0.2))["run"], "last")
    b = rk.load(charlm.train(tiny(tmp_path, "b", max_steps=15, dropout=0.2))["run"], "last")
    for k, v in a.parameters().items():
        np.testing.assert_array_equal(v, b.parameters()[k])


def test_ctrl_c_stops_cleanly_and_resume_is_exact(tmp_path, monkeypatch):
    assert_interrupt_and_resume_exact(
        monkeypatch, charlm.LMObjective, charlm.train,
        lambda name: tiny(tmp_path, name, max_steps=40, dropout=0.1), at_call=23, total=40)


def test_word_level(tmp_path):
    summary = charlm.train(tiny(tmp_path, level="word", bptt=5, vocab_size=8, max_steps=30))
    model = rk.load(summary["run"])
    assert "<unk>" in model.vocab and len(model.vocab) == 8
    assert model.score("the lazy dog")["tokens"] == 4  # three words and <eos>
    assert len(list(model.sample(5, seed=1))) == 5


def test_errors(tmp_path):
    with pytest.raises(DataError, match="missing.txt: file not found"):
        charlm.train(charlm.Config(data=[str(tmp_path / "missing.txt")]))
    (tmp_path / "short.txt").write_text("abc")
    with pytest.raises(DataError, match="too few|fewer than"):
        charlm.train(charlm.Config(data=[str(tmp_path / "short.txt")], out=str(tmp_path / "s"), quiet=True))
    assert not (tmp_path / "s").exists()  # nothing half-written
    with pytest.raises(RnnkitError, match="--bidirectional"):
        charlm.train(tiny(tmp_path, bidirectional=True))
    with pytest.raises(RunError, match="not an rnnkit run directory"):
        rk.load(tmp_path)
    model = rk.load(charlm.train(tiny(tmp_path, max_steps=5))["run"])
    with pytest.raises(DataError, match=r"not in the model's vocabulary: 'Z'"):
        model.score("Zebra")
    with pytest.raises(RnnkitError, match="--temperature"):
        list(model.sample(3, temperature=0))
    for kwargs, flag in ((dict(length=-5), "--length"), (dict(length=3, seed=-1), "--seed"),
                         (dict(length=3, top_k=0), "--top-k"), (dict(length=3, prime="Zz"), "--prime")):
        with pytest.raises(RnnkitError, match=flag):
            model.sample(**kwargs)  # refused when called, before the first token is asked for


@pytest.mark.parametrize("level", ["char", "word"])
def test_streamed_corpus_equals_the_whole_text(tmp_path, monkeypatch, level):
    """Tiny read chunks, two files, CRLF and non-ASCII: the ids are those of the whole joined text."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes("\ufeffRomeo, caf\u00e9!\r\nJuliet \u20ac\n".encode())
    b.write_bytes("the end\r\nno newline".encode())
    config = charlm.Config(data=[str(a), str(b)], level=level, vocab_size=8)
    whole = charlm.load_corpus(config.data)
    assert whole == "Romeo, caf\u00e9!\nJuliet \u20ac\n" + "\n" + "the end\nno newline"
    monkeypatch.setattr(text_module, "CHUNK_BYTES", 3)
    vocab = charlm.build_vocab(config.data, config)
    model = charlm.build_model(vocab, config)
    expected = rk_vocab.Vocab.of_chars(whole) if level == "char" else None
    if expected is not None:
        assert vocab.itos == expected.itos
    ids = charlm.encode_corpus(config.data, vocab, level)
    np.testing.assert_array_equal(ids, vocab.encode(model.tokens(whole)))
    assert ids.dtype == np.uint8


def test_large_corpus_trains_from_a_memory_map(tmp_path, monkeypatch):
    monkeypatch.setattr(rk_vocab, "MEMORY_IDS", 1000)
    config = tiny(tmp_path, max_steps=10, eval_every=5)
    ids = charlm.encode_corpus(config.data, charlm.build_vocab(config.data, config), "char")
    assert isinstance(ids, np.memmap)
    summary = charlm.train(config)
    monkeypatch.setattr(rk_vocab, "MEMORY_IDS", 2**26)
    reference = charlm.train(tiny(tmp_path, "reference", max_steps=10, eval_every=5))
    assert summary["best_val_loss"] == reference["best_val_loss"]
    a, b = rk.load(summary["run"], "last"), rk.load(reference["run"], "last")
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    """A tiny word-level run trained through the CLI, once for the primes below (sampling leaves it as it is)."""
    from rnnkit.cli.main import main
    root = tmp_path_factory.mktemp("word-run")
    corpus = root / "words.txt"
    corpus.write_text("to be or not to be that is the question\n" * 40)
    run = str(root / "run")
    assert main(["train", "charlm", str(corpus), "--level", "word", "--hidden", "8", "--layers", "1", "--embed", "4",
                 "--batch-size", "2", "--bptt", "5", "--max-steps", "2", "--quiet", "--out", run]) == 0
    return run


@pytest.mark.parametrize("prime", ["to be", "to be ", "to\nbe", ""])
def test_word_level_sample_continues_the_prime_with_one_space_between_words(word_run, prime, capsys):
    from rnnkit.cli.main import main
    capsys.readouterr()
    assert main(["sample", word_run, "--prime", prime, "--length", "30", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(prime) and "  " not in out
    words = out[len(prime):].split()
    vocab = {"to", "be", "or", "not", "that", "is", "the", "question", "<unk>"}
    assert set(words) <= vocab, out  # no token glued to the prime or to each other ("beto", "worldworld")
    if prime and not prime[-1].isspace():
        assert out[len(prime)] in " \n"


def test_evaluation_carries_the_state_through_each_stream(tmp_path):
    """One stream chunk by chunk scores the text as one forward pass over all of it would."""
    config = tiny(tmp_path, dtype="float64")
    model = charlm.build_model(charlm.build_vocab(config.data, config), config).eval()
    ids = charlm.encode_corpus(config.data, model.vocab, "char")[:503].astype(np.int64)
    logits, _ = model.forward(ids[None, :-1])
    whole, _ = rk_loss.softmax_cross_entropy(logits[0], ids[1:])
    assert charlm.evaluate_ids(model, ids, 1, bptt=20) == pytest.approx(float(whole), rel=1e-12)
    assert charlm.stream_count(len(ids), charlm.EVAL_STREAMS, 20) == 10
    assert charlm.stream_count(len(ids), charlm.EVAL_STREAMS, 100) == 5   # each stream at least one chunk
    ten = charlm.evaluate_ids(model, ids, 10, bptt=20)
    assert ten != pytest.approx(float(whole), rel=1e-12)   # ten streams lose the tail and restart the state


def test_val_file_and_the_evaluation_convention(tmp_path):
    (tmp_path / "held.txt").write_text("the lazy dog jumps over the quick brown fox.\n" * 12)
    summary = charlm.train(tiny(tmp_path, val=str(tmp_path / "held.txt"), max_steps=20))
    assert summary["val_tokens"] == len("the lazy dog jumps over the quick brown fox.\n") * 12 - 1
    assert summary["val_streams"] == charlm.EVAL_STREAMS
    assert summary["train_tokens"] == len(TEXT)                     # no split: all of DATA trains
    model = rk.load(summary["run"])
    result = charlm.evaluate(model, [str(tmp_path / "held.txt")])
    assert result["streams"] == charlm.TEST_STREAMS == 1
    (tmp_path / "held2.txt").write_text("Q")
    with pytest.raises(DataError, match="--val .*held2.txt: too short"):
        charlm.train(tiny(tmp_path, "q", val=str(tmp_path / "held2.txt")))
    assert not (tmp_path / "q").exists()
    (tmp_path / "held2.txt").write_text("Quo vadis?")   # characters only --val has are in the vocabulary
    assert "Q" in rk.load(charlm.train(tiny(tmp_path, "q", val=str(tmp_path / "held2.txt"), max_steps=2))["run"]).vocab
    with pytest.raises(DataError, match="missing.txt: file not found"):
        charlm.train(tiny(tmp_path, "m", val=str(tmp_path / "missing.txt")))


def test_without_a_budget_it_trains_for_the_default_time(tmp_path, monkeypatch):
    monkeypatch.setattr(charlm, "RECIPE", dataclasses.replace(charlm.RECIPE, default_time_limit=0.5))
    summary = charlm.train(tiny(tmp_path, max_steps=None))
    assert summary["stopped"] == "budget" and summary["time_s"] >= 0.5
    assert Run.open(summary["run"]).config["config"]["time_limit"] == 0.5   # kept for --resume
    assert charlm.train(tiny(tmp_path, "steps", max_steps=3))["steps"] == 3   # a budget given wins


class RankOf(rk_world.World):
    """Rank ``rank`` of ``size`` for the bookkeeping alone (its collectives do nothing)."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size


@pytest.mark.parametrize("rank,size", [(0, 3), (2, 3), (1, 2)])
def test_a_rank_keeps_only_its_streams_and_reads_the_same_batches(tmp_path, rank, size):
    config = tiny(tmp_path, batch_size=5)
    whole = charlm.prepare(config, None).objective
    mine = charlm.prepare(config, None).objective
    mine.distribute(RankOf(rank, size))
    rows = mine.rows
    assert len(mine.train_ids) <= (rows.stop - rows.start) * whole.length + config.bptt < len(whole.train_ids)
    for seed in (0, 1):  # two epochs' offsets
        for (x, y), (xr, yr) in zip(whole.batches(np.random.default_rng(seed)),
                                    mine.batches(np.random.default_rng(seed))):
            assert np.array_equal(x[rows], xr) and np.array_equal(y[rows], yr)
