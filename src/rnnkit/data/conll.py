"""CoNLL column files for tagging: one token per line, the tag in the last column.

    EU NNP B-NP B-ORG          token first, tag last; the columns between (POS, chunk) are ignored
    rejects VBZ B-VP O         columns separated by spaces or by tabs (tabs if the first token line has one)
                               a line holding only whitespace ends a sentence
    -DOCSTART- -X- -X- O       document separators are skipped

Every token line of a file must have the same number of columns (at least two). Tags are ``O``
or ``B-TYPE`` / ``I-TYPE``, in one of two schemes (Ramshaw & Marcus 1995; Tjong Kim Sang & Veenstra
1999), which mark the same chunks differently:

    IOB1 (CoNLL-2003):  I-X inside a chunk; B-X only for a chunk that directly follows another X chunk
    IOB2 (BIO):         B-X at the first token of every chunk, I-X after it

``scheme="auto"`` tells them apart by their chunk starts: an ``I-X`` that does not continue an X (at
the start of a sentence, after ``O`` or after another type) is IOB1's, a ``B-X`` that does not follow
an X is IOB2's; the more frequent wins (a file with neither reads the same either way). A scheme given
with ``--scheme`` is enforced: a tag that breaks it is an error naming the file and line. Chunks are
always read as conlleval reads them (a chunk starts at B-X, or at an I-X that does not continue X),
and :func:`read_conll` returns the tags in IOB2, which marks the same chunks (:func:`to_iob2`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.text import read_text
from rnnkit.errors import DataError

SCHEMES = ("auto", "iob1", "iob2")
DOCSTART = "-DOCSTART-"


@dataclass
class Tagged:
    """Sentences of tokens and their IOB2 tags, with where each sentence starts in its file."""

    tokens: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    where: list[str] = field(default_factory=list)   # "file:line" of each sentence's first token
    scheme: str = "iob2"                             # the scheme the file(s) were written in

    def __len__(self) -> int:
        return len(self.tokens)

    def extend(self, other: "Tagged") -> None:
        self.tokens += other.tokens
        self.tags += other.tags
        self.where += other.where


def split_tag(tag: str) -> tuple[str, str]:
    """("O", "") for O, else (prefix, type): "B-PER" -> ("B", "PER")."""
    return ("O", "") if tag == "O" else (tag[0], tag[2:])


def check_tag(tag: str, where: str) -> None:
    """DataError unless ``tag`` is O, B-TYPE or I-TYPE."""
    if tag != "O" and not (len(tag) > 2 and tag[0] in "BI" and tag[1] == "-"):
        raise DataError(f"{where}: tag {tag!r} is not O, B-TYPE or I-TYPE (IOB1 or IOB2 tags expected; "
                        f"the tag is the last column)")


def _parse_lines(text: str, source: str) -> list[list[tuple[str, str, int]]]:
    """Sentences as lists of (token, tag, line number), every token line checked."""
    sentences, current, columns, tabs = [], [], None, None
    for number, line in enumerate(text.split("\n"), start=1):
        if tabs is None and line.split() and line.split()[0] != DOCSTART:
            tabs = "\t" in line                          # the first token line decides for the file
        parts = [p.strip() for p in line.split("\t")] if tabs and line.strip() else line.split()
        if not parts:
            if current:
                sentences.append(current)
            current = []
            continue
        if parts[0] == DOCSTART:
            continue
        if columns is None:
            columns = len(parts)
            if columns < 2:
                raise DataError(f"{source}:{number}: expected at least two columns (token ... tag), given "
                                f"{line.strip()!r}")
        if len(parts) != columns or not all(parts):
            raise DataError(f"{source}:{number}: expected {columns} columns like the first token line, "
                            f"given {len([p for p in parts if p])}: {line.strip()!r}")
        check_tag(parts[-1], f"{source}:{number}")
        current.append((parts[0], parts[-1], number))
    if current:
        sentences.append(current)
    return sentences


def detect_scheme(sentences: list[list[tuple[str, str, int]]], source: str, scheme: str = "auto") -> str:
    """The scheme of the tags, "iob1" or "iob2".

    A given scheme is checked: DataError at the first tag that breaks it. ``auto`` counts the chunk
    starts written I-X (IOB1) and B-X (IOB2) and takes the more frequent, so a stray tag does not stop
    the file from being read (eng.train of CoNLL-2003 is IOB1 with one B-MISC after O, line 152428);
    either way every chunk is read as conlleval reads it (see :func:`to_iob2`).
    """
    starts = {"I": [], "B": []}
    for sentence in sentences:
        prev_type = ""
        for _, tag, line in sentence:
            prefix, kind = split_tag(tag)
            if prefix != "O" and kind != prev_type:
                starts[prefix].append((tag, line))
            prev_type = kind
    if scheme == "iob2" and starts["I"]:
        tag, line = starts["I"][0]
        raise DataError(f"{source}:{line}: {tag!r} starts a chunk, which IOB2 does not allow (chunks start "
                        f"with B-); is the file IOB1? (--scheme iob1 or auto)")
    if scheme == "iob1" and starts["B"]:
        tag, line = starts["B"][0]
        raise DataError(f"{source}:{line}: {tag!r} does not follow a chunk of its type, which IOB1 does not "
                        f"allow; is the file IOB2 (BIO)? (--scheme iob2 or auto)")
    if scheme != "auto":
        return scheme
    return "iob1" if len(starts["I"]) > len(starts["B"]) else "iob2"


def to_iob2(tags: list[str]) -> list[str]:
    """The same chunks in IOB2: every chunk-starting I-X becomes B-X (IOB2 tags are unchanged)."""
    out, prev_type = [], ""
    for tag in tags:
        prefix, kind = split_tag(tag)
        out.append(f"B-{kind}" if prefix == "I" and kind != prev_type else tag)
        prev_type = kind
    return out


def to_iob1(tags: list[str]) -> list[str]:
    """The same chunks in IOB1: B-X stays only where it follows an X chunk."""
    out, prev_type = [], ""
    for tag in tags:
        prefix, kind = split_tag(tag)
        out.append(f"I-{kind}" if prefix == "B" and kind != prev_type else tag)
        prev_type = kind
    return out


def parse_conll(text: str, source: str = "text", scheme: str = "auto") -> Tagged:
    """Sentences of a CoNLL column text (see the module docstring), tags converted to IOB2."""
    if scheme not in SCHEMES:
        raise DataError(f"--scheme: expected one of {', '.join(SCHEMES)}, given {scheme!r}")
    sentences = _parse_lines(text, source)
    if not sentences:
        raise DataError(f"{source}: no tagged sentences found (expected lines 'token ... tag', "
                        f"a blank line between sentences)")
    found = detect_scheme(sentences, source, scheme)
    data = Tagged(scheme=found)
    for sentence in sentences:
        data.tokens.append([token for token, _, _ in sentence])
        data.tags.append(to_iob2([tag for _, tag, _ in sentence]))
        data.where.append(f"{source}:{sentence[0][2]}")
    return data


def read_conll(paths, scheme: str = "auto") -> Tagged:
    """Sentences of one or more CoNLL files (pooled; each file's scheme detected on its own), tags in IOB2."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    data = Tagged()
    schemes = []
    for path in paths:
        part = parse_conll(read_text(path), str(path), scheme)
        data.extend(part)
        schemes.append(part.scheme)
    data.scheme = schemes[0] if len(set(schemes)) == 1 else "mixed"
    return data


def format_conll(tokens: list[list[str]], tags: list[list[str]]) -> str:
    """``token tag`` lines, a blank line after each sentence: what :func:`parse_conll` reads back."""
    return "".join("".join(f"{w} {t}\n" for w, t in zip(ws, ts)) + "\n" for ws, ts in zip(tokens, tags))
