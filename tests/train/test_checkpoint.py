"""Atomic writes and safetensors/JSON round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.errors import RunError
from rnnkit.train import checkpoint
from rnnkit.train.checkpoint import atomic_write_bytes, load_tensors, read_json, save_tensors, write_json


def test_tensors_round_trip_bit_exact(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"weight_ih_l0": rng.standard_normal((8, 3)).astype(np.float32), "ids": np.arange(5),
               "t": rng.standard_normal((2, 3, 4))[:, ::2]}  # non-contiguous view
    save_tensors(tmp_path / "m.safetensors", tensors, {"step": "3"})
    back = load_tensors(tmp_path / "m.safetensors")
    assert set(back) == set(tensors)
    for k in tensors:
        assert back[k].dtype == tensors[k].dtype
        np.testing.assert_array_equal(back[k], tensors[k])


def test_shapes_and_the_count_of_numbers_come_from_the_header_alone(tmp_path):
    path = tmp_path / "w.safetensors"
    save_tensors(path, {"a": np.zeros((3, 4), np.float32), "b": np.zeros(5), "c": np.zeros((2, 0, 7))})
    assert checkpoint.tensor_shapes(path) == {"a": (3, 4), "b": (5,), "c": (2, 0, 7)}
    assert checkpoint.numbers_held(path) == 17


def test_file_starts_with_a_safetensors_header(tmp_path):
    save_tensors(tmp_path / "m.safetensors", {"a": np.zeros(3, np.float32)})
    raw = (tmp_path / "m.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert json.loads(raw[8:8 + n])["a"]["dtype"] == "F32"


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    write_json(target, {"old": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b'{"new": 2}')
    assert read_json(target) == {"old": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(RunError, match="missing.json: file not found"):
        read_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(RunError, match="bad.json: not valid JSON"):
        read_json(tmp_path / "bad.json")
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(RunError, match="bad.safetensors: not a valid safetensors file"):
        load_tensors(tmp_path / "bad.safetensors")


# -- untrusted safetensors files: the header is checked before anything is allocated ----------------------


def forged(tmp_path, header: dict, data: bytes = b"", length: int | None = None):
    """A file with ``header`` as its JSON header (and the given length field and data bytes)."""
    head = json.dumps(header).encode()
    path = tmp_path / "forged.safetensors"
    path.write_bytes((len(head) if length is None else length).to_bytes(8, "little") + head + data)
    return path


def test_huge_claims_are_refused_before_allocating(tmp_path, monkeypatch):
    allocated = []
    real_empty = np.empty
    monkeypatch.setattr(checkpoint.np, "empty", lambda *a, **k: allocated.append(a) or real_empty(*a, **k))
    path = forged(tmp_path, {"w": {"dtype": "F32", "shape": [2**20, 2**20], "data_offsets": [0, 2**42]}})
    with pytest.raises(RunError, match=r"forged.safetensors: .*header claims 4398046511104 bytes .* holds 0"):
        load_tensors(path)
    path = forged(tmp_path, {}, length=2**62)
    with pytest.raises(RunError, match=r"forged.safetensors: .*header of 4611686018427387904 bytes, over the"):
        load_tensors(path)
    path = forged(tmp_path, {}, length=500)
    with pytest.raises(RunError, match=r"header of 500 bytes, but the file has"):
        load_tensors(path)
    assert allocated == []


@pytest.mark.parametrize("entry,match", [
    ({"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}, "unsupported dtype 'BF16'"),
    ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]},
     r"shape \[3\] of F32 needs 12 bytes but data_offsets give 8"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "shape must be a list of at most 32 integers"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "data_offsets must be"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}, "expected exactly the keys"),
    ({"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}, "shape must be"),
])
def test_malformed_entries_name_file_and_tensor(tmp_path, entry, match):
    with pytest.raises(RunError, match=rf"forged.safetensors: not a valid safetensors file: tensor 'w': {match}"):
        load_tensors(forged(tmp_path, {"w": entry}, b"\0" * 16))


def test_overlaps_gaps_and_trailing_bytes_are_refused(tmp_path):
    two = {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
           "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}
    with pytest.raises(RunError, match="tensor 'b' overlaps another tensor"):
        load_tensors(forged(tmp_path, two, b"\0" * 6))
    gap = {"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}
    with pytest.raises(RunError, match="2 unused bytes before tensor 'a'"):
        load_tensors(forged(tmp_path, gap, b"\0" * 4))
    with pytest.raises(RunError, match="3 bytes after the last tensor"):
        load_tensors(forged(tmp_path, {"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\0" * 4))
    with pytest.raises(RunError, match="duplicate key 'a'"):
        path = tmp_path / "dup.safetensors"
        head = b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {}}'
        path.write_bytes(len(head).to_bytes(8, "little") + head + b"\0")
        load_tensors(path)
    with pytest.raises(RunError, match="__metadata__ must map names to strings"):
        load_tensors(forged(tmp_path, {"__metadata__": {"step": 3}}))


def test_every_dtype_and_odd_shapes_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {name: rng.integers(0, 100, size=(2, 3)).astype(dtype)
               for name, dtype in [("f8", np.float64), ("f4", np.float32), ("f2", np.float16), ("i8", np.int64),
                                   ("i4", np.int32), ("i2", np.int16), ("i1", np.int8), ("u8", np.uint64),
                                   ("u4", np.uint32), ("u2", np.uint16), ("u1", np.uint8), ("b", bool)]}
    tensors |= {"scalar": np.float32(2.5) * np.ones(()), "empty": np.zeros((0, 4), np.float32)}
    save_tensors(tmp_path / "all.safetensors", tensors)
    back = load_tensors(tmp_path / "all.safetensors")
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and back[k].flags.writeable
        np.testing.assert_array_equal(back[k], v)
    assert checkpoint.tensor_metadata(tmp_path / "all.safetensors") == {}


def test_json_refuses_nan_and_duplicate_keys(tmp_path):
    (tmp_path / "a.json").write_text('{"lr": NaN}')
    with pytest.raises(RunError, match="a.json: not valid JSON"):
        read_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"lr": 1, "lr": 2}')
    with pytest.raises(RunError, match="b.json: not valid JSON.*duplicate key 'lr'"):
        read_json(tmp_path / "b.json")


def test_json_refuses_out_of_range_numbers_and_deep_nesting(tmp_path):
    (tmp_path / "a.json").write_text('{"lr": 1e999}')
    with pytest.raises(RunError, match="a.json: not valid JSON.*out of range"):
        read_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(RunError, match="b.json: not valid JSON"):
        read_json(tmp_path / "b.json")


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):  # mkstemp alone gives 0600
    atomic_write_bytes(tmp_path / "f.bin", b"x")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
