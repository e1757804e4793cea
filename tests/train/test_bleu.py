"""BLEU equals sacreBLEU's corpus BLEU on recorded cases (tests/fixtures/sacrebleu_bleu.json, written by
make_sacrebleu_fixtures.py), with its statistics; the 13a tokens; exact match; and argument checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.train.bleu import bleu_statistics, corpus_bleu, exact_match, tokenize_13a

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "sacrebleu_bleu.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["name"] for c in FIXTURE["cases"]])
def test_equals_sacrebleu(case):
    stats = bleu_statistics(case["hypotheses"], case["references"])
    assert stats["matches"] == case["counts"] and stats["totals"] == case["totals"]
    assert (stats["sys_len"], stats["ref_len"]) == (case["sys_len"], case["ref_len"])
    assert corpus_bleu(case["hypotheses"], case["references"]) == pytest.approx(case["bleu"], abs=1e-9)


def test_fixture_covers_the_edge_cases():
    scores = {c["name"]: c["bleu"] for c in FIXTURE["cases"]}
    assert scores["identical"] == pytest.approx(100) and scores["no_match"] == 0
    assert 0 < scores["no_4grams_matched"] < 100     # exp smoothing, not zero
    assert scores["hypothesis_shorter_than_4"] == 0  # no 4-gram guessed at all
    assert len(scores) >= 15


def test_tokenize_13a():
    assert tokenize_13a("Qu'est-ce que c'est?") == ["Qu'est-ce", "que", "c'est", "?"]
    assert tokenize_13a("Il a 2,5 ans, 3.5 kg.") == ["Il", "a", "2,5", "ans", ",", "3.5", "kg", "."]
    assert tokenize_13a("a &amp; b (c)") == ["a", "&", "b", "(", "c", ")"]
    assert tokenize_13a("1-2") == ["1", "-", "2"]


def test_exact_match():
    assert exact_match(["Va !", "Cours!"], ["Va!", "Courez !"]) == 0.5
    with pytest.raises(ValueError, match="expected 1"):
        exact_match(["a"], ["a", "b"])


def test_reference_streams_must_match_the_hypotheses():
    with pytest.raises(ValueError, match=r"references\[1\]: expected 2 segments"):
        corpus_bleu(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(ValueError, match="segment 1 has no reference"):
        corpus_bleu(["a", "b"], [["a", None], ["a", None]])
    with pytest.raises(ValueError, match="at least one reference stream"):
        corpus_bleu(["a"], [])
