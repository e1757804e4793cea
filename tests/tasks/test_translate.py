"""translate: it learns a tiny word-for-word language, runs through the command line (train, translate,
predict, evaluate, info), resumes exactly, keeps a fixed held-out split, and refuses bad input before
writing anything."""
from __future__ import annotations

import gzip
import json
import re
from importlib import resources

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import DataError, RnnkitError
from rnnkit.tasks import translate, translate_data
from rnnkit.tasks.seq2seq import Seq2Seq
from rnnkit.train.run import Run
from tests.conftest import assert_interrupt_and_resume_exact

WORDS = {"one": "un", "two": "deux", "three": "trois", "red": "rouge", "blue": "bleu", "cat": "chat",
         "dog": "chien", "big": "grand", "small": "petit", "see": "vois"}


def pairs(n, seed=0):
    rng, keys = np.random.default_rng(seed), sorted(WORDS)
    out = []
    for _ in range(n):
        src = [keys[i] for i in rng.integers(0, len(keys), size=rng.integers(1, 5))]
        tgt = [WORDS[w] for w in src]
        out.append((" ".join(src) + ".", " ".join(tgt).capitalize() + " !"))
    return out


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "toy.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs(600)), encoding="utf-8")
    return str(path)


def tiny(tmp_path, data, name="run", **kwargs):
    options = dict(hidden=32, embed=16, epochs=15, lr=0.01, min_count=1, dropout=0.0, batch_size=32, beam=3,
                   val_fraction=0.05, quiet=True)
    return translate.Config(data=data, out=str(tmp_path / name), **(options | kwargs))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tsv):
    tmp = tmp_path_factory.mktemp("runs")
    return translate.train(tiny(tmp, [tsv]))


def test_learns_the_toy_language(trained):
    assert trained["heldout_pairs"] == 30 and trained["train_pairs"] == 570
    assert trained["heldout_bleu_beam"] > 90 and trained["heldout_bleu_greedy"] > 90
    assert trained["best_val_bleu"] > 90 and trained["heldout_exact_match_beam"] > 0.8
    model = rk.load(trained["run"])
    assert isinstance(model, Seq2Seq) and not model.training
    result = translate.translate(model, "big red dog.", beam=4, nbest=3)
    assert result["translation"] == "Grand rouge chien !"
    scores = [h["score"] for h in result["nbest"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert translate.translate(model, "big red dog.", beam=1)["score"] is None  # greedy


def test_run_directory_and_heldout_file(trained):
    run = Run(trained["run"])
    for name in ("config.json", "source_vocab.json", "target_vocab.json", "best.safetensors", "heldout.tsv",
                 "summary.json"):
        assert run.exists(name), name
    assert run.read_json("target_vocab.json")["tokens"][:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    held = run.file("heldout.tsv").read_text(encoding="utf-8").splitlines()
    assert len(held) == 30 and all(line.count("\t") == 1 for line in held)


def test_cli_translate_predict_evaluate_info(trained, capsys):
    out = trained["run"]
    capsys.readouterr()
    assert main(["translate", out, "one cat.", "--beam", "3", "--nbest", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Un chat !" and re.fullmatch(r"  1\t-\d+\.\d{4}\tUn chat !", lines[1])
    assert len(lines) == 3 and lines[2].startswith("  2\t-")
    assert main(["translate", out, "two dogs.", "--json", "--beam", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["nbest"][0]["score"] is None
    assert main(["predict", out, "see small cat.", "blue dog."]) == 0
    assert capsys.readouterr().out.splitlines() == ["Vois petit chat !", "Bleu chien !"]
    assert main(["evaluate", out, f"{out}/heldout.tsv", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 30 and result["bleu"] == pytest.approx(trained["heldout_bleu_beam"])
    assert 0 <= result["exact_match"] <= 1
    assert main(["info", out]) == 0
    assert main(["translate", out, "   "]) == 2
    assert "TEXT: expected sentences with at least one word" in capsys.readouterr().err
    assert main(["translate", out, "cat", "--beam", "0"]) == 2
    assert main(["translate", out, "cat", "--max-length", "0"]) == 2
    assert "--max-length: expected a positive integer, given 0" in capsys.readouterr().err


def test_attention_and_cell_options(tmp_path, tsv):
    for attention, cell in (("bahdanau", "lstm"), ("none", "gru")):
        summary = translate.train(tiny(tmp_path, [tsv], f"{attention}", attention=attention, cell=cell, epochs=1,
                                       hidden=8, embed=8))
        model = rk.load(summary["run"])
        assert model.attention_kind == attention and model.encoder.cell.name.startswith(cell)
        assert (model.attention is None) == (attention == "none")


def test_ctrl_c_and_resume_is_exact(tmp_path, tsv, monkeypatch):
    assert_interrupt_and_resume_exact(
        monkeypatch, translate.TranslateObjective, translate.train,
        lambda name: tiny(tmp_path, [tsv], name, dropout=0.3, epochs=2, hidden=8, embed=8), at_call=7, total=36)


def test_bad_input_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "never"

    def refuse(data: bytes | None, match, error=DataError, **kwargs):
        paths = []
        if data is not None:
            (tmp_path / "bad.tsv").write_bytes(data)
            paths = [str(tmp_path / "bad.tsv")]
        with pytest.raises(error, match=match):
            translate.train(translate.Config(data=paths, out=str(out), quiet=True, **kwargs))
        assert not out.exists()

    refuse(b"Go.\tVa !\nRun! Cours !\n", r"bad.tsv:2: expected 'source<TAB>target', found no tab")
    refuse(b"Go.\tVa !\n\tCours !\n", r"bad.tsv:2: the source side is empty")
    refuse(b"Go.\t \n", r"bad.tsv:1: the target side is empty")
    refuse(b"", r"bad.tsv: the file is empty")
    refuse(b"a\tb\nc\td\n", "leaves 0 for validation")
    refuse(b"a b c\tx y z\n" * 40, "no training pair has both sides within --max-length 2", max_length=2)
    refuse(None, "--attention: expected one of none, luong, bahdanau", RnnkitError, attention="dot")
    refuse(None, "--beam: expected an integer >= 1", RnnkitError, beam=0)
    refuse(None, "--bidirectional", RnnkitError, bidirectional=True)
    (tmp_path / "bad.tsv").write_bytes(b"Go.\tVa !\nRun!\n")
    assert main(["train", "translate", str(tmp_path / "bad.tsv"), "--out", str(out), "--quiet"]) == 2
    assert "bad.tsv:2: expected 'source<TAB>target'" in capsys.readouterr().err
    assert not out.exists()


def test_heldout_split_is_fixed_random_and_not_the_tail():
    train_idx, val_idx = translate_data.split_indices(60000, 0.05)
    assert len(val_idx) == 3000 and len(np.union1d(train_idx, val_idx)) == 60000
    np.testing.assert_array_equal(val_idx, translate_data.split_indices(60000, 0.05)[1])
    assert val_idx.min() < 1000 and val_idx.max() > 59000      # spread over the length-sorted file
    assert abs(np.mean(val_idx) - 30000) < 2000


def test_bundled_pairs_and_attribution():
    pairs = translate_data.bundled_pairs()
    assert len(pairs.sources) == 60000 and (pairs.sources[0], pairs.targets[0]) == ("Go.", "Va !")
    folder = resources.files("rnnkit.datasets").joinpath("translation")
    notice = folder.joinpath("ATTRIBUTION.txt").read_text(encoding="utf-8")
    assert "CC BY 2.0 FR" in notice and "tatoeba.org" in notice and "manythings.org" in notice
    assert gzip.decompress(folder.joinpath(translate_data.BUNDLED).read_bytes()).count(b"\n") == 60000


@pytest.mark.parametrize("penalty", [float("nan"), float("inf"), -1.0, "1"])
def test_length_penalty_must_be_a_finite_number_at_least_0(trained, penalty):
    model = rk.load(trained["run"])
    with pytest.raises(RnnkitError, match="--length-penalty: expected a finite number >= 0"):
        translate.translate(model, "a b", beam=2, length_penalty=penalty)


def test_val_file_is_the_heldout_set(tmp_path, tsv):
    held = tmp_path / "held.tsv"
    held.write_text("".join(f"{s}\t{t}\n" for s, t in pairs(7, seed=5)), encoding="utf-8")
    summary = translate.train(tiny(tmp_path, [tsv], val=str(held), epochs=None, max_steps=2))
    assert summary["heldout_pairs"] == 7 and summary["train_pairs"] == 600
    assert Run(summary["run"]).file("heldout.tsv").read_text(encoding="utf-8") == held.read_text(encoding="utf-8")
    with pytest.raises(DataError, match="missing.tsv: file not found"):
        translate.train(tiny(tmp_path, [tsv], "m", val=str(tmp_path / "missing.tsv")))
