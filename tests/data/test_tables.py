"""Reading labelled examples: CSV/TSV columns, header detection, .npz sequences, and every refusal."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.tables import label_order, read_labelled, read_sequences, read_table
from rnnkit.errors import DataError

LABELLED = [("good film", "pos"), ("bad film", "neg"), ("great", "pos"), ("awful", "neg"), ("fine", "pos")]


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_uci_style_tsv_keeps_quotes_and_next_line(tmp_path):
    path = write(tmp_path, "s.txt", 'He said "wow, ok".  \t1\nnot\u0085good\t0\n\nfine\t1\n')
    texts, labels = read_table(path)
    assert texts == ['He said "wow, ok".  ', "not\u0085good", "fine"]  # no CSV quoting, U+0085 no line break
    assert labels == ["1", "0", "1"]


def test_csv_with_header_names_and_quoting(tmp_path):
    path = write(tmp_path, "r.csv", "id,review,stars\n1,\"great, really\",5\n2,meh,3\n3,\"a \"\"b\"\"\",5\n")
    texts, labels = read_table(path, text_col="review", label_col="stars")
    assert texts == ["great, really", "meh", 'a "b"'] and labels == ["5", "3", "5"]
    assert read_table(path, text_col="1", label_col="-1") == (texts, labels)  # header still detected


def test_header_detection_and_default_columns(tmp_path):
    body = "".join(f"{t}\t{y}\n" for t, y in LABELLED * 2)
    named = write(tmp_path, "h.tsv", "sentence\tsentiment\n" + body)
    texts, labels = read_table(named)
    assert len(texts) == 10 and "sentiment" not in labels
    plain = write(tmp_path, "p.tsv", body)
    assert len(read_table(plain)[0]) == 10
    numeric = write(tmp_path, "n.tsv", "text\tlabel\na\t0\nb\t1\nc\t1\n")
    assert read_table(numeric) == (["a", "b", "c"], ["0", "1", "1"])
    assert read_table(numeric, header=False)[1] == ["label", "0", "1", "1"]  # --no-header
    swapped = write(tmp_path, "s.csv", "label,text\n0,a\n1,b\n1,c\n")
    assert read_table(swapped) == (["a", "b", "c"], ["0", "1", "1"])  # columns found by name


def test_table_errors(tmp_path):
    with pytest.raises(DataError, match="missing.tsv: file not found"):
        read_table(tmp_path / "missing.tsv")
    with pytest.raises(DataError, match="empty.tsv: the file is empty"):
        read_table(write(tmp_path, "empty.tsv", ""))
    with pytest.raises(DataError, match=r"latin.tsv: not valid UTF-8 at byte offset 8 \(line 2\)"):
        read_table(write(tmp_path, "latin.tsv", "ok\t1\ncaf\xe9\t0\n", "latin-1"))
    with pytest.raises(DataError, match=r"notab.txt, line 3: no tab"):
        read_table(write(tmp_path, "notab.txt", "a\t1\nb\t0\nc 1\n"))
    path = write(tmp_path, "cols.csv", "id,text,label\n1,a,0\n2,b,1\n")
    with pytest.raises(DataError, match=r"cols.csv: no column named 'sentence' \(--text-col\); "
                                        r"the columns are: 'id', 'text', 'label'"):
        read_table(path, text_col="sentence")
    with pytest.raises(DataError, match=r"cols.csv: --label-col 5: the file has 3 columns"):
        read_table(path, label_col="5")
    with pytest.raises(DataError, match="names a column, but the file is read without a header"):
        read_table(path, text_col="text", header=False)
    with pytest.raises(DataError, match=r"short.tsv, line 2: expected at least 3 columns"):
        read_table(write(tmp_path, "short.tsv", "a\tx\t1\nb\t0\n"), header=False)
    with pytest.raises(DataError, match=r"nolabel.tsv, line 2: the label \(column 1\) is empty"):
        read_table(write(tmp_path, "nolabel.tsv", "a\t1\nb\t \n"), header=False)
    with pytest.raises(DataError, match="same column"):
        read_table(path, text_col="0", label_col="0")


def test_npz_sequences(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 6, 3))
    np.savez(tmp_path / "a.npz", X=X, y=np.array([0.0, 1.0, 2.0, 1.0]), lengths=np.array([6, 2, 3, 1]))
    seqs, labels = read_sequences(tmp_path / "a.npz")
    assert [s.shape for s in seqs] == [(6, 3), (2, 3), (3, 3), (1, 3)] and labels == ["0", "1", "2", "1"]
    np.testing.assert_array_equal(seqs[1], X[1, :2])
    pooled = read_labelled([tmp_path / "a.npz", tmp_path / "a.npz"])
    assert pooled.numeric and len(pooled.inputs) == 8 and pooled.labels[4:] == labels
    np.savez(tmp_path / "b.npz", X=rng.standard_normal((2, 5)), y=np.array(["walk", "run"]))
    seqs, labels = read_sequences(tmp_path / "b.npz")
    assert seqs[0].shape == (5, 1) and labels == ["walk", "run"]  # (N, T): one feature


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.zeros((2, 3, 1)), z=np.zeros(2))
    with pytest.raises(DataError, match=r"noy.npz: expected arrays X \(N, T, D\) and y \(N,\).*missing y "
                                        r"\(the archive has: X, z\)"):
        read_sequences(tmp_path / "noy.npz")
    np.savez(tmp_path / "count.npz", X=np.zeros((3, 2, 1)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"count.npz: X holds 3 sequences but y has shape \(2,\)"):
        read_sequences(tmp_path / "count.npz")
    np.savez(tmp_path / "len.npz", X=np.zeros((2, 2, 1)), y=np.zeros(2), lengths=np.array([2, 3]))
    with pytest.raises(DataError, match=r"len.npz: lengths\[1\] = 3: expected a length in 1..2"):
        read_sequences(tmp_path / "len.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[[0.0], [np.nan]]]), y=np.zeros(1))
    with pytest.raises(DataError, match=r"nan.npz: X\[0\] is not finite at step 1"):
        read_sequences(tmp_path / "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="junk.npz: not an npz/zip file"):
        read_sequences(tmp_path / "junk.npz")
    np.savez(tmp_path / "d3.npz", X=np.zeros((1, 2, 3)), y=np.zeros(1))
    np.savez(tmp_path / "d2.npz", X=np.zeros((1, 2, 2)), y=np.zeros(1))
    with pytest.raises(DataError, match="pooled archives need the same D"):
        read_labelled([tmp_path / "d3.npz", tmp_path / "d2.npz"])
    with pytest.raises(DataError, match="cannot pool .npz sequences with text files"):
        read_labelled([tmp_path / "d3.npz", tmp_path / "x.tsv"])


def test_label_order_sorts_numbers_by_value():
    assert label_order(["10", "2", "pos", "neg", "2", "-1"]) == ["-1", "2", "10", "neg", "pos"]


def test_npz_member_flagged_encrypted_is_a_data_error(tmp_path):
    """zipfile raises RuntimeError for a member whose "encrypted" bit is set (found by the fuzz test)."""
    np.savez(tmp_path / "ok.npz", X=np.zeros((1, 2, 1)), y=np.zeros(1))
    data = bytearray((tmp_path / "ok.npz").read_bytes())
    central = data.index(b"PK\x01\x02")  # the first member's central-directory entry
    data[central + 8] |= 1                 # its general-purpose flags: bit 0, encrypted
    (tmp_path / "enc.npz").write_bytes(bytes(data))
    with pytest.raises(DataError, match="enc.npz: a damaged .npz archive"):
        read_sequences(tmp_path / "enc.npz")
