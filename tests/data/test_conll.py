"""CoNLL reader: columns, sentences, schemes, and errors that name the file and line."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.conll import format_conll, parse_conll, read_conll, to_iob1, to_iob2
from rnnkit.errors import DataError

CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP B-NP I-PER
   \t
BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O
"""


def write(tmp_path, text, name="data.conll") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_reads_conll_2003_iob1_as_iob2(tmp_path):
    data = read_conll(write(tmp_path, CONLL_2003))
    assert data.scheme == "iob1" and len(data) == 3
    assert data.tokens[0] == ["EU", "rejects", "German", "call", "."]
    assert data.tags[0] == ["B-ORG", "O", "B-MISC", "O", "O"]
    assert data.tags[1] == ["B-PER", "I-PER"] and data.tags[2] == ["B-LOC", "O"]
    assert data.where[0].endswith("data.conll:3") and data.where[2].endswith("data.conll:12")


def test_tabs_two_columns_iob2_and_pooled_files(tmp_path):
    a = write(tmp_path, "New\tB-LOC\nYork\tI-LOC\nis\tO\n\nB\tB-X\n", "a.tsv")
    b = write(tmp_path, "Ann B-PER\nB-PER B-PER\n", "b.conll")  # adjacent one-word chunks, IOB2
    data = read_conll([a, b])
    assert data.tokens == [["New", "York", "is"], ["B"], ["Ann", "B-PER"]]
    assert data.tags[-1] == ["B-PER", "B-PER"] and data.scheme == "iob2"
    spaced = read_conll(write(tmp_path, "-DOCSTART- O\n\nNew York\tNNP\tB-LOC\nrain\tNN\tO\n", "c.tsv"))
    assert spaced.tokens == [["New York", "rain"]]  # tab-separated: a token may hold a space


def test_scheme_conversions_keep_chunks():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
    assert to_iob2(iob1) == iob2 and to_iob1(iob2) == iob1 and to_iob2(iob2) == iob2


def test_auto_takes_the_majority_and_a_given_scheme_is_enforced(tmp_path):
    # IOB1 with one stray B- after O, as in eng.train: read the conlleval way under auto
    text = "A I-PER\nb O\n\nC I-LOC\nd O\n\ne O\nF B-MISC\n"
    data = read_conll(write(tmp_path, text), "auto")
    assert data.scheme == "iob1" and data.tags[2] == ["O", "B-MISC"]
    with pytest.raises(DataError, match=r"data.conll:8: 'B-MISC' does not follow a chunk of its type"):
        read_conll(write(tmp_path, text), "iob1")
    with pytest.raises(DataError, match=r"data.conll:1: 'I-PER' starts a chunk, which IOB2 does not allow"):
        read_conll(write(tmp_path, text), "iob2")
    with pytest.raises(DataError, match="--scheme: expected one of auto, iob1, iob2"):
        read_conll(write(tmp_path, text), "bioes")


@pytest.mark.parametrize("text, message", [
    ("a O\nb NN O\n", r"data.conll:2: expected 2 columns like the first token line, given 3"),
    ("a NN O\n\nb O\n", r"data.conll:3: expected 3 columns like the first token line, given 2"),
    ("a\tNN\tO\nb NN O\n", r"data.conll:2: expected 3 columns like the first token line, given 1"),
    ("a\n", r"data.conll:1: expected at least two columns"),
    ("a O\nb S-PER\n", r"data.conll:2: tag 'S-PER' is not O, B-TYPE or I-TYPE"),
    ("a B-\n", r"data.conll:1: tag 'B-' is not O"),
    ("a per\n", r"data.conll:1: tag 'per' is not O"),
    ("-DOCSTART- -X- O\n\n  \n", r"data.conll: no tagged sentences found"),
])
def test_bad_files_name_file_and_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_conll(write(tmp_path, text))


def test_empty_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(DataError, match="empty.conll: the file is empty"):
        read_conll(write(tmp_path, "", "empty.conll"))
    with pytest.raises(DataError, match="nope.conll: file not found"):
        read_conll(str(tmp_path / "nope.conll"))
    (tmp_path / "latin1.conll").write_bytes("caf\xe9 O\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_conll(str(tmp_path / "latin1.conll"))


def test_format_round_trips(tmp_path):
    data = read_conll(write(tmp_path, CONLL_2003))
    again = parse_conll(format_conll(data.tokens, data.tags), "again")
    assert again.tokens == data.tokens and again.tags == data.tags


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.text(alphabet="ab BIO-\t\n\r\x85", max_size=120).map(lambda s: s.encode("utf-8")),
                 st.integers(1, len(CONLL_2003.encode())).map(lambda n: CONLL_2003.encode()[:n])))
def test_any_bytes_give_sentences_or_a_data_error(tmp_path_factory, data):
    path = Path(tmp_path_factory.mktemp("fuzz")) / "f.conll"
    path.write_bytes(data)
    try:
        result = read_conll(str(path))
    except DataError as exc:
        assert str(exc)
        return
    assert len(result) >= 1 and len(result.tokens) == len(result.tags) == len(result.where)
    for tokens, tags in zip(result.tokens, result.tags):
        assert len(tokens) == len(tags) >= 1 and all(t == "O" or t[:2] in ("B-", "I-") for t in tags)
