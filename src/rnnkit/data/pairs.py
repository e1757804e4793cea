"""Sentence pairs for translation: ``source<TAB>target`` lines, and the tokens both sides are cut into.

A pairs file is UTF-8 text, one pair per line: the source sentence, a tab, the target sentence.
Further tab-separated columns (manythings.org's newer files add an attribution column) are
ignored; blank lines are skipped. A line without a tab, or with an empty side, is an error naming
the file and line; so is a file with no pair at all.

Tokens (word level): runs of letters/digits, each punctuation mark on its own, and an apostrophe
kept on the word before it, so that elisions stay readable and a translation can be put back
together (``detokenize``) the way sacreBLEU's 13a tokenizer expects ("l'apporte", "peut-être"):

    "Je l'apporte, peut-être."  ->  ["Je", "l'", "apporte", ",", "peut", "-", "être", "."]
"""
from __future__ import annotations

import re
from typing import NamedTuple

from rnnkit.data.text import decode_utf8, read_bytes
from rnnkit.errors import DataError

_TOKEN = re.compile(r"\w+['’]|\w+|[^\w\s]")
_GLUE_AFTER = ("'", "’", "-")  # no space after a token ending with these (elisions, hyphens)
_GLUE_BEFORE = {"-", ".", ",", ")", "…"}  # nor before these


class Pairs(NamedTuple):
    sources: list[str]
    targets: list[str]
    where: list[str]   # "file:line" of each pair, for messages


def parse_pairs(text: str, source: str) -> Pairs:
    """The pairs of a file's text; DataError naming ``source``:line for a bad line or no pair at all."""
    sources, targets, where = [], [], []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        if "\t" not in line:
            raise DataError(f"{source}:{number}: expected 'source<TAB>target', found no tab in {line[:60]!r}")
        src, tgt = line.split("\t")[:2]
        for side, value in (("source", src), ("target", tgt)):
            if not value.strip():
                raise DataError(f"{source}:{number}: the {side} side is empty in {line[:60]!r}")
        sources.append(src.strip())
        targets.append(tgt.strip())
        where.append(f"{source}:{number}")
    if not sources:
        raise DataError(f"{source}: no sentence pairs found (expected 'source<TAB>target' lines)")
    return Pairs(sources, targets, where)


def read_pairs(paths: list[str]) -> Pairs:
    """The pairs of one or more files, pooled in order (each file is checked whole)."""
    pooled = Pairs([], [], [])
    for path in paths:
        part = parse_pairs(decode_utf8(read_bytes(path), str(path)), str(path))
        for into, values in zip(pooled, part):
            into.extend(values)
    return pooled


def tokenize(text: str, lower: bool = False) -> list[str]:
    """Words and punctuation marks, an apostrophe kept on the word before it."""
    return _TOKEN.findall(text.lower() if lower else text)


def detokenize(tokens: list[str]) -> str:
    """Join tokens with spaces, except after an elision, around a hyphen and before . , ) …: the inverse
    of ``tokenize`` up to the spacing of punctuation, which sacreBLEU's 13a tokenizer normalises anyway."""
    out = []
    for i, token in enumerate(tokens):
        glued = i == 0 or tokens[i - 1].endswith(_GLUE_AFTER) or token in _GLUE_BEFORE
        out.append(token if glued else " " + token)
    return "".join(out)
