"""Entity scores: conlleval's chunks and numbers, checked against recorded seqeval results."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.errors import RnnkitError
from rnnkit.train.entities import chunks, entity_scores, format_entity_scores

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "seqeval_entities.json"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_chunks_conlleval_rules():
    assert chunks(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 4)]
    assert chunks(["B-PER", "I-PER", "I-LOC", "O"]) == [("PER", 0, 1), ("LOC", 2, 2)]  # a type change cuts
    assert chunks(["O", "I-ORG"]) == [("ORG", 1, 1)]                                 # I- after O starts one
    assert chunks(["B-geo-nam", "I-geo-nam"]) == [("geo-nam", 0, 1)]
    assert chunks(["S-PER", "B-LOC", "E-LOC", "O"]) == [("PER", 0, 0), ("LOC", 1, 2)]  # IOBES too
    assert chunks([]) == [] and chunks(["O", "O"]) == []


def test_fixture_covers_both_schemes_and_edge_cases():
    names = [c["name"] for c in CASES]
    assert sum(n.startswith("random_iob1") for n in names) >= 10 and sum(n.startswith("random_iob2") for n in names) >= 10
    assert {"nothing_predicted", "nothing_gold", "hyphenated_type", "one_token_sentences"} <= set(names)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_seqeval(case):
    s = entity_scores(case["gold"], case["pred"])
    for key in ("precision", "recall", "f1", "accuracy"):
        assert s[key] == pytest.approx(case[key], abs=1e-12), key
    assert set(s["types"]) == set(case["types"])
    for name, ref in case["types"].items():
        got = s["types"][name]
        assert (got["precision"], got["recall"], got["f1"], got["gold"]) == pytest.approx(
            (ref["precision"], ref["recall"], ref["f1"], ref["support"]), abs=1e-12), name


def test_counts_and_table():
    s = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    assert (s["gold"], s["predicted"], s["correct"], s["tokens"]) == (2, 2, 1, 4)
    assert s["precision"] == s["recall"] == s["f1"] == 0.5 and s["accuracy"] == 0.75
    assert s["types"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "gold": 0, "predicted": 1, "correct": 0}
    table = format_entity_scores(s)
    assert table.splitlines()[0].split() == ["type", "precision", "recall", "f1", "gold", "predicted"]
    assert "overall" in table and "token accuracy 0.7500 (4 tokens)" in table


def test_mismatched_lengths_are_refused():
    with pytest.raises(RnnkitError, match="expected 2 sentences"):
        entity_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(RnnkitError, match="sentence 0 has 1 tags"):
        entity_scores([["O", "O"]], [["O"]])
