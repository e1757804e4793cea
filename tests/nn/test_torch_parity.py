"""Parity of rnnkit's LSTM (also with a projection, ``proj_size``), GRU and RNN with recorded PyTorch values.

The fixtures ``tests/fixtures/torch_<cell>.npz`` come from
``tests/fixtures/make_torch_fixtures.py`` (see the README next to them for
the key layout); PyTorch is not needed to run these tests. Each test loads
PyTorch's parameters into the rnnkit module of the same configuration and
dtype, feeds the recorded x, initial state and lengths forward and the
recorded upstream gradients (dout, dh_n[, dc_n]) backward, and compares out,
h_n[, c_n], dx, dh0[, dc0] and every parameter gradient.

Dimension legend: B batch, T time steps, D input features, H hidden units,
S = num_layers * dirs stacked states.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rnnkit as rk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CELLS = ["lstm", "lstm_proj", "gru", "rnn_tanh", "rnn_relu"]
CASES = ["deep_bidir_lengths", "single"]
# max |got - want| / max |want| allowed; float32 leaves room for rounding over T steps and 2 layers.
TOLERANCES = {"float64": 1e-10, "float32": 1e-5}


def assert_matches(got, want: np.ndarray, what: str, where: str) -> None:
    """Assert ``got`` equals the reference ``want`` to the tolerance of ``want``'s dtype.

    The error is max |got - want| relative to max |want|; ``what`` names the
    tensor and ``where`` the cell, case and dtype in the failure message.
    """
    tol = TOLERANCES[want.dtype.name]
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what} ({where}): shape {got.shape}, PyTorch gives {want.shape}"
    assert got.dtype == want.dtype, f"{what} ({where}): dtype {got.dtype}, PyTorch gives {want.dtype}"
    scale = float(np.max(np.abs(want)))
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    rel = err / scale if scale > 0 else err
    assert rel <= tol, (f"{what} ({where}): max abs difference {err:.3e} is {rel:.3e} of the reference's "
                        f"max abs {scale:.3e}; allowed {tol:.0e}")


def load_record(cell: str, case: str, dtype: str) -> dict[str, np.ndarray]:
    """The arrays of one ``<case>.<dtype>`` record of ``torch_<cell>.npz``, prefix stripped."""
    path = FIXTURES / f"torch_{cell}.npz"
    if not path.exists():
        pytest.skip(f"fixture {path} is missing; regenerate with python tests/fixtures/make_torch_fixtures.py")
    prefix = f"{case}.{dtype}."
    with np.load(path, allow_pickle=False) as data:
        rec = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
    assert rec, f"{path} has no record {case}.{dtype}"
    return rec


def build(cell: str, rec: dict[str, np.ndarray], dtype: str):
    """The rnnkit module with the recorded configuration, holding PyTorch's parameters."""
    D, H = int(rec["input_size"]), int(rec["hidden_size"])
    config = dict(num_layers=int(rec["num_layers"]), bidirectional=bool(rec["bidirectional"]), dtype=dtype)
    if cell.startswith("lstm"):
        module = rk.LSTM(D, H, dropout=0.0, proj_size=int(rec.get("proj_size", 0)), **config)
    elif cell == "gru":
        module = rk.GRU(D, H, reset_after=True, **config)  # PyTorch applies r_t after W_hn h + b_hn
    else:
        module = rk.RNN(D, H, nonlinearity=cell.removeprefix("rnn_"), **config)
    module.load_state_dict({k.removeprefix("param."): v for k, v in rec.items() if k.startswith("param.")})
    return module


@pytest.mark.parametrize("dtype", list(TOLERANCES))
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cell", CELLS)
def test_matches_pytorch(cell, case, dtype):
    rec = load_record(cell, case, dtype)
    where = f"{cell}, {case}, {dtype}"
    module = build(cell, rec, dtype)
    lstm = cell.startswith("lstm")

    # Forward: the "single" case has no lengths and no initial state (PyTorch used zeros).
    kwargs = {}
    if "h0" in rec:
        kwargs["state"] = (rec["h0"], rec["c0"]) if lstm else rec["h0"]
    if "lengths" in rec:
        kwargs["lengths"] = rec["lengths"]
    out, final = module.forward(rec["x"], **kwargs)
    h_n, c_n = final if lstm else (final, None)

    # Backward: the loss was sum(out*dout) + sum(h_n*dh_n) [+ sum(c_n*dc_n)].
    module.zero_grad()
    dstate = (rec["dh_n"], rec["dc_n"]) if lstm else rec["dh_n"]
    dx, dinit = module.backward(rec["dout"], dstate=dstate)
    dh0, dc0 = dinit if lstm else (dinit, None)

    assert_matches(out, rec["out"], "out", where)
    assert_matches(h_n, rec["h_n"], "h_n", where)
    assert_matches(dx, rec["dx"], "dx", where)
    assert_matches(dh0, rec["dh0"], "dh0", where)
    if lstm:
        assert_matches(c_n, rec["c_n"], "c_n", where)
        assert_matches(dc0, rec["dc0"], "dc0", where)
    want_grads = {k.removeprefix("grad."): v for k, v in rec.items() if k.startswith("grad.")}
    assert sorted(module.grads) == sorted(want_grads), f"gradient names ({where})"
    for name, want in want_grads.items():
        assert_matches(module.grads[name], want, f"grad {name}", where)
