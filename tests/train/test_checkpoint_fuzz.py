"""Fuzzing the safetensors and JSON readers: a valid result or a RunError naming the file, nothing else."""
from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.errors import RunError
from rnnkit.train.checkpoint import load_tensors, read_json, tensors_bytes
from tests.conftest import fuzzed_bytes, read_in_tmp

SAFETENSORS = tensors_bytes({"weight_ih_l0": np.arange(12, dtype=np.float32).reshape(4, 3),
                             "bias": np.ones(4, np.float64), "steps": np.array([3], np.int64)}, {"step": "7"})


def header_bytes(header: dict, data: bytes) -> bytes:
    head = json.dumps(header).encode()
    return len(head).to_bytes(8, "little") + head + data


ENTRIES = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F64", "U8", "BOOL", "BF16", "X"]),
    "shape": st.lists(st.integers(-2, 2**40), max_size=4),
    "data_offsets": st.lists(st.integers(-1, 2**40), min_size=0, max_size=3)})
FORGED = st.builds(header_bytes, st.dictionaries(st.text(max_size=4), ENTRIES, max_size=3),
                   st.binary(max_size=64))


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(fuzzed_bytes(SAFETENSORS), FORGED))
def test_safetensors_reader(data):
    result = read_in_tmp("m.safetensors", data, load_tensors, RunError)
    if not isinstance(result, RunError):
        assert sum(a.nbytes for a in result.values()) <= len(data)  # never more memory than the file holds
        assert all(isinstance(a, np.ndarray) and a.flags.writeable for a in result.values())


@settings(max_examples=100, deadline=None)
@given(data=fuzzed_bytes(b'{"tokens": ["a", "b"], "unk": null, "lr": 0.5}\n', b"[1, 2.5, true]"))
def test_json_reader(data):
    result = read_in_tmp("c.json", data, read_json, RunError)
    if not isinstance(result, RunError):
        json.dumps(result, allow_nan=False)  # plain JSON values only: no NaN or infinity
        assert not isinstance(result, float) or math.isfinite(result)
