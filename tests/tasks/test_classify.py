"""classify: it learns (binary, multi-class, .npz, pre-trained vectors), predicts, evaluates, resumes,
and refuses bad input before writing anything."""
from __future__ import annotations

import json

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import DataError, RnnkitError
from rnnkit.tasks import classify, labelled_data
from rnnkit.tasks.base import split_indices
from rnnkit.train.run import Run
from tests.conftest import assert_interrupt_and_resume_exact

CUES = {"neg": ["bad", "awful", "boring"], "pos": ["good", "great", "lovely"], "meh": ["okay", "average", "fine"]}
FILLER = "the a film movie plot was is it really very quite this".split()


def sentences(n, classes=("neg", "pos"), seed=0):
    """Sentences of filler words with one cue word that gives the class away."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = str(rng.choice(classes))
        words = list(rng.choice(FILLER, size=int(rng.integers(2, 7))))
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(CUES[label])))
        rows.append((" ".join(words), label))
    return rows


def write_tsv(path, rows):
    path.write_text("".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    return str(path)


def tiny(tmp_path, data, name="run", **kwargs):
    base = dict(data=data, hidden=16, embed=16, batch_size=16, epochs=6, lr=1e-2, dropout=0.0,
                patience=None, out=str(tmp_path / name), quiet=True)
    return classify.Config(**(base | kwargs))


@pytest.fixture
def binary_tsv(tmp_path):
    return write_tsv(tmp_path / "reviews.tsv", sentences(240))


def test_binary_learns_predicts_and_evaluates(tmp_path, binary_tsv):
    summary = classify.train(tiny(tmp_path, [binary_tsv]))
    assert summary["best_val_accuracy"] >= 0.9 and summary["classes"] == 2 and summary["val_examples"] == 48
    model = rk.load(summary["run"])
    assert model.labels == ["neg", "pos"] and model.head.out_features == 1 and not model.training
    logits = model.forward(np.array([[2, 3, 0], [4, 0, 0]]), lengths=np.array([3, 1]))
    assert logits.shape == (2, 1)
    results = classify.predict(model, ["a really great film", "the plot was awful", "zzz unknown words"])
    assert [r["label"] for r in results[:2]] == ["pos", "neg"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-9 for r in results)
    assert results[0]["probability"] == max(results[0]["probabilities"].values()) > 0.5
    assert classify.format_prediction(results[0]) == f"pos\t{results[0]['probability']:.3f}\ta really great film"
    result = classify.evaluate(model, [binary_tsv])
    assert result["examples"] == 240 and result["accuracy"] >= 0.9 and 0.9 <= result["macro_f1"] <= 1
    assert np.sum(result["confusion"]) == 240 and result["labels"] == ["neg", "pos"]
    text = classify.format_evaluation(result)
    assert "accuracy" in text and "macro f1" in text and "true \\ predicted" in text
    json.dumps(result)  # `rnnkit evaluate --json`


def test_run_directory_and_vocabulary(tmp_path, binary_tsv):
    summary = classify.train(tiny(tmp_path, [binary_tsv], epochs=1, min_count=2))
    run = Run.open(summary["run"])
    assert {"config.json", "labels.json", "vocab.json", "best.safetensors", "last.safetensors", "metrics.jsonl",
            "summary.json"} <= {p.name for p in run.path.iterdir()}
    assert run.read_json("labels.json") == {"labels": ["neg", "pos"]}
    tokens = run.read_json("vocab.json")["tokens"]
    assert tokens[:2] == ["<pad>", "<unk>"] and "great" in tokens
    assert set(run.metrics()[-1]) >= {"val_loss", "val_accuracy", "val_macro_f1"}
    assert summary["train_examples"] + summary["val_examples"] == 240


def test_multiclass_softmax(tmp_path):
    path = write_tsv(tmp_path / "three.tsv", sentences(300, ("neg", "meh", "pos"), seed=1))
    summary = classify.train(tiny(tmp_path, [path], epochs=8))
    assert summary["best_val_accuracy"] >= 0.85 and summary["classes"] == 3
    model = rk.load(summary["run"])
    assert model.labels == ["meh", "neg", "pos"] and model.head.out_features == 3
    assert classify.predict(model, ["it was okay"])[0]["label"] == "meh"


def test_char_tokens_and_pooled_csv_files(tmp_path):
    rows = sentences(200, seed=2)
    a = tmp_path / "a.csv"
    a.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows[:100]), encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows[100:]), encoding="utf-8")
    summary = classify.train(tiny(tmp_path, [str(a), str(b)], tokens="char", epochs=1))
    model = rk.load(summary["run"])
    assert summary["train_examples"] + summary["val_examples"] == 200
    assert "g" in model.vocab and "good" not in model.vocab


def test_npz_sequences(tmp_path):
    rng = np.random.default_rng(3)
    N, T = 200, 8
    X = rng.normal(size=(N, T, 2))
    y = np.where(rng.random(N) < 0.5, "walk", "run")
    X[y == "run", :, 0] += 2.0  # the class shows in the level of feature 0
    lengths = rng.integers(3, T + 1, size=N)
    np.savez(tmp_path / "signals.npz", X=X, y=y, lengths=lengths)
    summary = classify.train(tiny(tmp_path, [str(tmp_path / "signals.npz")], cell="lstm"))
    assert summary["best_val_accuracy"] >= 0.9
    model = rk.load(summary["run"])
    assert model.vocab is None and model.config.features == 2 and Run.open(summary["run"]).exists("scaler.json")
    assert model.forward(np.zeros((3, 5, 2), np.float32), lengths=[5, 2, 1]).shape == (3, 1)
    run_like, walk_like = np.full((6, 2), [2.0, 0.0]), np.zeros((6, 2))
    assert [r["label"] for r in classify.predict(model, [run_like, walk_like])] == ["run", "walk"]
    from_file = classify.predict(model, [str(tmp_path / "signals.npz")])
    assert len(from_file) == N and from_file[0]["input"].endswith("signals.npz[0]")
    assert classify.evaluate(model, [str(tmp_path / "signals.npz")])["accuracy"] >= 0.9
    with pytest.raises(DataError, match="trained on .npz sequences"):
        classify.evaluate(model, [write_tsv(tmp_path / "t.tsv", sentences(5))])


@pytest.mark.parametrize("freeze", [False, True])
def test_pretrained_embeddings(tmp_path, binary_tsv, freeze):
    vectors = {"good": [1, 0, 0, 0, 0], "great": [0.9, 0.1, 0, 0, 0], "lovely": [0.8, 0, 0.2, 0, 0],
               "bad": [-1, 0, 0, 0, 0], "Awful": [-0.9, 0, 0.1, 0, 0], "boring": [-0.8, 0, 0, 0.2, 0],
               "rare": [0, 0, 0, 0, 1]}
    path = tmp_path / "vectors.txt"
    path.write_text(f"{len(vectors)} 5\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    summary = classify.train(tiny(tmp_path, [binary_tsv], embed=64, embeddings=str(path),
                                  freeze_embeddings=freeze, epochs=4))
    assert summary["pretrained_vectors"] == 6  # "awful" from "Awful"; "rare" is not in the data
    assert summary["best_val_accuracy"] >= 0.9
    model = rk.load(summary["run"], "last")
    assert model.config.embed == 5 and model.embedding.params["weight"].shape[1] == 5
    row = model.embedding.params["weight"][model.vocab.stoi["good"]]
    if freeze:
        np.testing.assert_allclose(row, vectors["good"], atol=1e-7)
        assert "embedding.weight" not in model.parameters() and "embedding.weight" in model.state_dict()
    else:
        assert not np.allclose(row, vectors["good"])


def test_ctrl_c_and_resume_is_exact(tmp_path, binary_tsv, monkeypatch):
    assert_interrupt_and_resume_exact(
        monkeypatch, classify.ClassifyObjective, classify.train,
        lambda name: tiny(tmp_path, [binary_tsv], name, dropout=0.3, epochs=3), at_call=17, total=36)


def test_bad_data_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "never"

    def refuse(data, match, **kwargs):
        with pytest.raises(DataError, match=match):
            classify.train(classify.Config(data=data, out=str(out), quiet=True, **kwargs))
        assert not out.exists()

    refuse([str(tmp_path / "missing.tsv")], "missing.tsv: file not found")
    (tmp_path / "empty.tsv").write_bytes(b"")
    refuse([str(tmp_path / "empty.tsv")], "empty.tsv: the file is empty")
    (tmp_path / "latin.tsv").write_bytes("nice\t1\ncaf\xe9\t0\n".encode("latin-1"))
    refuse([str(tmp_path / "latin.tsv")], r"latin.tsv: not valid UTF-8 at byte offset 10 \(line 2\)")
    write_tsv(tmp_path / "one.tsv", [(t, "pos") for t, _ in sentences(20)])
    refuse([str(tmp_path / "one.tsv")], "every example has the label 'pos'; a classifier needs at least two classes")
    (tmp_path / "notab.tsv").write_text("good film\t1\nbad film 0\n")
    refuse([str(tmp_path / "notab.tsv")], r"notab.tsv, line 2: no tab")
    (tmp_path / "cols.csv").write_text("id,review,stars\n1,good,5\n2,bad,1\n")
    refuse([str(tmp_path / "cols.csv")], r"no column named 'text' \(--text-col\); the columns are: 'id', 'review', "
                                         r"'stars'", text_col="text")
    np.savez(tmp_path / "nolabels.npz", X=np.zeros((4, 3, 2)))
    refuse([str(tmp_path / "nolabels.npz")], r"nolabels.npz: expected arrays X .* missing y")
    np.savez(tmp_path / "count.npz", X=np.zeros((4, 3, 2)), y=np.zeros(3))
    refuse([str(tmp_path / "count.npz")], r"count.npz: X holds 4 sequences but y has shape \(3,\)")
    write_tsv(tmp_path / "few.tsv", sentences(3))
    refuse([str(tmp_path / "few.tsv")], "leaves 0 for validation")
    with pytest.raises(RnnkitError, match="--freeze-embeddings: .* --embeddings PATH"):
        classify.train(classify.Config(freeze_embeddings=True, out=str(out)))
    with pytest.raises(RnnkitError, match="--tokens: expected word or char"):
        classify.train(classify.Config(tokens="bytes", out=str(out)))
    assert not out.exists()


def test_bundled_data():
    data = labelled_data.read_data([], classify.Config())
    assert len(data.labels) == 3000 and sorted(set(data.labels)) == ["0", "1"]
    assert all("\t" not in t for t in data.inputs)
    train_idx, val_idx = split_indices(3000, 0.2, labelled_data.SPLIT_SEED)
    assert len(val_idx) == 600 and len(set(train_idx) | set(val_idx)) == 3000
    np.testing.assert_array_equal(val_idx, split_indices(3000, 0.2, labelled_data.SPLIT_SEED)[1])  # fixed, whatever --seed


def test_cli_train_predict_evaluate_info(tmp_path, binary_tsv, capsys):
    out = str(tmp_path / "cli")
    assert main(["train", "classify", binary_tsv, "--hidden", "16", "--embed", "16", "--epochs", "4", "--lr", "0.01",
                 "--no-bidirectional", "--out", out, "--quiet"]) == 0
    assert rk.load(out).rnn.num_directions == 1
    capsys.readouterr()
    assert main(["predict", out, "what a great film", "boring plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"] and lines[0].endswith("\twhat a great film")
    assert main(["predict", out, "lovely", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "pos"
    assert main(["evaluate", out, binary_tsv]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "macro f1" in text and "true \\ predicted" in text and "neg" in text
    assert main(["info", out]) == 0
    assert "classify" in capsys.readouterr().out
    (tmp_path / "bad.tsv").write_text("fine\tpos\nno tab here\n")
    assert main(["train", "classify", str(tmp_path / "bad.tsv"), "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "rnnkit train: error:" in err and "bad.tsv, line 2: no tab" in err
    assert not (tmp_path / "bad").exists()
    (tmp_path / "odd.tsv").write_text("great\tpos\nmeh\tneutral\n")
    assert main(["evaluate", out, str(tmp_path / "odd.tsv")]) == 2
    assert "'neutral' are not classes of the model ('neg', 'pos')" in capsys.readouterr().err


@pytest.mark.parametrize("features", [1, 5])
@pytest.mark.parametrize("verb", ["evaluate", "predict"])
def test_inputs_are_checked_against_the_features_the_model_was_trained_on(tmp_path, features, verb, capsys):
    from rnnkit.cli.main import main
    rng = np.random.default_rng(0)
    for d in (3, features):
        np.savez(tmp_path / f"d{d}.npz", X=rng.normal(size=(20, 4, d)), y=np.arange(20) % 2)
    classify.train(classify.Config(data=[str(tmp_path / "d3.npz")], hidden=4, max_steps=1, quiet=True,
                                   out=str(tmp_path / "run")))
    assert main([verb, str(tmp_path / "run"), str(tmp_path / f"d{features}.npz")]) == 2
    err = capsys.readouterr().err
    assert f"d{features}.npz: sequence 0 has shape (4, {features}): the model was trained on sequences of 3" in err


def test_val_file_and_a_leaking_split_warns(tmp_path, capsys):
    """Phrases of the same sentences on both sides of a random split are measured and warned about; by
    default whole sentences are held out instead; a val file is used as it is."""
    words = "good bad fine awful great poor nice dull".split()
    sentences = [" ".join(words[(i * 3 + k) % 8] for k in range(6)) + f" {i}" for i in range(60)]
    rows = [f"{s}\t{i % 2}" for i, s in enumerate(sentences)]
    rows += [f"{' '.join(s.split()[1:4])}\t{i % 2}" for i, s in enumerate(sentences)]   # their sub-phrases
    (tmp_path / "phrases.tsv").write_text("\n".join(rows) + "\n")
    options = dict(data=[str(tmp_path / "phrases.tsv")], hidden=8, embed=8, max_steps=2, quiet=True)
    summary = classify.train(classify.Config(**options, val_split="random", out=str(tmp_path / "a")))
    assert summary["val_contained_rate"] > 0.3 and summary["val_checked"] == 24 and summary["val_split"] == "random"
    assert "also occur in the training texts" in capsys.readouterr().err
    summary = classify.train(classify.Config(**options, out=str(tmp_path / "auto")))
    assert summary["val_split"] == "phrases" and summary["val_contained_rate"] == 0
    assert summary["val_examples"] == 12 and summary["train_examples"] + summary["val_left_out"] == 108
    err = capsys.readouterr().err
    assert err.startswith("note: validation holds 12 whole texts (20% of the 60") and "warning" not in err
    (tmp_path / "few.tsv").write_text("".join(f"{r}\n" for r in rows[:3] + rows[60:63]))   # 3 sentences only
    summary = classify.train(classify.Config(**{**options, "data": [str(tmp_path / "few.tsv")]}, val_fraction=0.2,
                                             out=str(tmp_path / "few")))
    assert summary["val_split"] == "random" and "also occur in the training texts" in capsys.readouterr().err
    with pytest.raises(DataError, match="3 texts that are part of no other text"):
        classify.train(classify.Config(**{**options, "data": [str(tmp_path / "few.tsv")]}, val_split="phrases",
                                       out=str(tmp_path / "few2")))
    (tmp_path / "held.tsv").write_text("something else entirely\t1\nnothing like it\t0\n")
    summary = classify.train(classify.Config(**options, val=str(tmp_path / "held.tsv"), out=str(tmp_path / "b")))
    assert summary["val_examples"] == 2 and summary["train_examples"] == 120
    assert summary["val_contained_rate"] == 0 and capsys.readouterr().err == ""
    with pytest.raises(DataError, match="missing.tsv: file not found"):
        classify.train(classify.Config(val=str(tmp_path / "missing.tsv"), out=str(tmp_path / "c"), quiet=True))
    assert not (tmp_path / "c").exists()


def test_overlap_rates():
    from rnnkit.data.overlap import leak_warning, overlap
    train = ["A fine film.", "The plot, however, is dull."]
    rates = overlap(train, ["a FINE film .", "plot , however", "however is", "the plot was dull", "film. the"])
    assert rates == {"checked": 5, "duplicate_rate": 0.2, "contained_rate": 0.4}   # whole words, within one text
    assert leak_warning(rates, "the split").startswith("warning: 40% of the validation texts (the split; 20% exact")
    assert leak_warning({"checked": 100, "duplicate_rate": 0.0, "contained_rate": 0.05}, "x") is None
    assert overlap(train, ["x"] * 2000, sample=50)["checked"] == 50
