"""Fuzzing the labelled-data readers: CSV/TSV tables and .npz sequences give examples or a DataError."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.tables import read_sequences, read_table
from rnnkit.errors import DataError
from tests.conftest import fuzzed_bytes, read_in_tmp

TSV = b"sentence\tlabel\ngood film\t1\nbad \"film\tx\t0\n\ngreat\t1\n"
CSV = b'id,review,stars\n1,"great, really",5\n2,meh,3\n3,"a ""b""",5\n'


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


NPZ = npz_bytes(X=np.arange(24.0).reshape(3, 4, 2), y=np.array([0, 1, 0]), lengths=np.array([4, 2, 1]))
NPZ_UNLABELLED = npz_bytes(X=np.ones((2, 3)))


@settings(max_examples=150, deadline=None)
@given(data=fuzzed_bytes(TSV, CSV), suffix=st.sampled_from([".tsv", ".csv"]),
       columns=st.sampled_from([(None, None), ("0", "-1"), ("review", "stars"), ("1", "0")]),
       header=st.sampled_from([None, False]))
def test_tables_give_rows_or_a_data_error(data, suffix, columns, header):
    if header is False and not all(c is None or c.lstrip("-").isdigit() for c in columns):
        header = None
    result = read_in_tmp("t" + suffix, data, lambda p: read_table(p, *columns, header=header), DataError)
    if not isinstance(result, DataError):
        texts, labels = result
        assert len(texts) == len(labels) >= 1
        assert all(isinstance(t, str) for t in texts) and all(isinstance(y, str) and y for y in labels)


def test_damaged_npz_member_is_a_data_error(tmp_path):
    path = tmp_path / "s.npz"
    path.write_bytes(NPZ[:4] + b"\0" + NPZ[4:])  # the first local header moved by one byte
    with pytest.raises(DataError, match="s.npz"):
        read_sequences(path)


@settings(max_examples=150, deadline=None)
@given(data=fuzzed_bytes(NPZ, NPZ_UNLABELLED), labelled=st.booleans())
def test_npz_gives_finite_sequences_or_a_data_error(data, labelled):
    result = read_in_tmp("s.npz", data, lambda path: read_sequences(path, labelled=labelled), DataError)
    if not isinstance(result, DataError):
        seqs, labels = result
        assert len(seqs) >= 1 and all(s.ndim == 2 and len(s) >= 1 and np.all(np.isfinite(s)) for s in seqs)
        assert labels is None or len(labels) == len(seqs)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.text(st.characters(whitelist_categories=("L", "N", "Zs")), min_size=1, max_size=12),
                               st.sampled_from(["pos", "neg"])), min_size=2, max_size=12),
       at=st.integers(0, 11), cut=st.integers(0, 12))
def test_an_unterminated_quote_is_blamed_on_its_own_line(tmp_path_factory, rows, at, cut):
    """Wherever a quote is left open, the error names the line it starts on (not a column count)."""
    at = at % len(rows)
    lines = ["text,label"] + [f'"{t}",{y}' for t, y in rows]
    text, label = rows[at]
    lines[at + 1] = f'"{text[:cut]},{label}'  # the closing quote is gone
    path = tmp_path_factory.mktemp("quote") / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"t.csv, line {at + 2}: a quoted field is not closed on its line"):
        read_table(path)
