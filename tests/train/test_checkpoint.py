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
