"""Sentence-pair files: parsing, errors naming file and line, tokens, detokenizing for 13a, and a
property test: any bytes give pairs or a DataError, never another exception."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.pairs import detokenize, parse_pairs, read_pairs, tokenize
from rnnkit.errors import DataError
from rnnkit.train.bleu import tokenize_13a


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_reads_pairs_with_crlf_bom_blank_lines_and_extra_columns(tmp_path):
    path = write(tmp_path, "p.tsv", "\ufeffGo.\tVa !\r\n\nHi.\tSalut !\tCC-BY 2.0 (France) Attribution\n".encode())
    pairs = read_pairs([path])
    assert pairs.sources == ["Go.", "Hi."] and pairs.targets == ["Va !", "Salut !"]
    assert pairs.where == [f"{path}:1", f"{path}:3"]


def test_several_files_are_pooled_in_order(tmp_path):
    a, b = write(tmp_path, "a.tsv", b"a\tA\n"), write(tmp_path, "b.tsv", b"b\tB\nc\tC")
    assert read_pairs([a, b]).targets == ["A", "B", "C"]


@pytest.mark.parametrize("data, message", [
    (b"Go.\tVa !\nRun! Cours !\n", r"bad.tsv:2: expected 'source<TAB>target', found no tab in 'Run! Cours !'"),
    (b"Go.\tVa !\n\t Cours\n", r"bad.tsv:2: the source side is empty"),
    (b"Go.\t  \n", r"bad.tsv:1: the target side is empty"),
    (b"\n\n  \n", r"bad.tsv: no sentence pairs found"),
    (b"", r"bad.tsv: the file is empty"),
    (b"caf\xe9\tx\n", r"bad.tsv: not valid UTF-8 at byte offset 3 \(line 1\)"),
])
def test_bad_files_name_file_and_line(tmp_path, data, message):
    with pytest.raises(DataError, match=message):
        read_pairs([write(tmp_path, "bad.tsv", data)])


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.tsv: file not found"):
        read_pairs([str(tmp_path / "nope.tsv")])


def test_tokens():
    assert tokenize("Je l'apporte, peut-être.") == ["Je", "l'", "apporte", ",", "peut", "-", "être", "."]
    assert tokenize("I'm Tom’s BOSS!", lower=True) == ["i'", "m", "tom’", "s", "boss", "!"]


@pytest.mark.parametrize("text", ["Je l'apporte immédiatement.", "Qu'est-ce que c'est ?", "Tom's here, isn't he?",
                                  "Va !", "Il a 20 ans.", "« Bonjour », dit-il."])
def test_detokenized_text_has_the_references_13a_tokens(text):
    assert tokenize_13a(detokenize(tokenize(text))) == tokenize_13a(text)


def test_detokenize_spacing():
    assert detokenize(["Qu'", "est", "-", "ce", "?"]) == "Qu'est-ce ?"
    assert detokenize(["Il", "pleut", ",", "non", "."]) == "Il pleut, non."
    assert detokenize([]) == ""


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.lists(st.sampled_from([b"a", b"\t", b"\n", b" ", b"\r", b"\xc3", b"\xa9",
                                                          b"\xef\xbb\xbf", b"\xff", "é".encode()]),
                                           max_size=40).map(b"".join))
def test_any_bytes_give_pairs_or_a_data_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f.tsv"
    path.write_bytes(data)
    try:
        pairs = read_pairs([str(path)])
    except DataError as exc:
        assert str(exc).startswith(str(path))
        return
    assert pairs.sources and len(pairs.sources) == len(pairs.targets) == len(pairs.where)
    assert all(s.strip() and t.strip() and "\t" not in s for s, t in zip(pairs.sources, pairs.targets))


def test_parse_pairs_source_name():
    with pytest.raises(DataError, match="inline:2: expected"):
        parse_pairs("a\tb\nc\n", "inline")
