"""tag: the tagger's gradients, learning on tiny data, predict/evaluate, the CLI, resume, bundled data,
and bad input refused before anything is written."""
from __future__ import annotations

import json

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.conll import format_conll, read_conll
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError, RnnkitError
from rnnkit.gradcheck import gradcheck_errors
from rnnkit.tasks import tag
from rnnkit.tasks.tagger import CASINGS, Tagger, casing, word_key
from rnnkit.train.entities import chunks
from rnnkit.train.run import Run
from tests.conftest import SHARED_DATA, assert_interrupt_and_resume_exact

CONLL = SHARED_DATA / "ner"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Training and validation files: the first sentences of the bundled generated data."""
    train_path, val_path = tag.bundled_paths()
    root = tmp_path_factory.mktemp("ner")
    out = []
    for path, n, name in ((train_path, 240, "train.conll"), (val_path, 60, "valid.conll")):
        data = read_conll(path)
        (root / name).write_text(format_conll(data.tokens[:n], data.tags[:n]), encoding="utf-8")
        out.append(str(root / name))
    return out


def tiny(tmp_path, files, name="run", **kwargs):
    base = dict(data=[files[0]], val=files[1], hidden=24, embed=16, char_embed=8, char_hidden=8, batch_size=16,
                epochs=6, lr=1e-2, dropout=0.0, patience=None, schedule="constant", out=str(tmp_path / name),
                quiet=True)
    return tag.Config(**(base | kwargs))


def test_casing_and_word_keys():
    assert [CASINGS[casing(t)] for t in ["eu", "EU", "German", "McDonald", "1996", "1996-08-22", ",", "É"]] == \
        ["lower", "upper", "title", "mixed", "digits", "has_digit", "punct", "upper"]
    assert word_key("German") == "german" and word_key("1996-08-22") == "0000-00-00"
    assert word_key("German", lowercase=False) == "German"


@pytest.mark.parametrize("cell", [rk.LSTM, rk.GRU])
def test_tagger_gradients_float64(cell):
    vocab = Vocab(["<pad>", "<unk>", "eu", "rejects", "german", "call"], unk="<unk>")
    chars = Vocab(["<pad>", "<unk>"] + list("EUrejctsGman"), unk="<unk>")
    rnn = cell(6 + len(CASINGS) + 6, 4, bidirectional=True, dtype="float64", seed=0)
    model = Tagger(rnn, ["O", "B-ORG", "B-MISC"], vocab, 6, chars, cell(5, 3, bidirectional=True, dtype="float64",
                                                                      seed=1), 5, dropout=0.3, seed=0, max_word=8)
    x, lengths = model.batch([["EU", "rejects", "German", "call"], ["EU", "zzz"], ["Call"]])
    assert x.shape == (3, 4, 10) and list(lengths) == [4, 2, 1]
    errors = gradcheck_errors(model, x, n_checks=12, lengths=lengths)
    assert {"char.embedding.weight", "char.rnn.weight_hh_l0_reverse", "embedding.weight", "head.weight"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_padding_does_not_change_tags():
    vocab = Vocab(["<pad>", "<unk>", "a", "b"], unk="<unk>")
    chars = Vocab(["<pad>", "<unk>", "a", "b"], unk="<unk>")
    model = Tagger(rk.GRU(4 + len(CASINGS) + 4, 5, bidirectional=True, seed=0), ["O", "B-X", "I-X"], vocab, 4,
                   chars, rk.GRU(3, 2, bidirectional=True, seed=1), 3, seed=0).eval()
    alone = model.forward(*model.batch([["a", "B"]]))
    padded = model.forward(*model.batch([["a", "B"], ["b", "a", "zzzz", "b"]]))
    np.testing.assert_allclose(alone[0], padded[0, :2], rtol=1e-5, atol=1e-6)


def test_learns_predicts_and_evaluates(tmp_path, files):
    summary = tag.train(tiny(tmp_path, files, epochs=10))
    # validation names are mostly unseen (held out of the training lists): the characters and casing carry them
    assert summary["best_val_f1"] >= 0.75 and summary["train_sentences"] == 240 and summary["val_sentences"] == 60
    model = rk.load(summary["run"])
    assert isinstance(model, Tagger) and not model.training and model.tags[0] == "O"
    run = Run.open(summary["run"])
    assert {"tags.json", "vocab.json", "chars.json", "best.safetensors"} <= {p.name for p in run.path.iterdir()}
    result = tag.evaluate(model, [files[0]])
    assert result["f1"] >= 0.9 and result["accuracy"] >= 0.97 and result["sentences"] == 240
    assert set(result["types"]) == {"PER", "LOC", "ORG", "MISC"}
    assert "overall" in tag.format_evaluation(result) and "token accuracy" in tag.format_evaluation(result)
    json.dumps(result)  # `rnnkit evaluate --json`
    train = read_conll(files[0])
    [result] = tag.predict(model, [" ".join(train.tokens[0])])
    assert result["tokens"] == train.tokens[0] and result["tags"] == model.tag([train.tokens[0]])[0]
    assert [e["text"] for e in result["entities"]] == \
        [" ".join(train.tokens[0][a:b + 1]) for _, a, b in chunks(result["tags"])]
    first = result["tokens"][0] + "/" + result["tags"][0]
    assert tag.format_prediction(result).startswith(first) and len(tag.format_prediction(result).split()) == \
        len(result["tokens"])
    assert tag.predict(model, [""])[0]["tags"] == []


def test_without_char_features_and_split_validation(tmp_path, files):
    summary = tag.train(tiny(tmp_path, files, val=None, char_features=False, epochs=2, val_fraction=0.25))
    model = rk.load(summary["run"])
    assert model.char is None and not Run.open(summary["run"]).exists("chars.json")
    assert summary["train_sentences"] == 180 and summary["val_sentences"] == 60
    assert model.encode(["EU"]).shape == (1, 2)


def test_cli_train_predict_evaluate(tmp_path, files, capsys):
    out = str(tmp_path / "cli")
    assert main(["train", "tag", files[0], "--val", files[1], "--hidden", "16", "--embed", "8", "--char-hidden", "4",
                 "--char-embed", "4", "--max-steps", "3", "--out", out, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", out, "EU rejects German call"]) == 0
    line = capsys.readouterr().out.strip()
    assert [w.split("/")[0] for w in line.split()] == ["EU", "rejects", "German", "call"]
    assert main(["predict", out, "EU rejects", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"input", "tokens", "tags", "entities"}
    assert main(["evaluate", out, files[1]]) == 0
    assert "token accuracy" in capsys.readouterr().out


def test_bundled_default_data(tmp_path):
    paths = tag.bundled_paths()
    train, val = (read_conll(p) for p in paths)
    assert len(train) == 3000 and len(val) == 500 and train.scheme == val.scheme == "iob2"
    assert {t[2:] for s in train.tags for t in s if t != "O"} == {"PER", "LOC", "ORG", "MISC"}
    summary = tag.train(tag.Config(max_steps=2, hidden=8, embed=8, char_hidden=4, out=str(tmp_path / "d"),
                                   quiet=True))
    assert summary["train_sentences"] == 3000 and summary["steps"] == 2


@pytest.mark.parametrize("which, text, message", [
    ("train", "a O\nb NN O\n", r"train.conll:2: expected 2 columns"),
    ("val", "a O\n\nb I-X\n", None),                      # fine: a tag the training data lacks is allowed
    ("val", "a O\nb E-PER\n", r"valid.conll:2: tag 'E-PER' is not O"),
    ("train", "", r"train.conll: the file is empty"),
    ("train", "a O\nb O\n\nc O\n", r"train.conll: every tag is 'O' \(outside any entity\): there is nothing"),
])
def test_bad_input_writes_nothing(tmp_path, files, which, text, message):
    bad = tmp_path / ("train.conll" if which == "train" else "valid.conll")
    bad.write_text(text, encoding="utf-8")
    paths = {"train": files[0], "val": files[1], which: str(bad)}
    config = tiny(tmp_path, files, "never", data=[paths["train"]], val=paths["val"], max_steps=1)
    if message is None:
        assert tag.train(config)["steps"] == 1
        return
    with pytest.raises(DataError, match=message):
        tag.train(config)
    assert not (tmp_path / "never").exists()
    assert main(["train", "tag", paths["train"], "--val", paths["val"], "--out", str(tmp_path / "never")]) == 2
    assert not (tmp_path / "never").exists()


def test_bad_options(tmp_path, files):
    with pytest.raises(RnnkitError, match="--unk-replace"):
        tag.train(tiny(tmp_path, files, unk_replace=1.5))
    with pytest.raises(RnnkitError, match="--scheme"):
        tag.train(tiny(tmp_path, files, scheme="bioes"))
    with pytest.raises(RnnkitError, match="strings"):
        tag.predict(rk.load(tag.train(tiny(tmp_path, files, max_steps=1))["run"]), [["EU"]])


def test_ctrl_c_and_resume_is_exact(tmp_path, files, monkeypatch):
    assert_interrupt_and_resume_exact(
        monkeypatch, tag.TagObjective, tag.train,
        lambda name: tiny(tmp_path, files, name, dropout=0.3, epochs=2, batch_size=32), at_call=5, total=16)


@pytest.mark.skipif(not (CONLL / "eng.testb").exists(), reason="CoNLL-2003 is not here (research-only licence)")
def test_reads_conll_2003_counts():
    data = read_conll(CONLL / "eng.testb")
    assert data.scheme == "iob1" and len(data) == 3453 and sum(map(len, data.tokens)) == 46435
    assert sum(t.startswith("B-") for s in data.tags for t in s) == 5648  # the entities of the test set


def _crf_tagger():
    vocab = Vocab(["<pad>", "<unk>", "eu", "rejects", "german", "call"], unk="<unk>")
    chars = Vocab(["<pad>", "<unk>"] + list("EUrejctsGman"), unk="<unk>")
    rnn = rk.GRU(6 + len(CASINGS) + 6, 4, bidirectional=True, dtype="float64", seed=0)
    return Tagger(rnn, ["O", "B-ORG", "I-ORG", "B-MISC"], vocab, 6, chars,
                  rk.GRU(5, 3, bidirectional=True, dtype="float64", seed=1), 5, seed=0, max_word=8, crf=True)


def test_a_crf_taggers_whole_loss_gradients_float64():
    """The CRF's likelihood through the head, the word layer and the character layer, by finite differences."""
    model = _crf_tagger()
    rng = np.random.default_rng(0)
    for p in model.crf.params.values():
        p[...] = rng.normal(size=p.shape)
    x, lengths = model.batch([["EU", "rejects", "German", "call"], ["EU", "zzz"], ["Call"]])
    y = np.array([[1, 0, 3, 0], [1, 2, 0, 0], [0, 0, 0, 0]])

    def loss() -> float:
        return model.loss(model.forward(x, lengths), y, lengths)[0]
    model.zero_grad()
    _, dlogits = model.loss(model.forward(x, lengths), y, lengths)
    model.backward(dlogits)
    grads = {k: g.copy() for k, g in model.gradients().items()}
    params = model.parameters()
    model.eval()                                                    # no dropout either way; nothing added
    for name in ("crf.transitions", "crf.start_transitions", "crf.end_transitions", "head.weight",
                 "rnn.weight_hh_l0_reverse", "char.rnn.weight_ih_l0", "embedding.weight"):
        p, g = params[name].reshape(-1), grads[name].reshape(-1)
        for i in rng.choice(p.size, size=min(6, p.size), replace=False):
            keep = p[i]
            p[i] = keep + 1e-6
            up = loss()
            p[i] = keep - 1e-6
            down = loss()
            p[i] = keep
            assert g[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9), name
    assert not any((model.gradients()[k] - grads[k]).any() for k in grads)  # scoring in eval mode adds nothing
    assert model.crf.loss(model.forward(x, lengths), y, lengths) == loss()   # the likelihood alone, as scored
    best = model.decode(model.forward(x, lengths), lengths)
    assert not any(model.tags[k] == "I-ORG" and model.tags[j] not in ("B-ORG", "I-ORG")
                   for row in best for j, k in zip(row, row[1:]))


def test_crf_learns_predicts_and_is_kept_by_the_run(tmp_path, files, capsys):
    summary = tag.train(tiny(tmp_path, files, epochs=10, crf=True))
    assert summary["best_val_f1"] >= 0.75
    model = rk.load(summary["run"])
    assert model.crf is not None and np.abs(model.crf.params["transitions"]).max() > 0
    assert tag.evaluate(model, [files[0]])["f1"] >= 0.9
    assert main(["train", "tag", files[0], "--val", files[1], "--crf", "--hidden", "8", "--embed", "4",
                 "--char-hidden", "4", "--char-embed", "4", "--max-steps", "2", "--out", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    assert rk.load(str(tmp_path / "cli")).crf is not None and rk.load(summary["run"]).config.crf
    pytest.importorskip("onnx", reason="the ONNX export: pip install onnx")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "cli"), str(tmp_path / "crf.onnx")]) == 0
    assert "the CRF is not in the graph" in capsys.readouterr().out
