"""Gradient flow through time: exact against finite differences, and the theory of a linear RNN."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics.gradflow import (
    decay_rate,
    fresh_flows,
    gradient_flow,
    sequence_jacobians,
    spectral_norms,
    upstream,
)
from rnnkit.diagnostics.plotting import PLOT_HINT, is_png, read_csv
from rnnkit.diagnostics.stack import Layer, fresh_layer
from rnnkit.functional.recurrent import recurrent_forward


def numeric_jacobians(layer: Layer, x: np.ndarray, b: int, eps: float = 1e-6) -> np.ndarray:
    """J (T+1, H, H), J[d] = ∂h_T/∂h_{T−d} of sequence b by central differences: perturb the state
    after step k (c_k held fixed) and run the layer forward over the remaining steps."""
    T, _, _ = x.shape
    H = layer.hidden
    _, _, cache = layer.forward(x)
    J = np.zeros((T + 1, H, H))
    for k in range(T + 1):
        states = [np.array(cache.steps.h_prev[k, b]) if k < T else None]
        if k == T:
            J[0] = np.eye(H)
            continue
        if layer.cell.n_states == 2:
            states.append(np.array(cache.steps.c_prev[k, b]))

        def h_T(h, k=k, states=states):
            state0 = (h[None],) + tuple(s[None] for s in states[1:])
            _, final, _ = recurrent_forward(layer.cell, x[k:, b:b + 1], state0, layer.w_ih, layer.w_hh,
                                            layer.b_ih, layer.b_hh)
            return np.array(final[0][0])

        for j in range(H):
            e = np.zeros(H)
            e[j] = eps
            J[T - k][:, j] = (h_T(states[0] + e) - h_T(states[0] - e)) / (2 * eps)
    return J


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru"])
def test_gradient_norms_match_finite_differences(cell):
    T, B, D, H = 6, 2, 3, 4
    layer = fresh_layer(cell, H, D, seed=3)
    x = np.random.default_rng(0).standard_normal((T, B, D))
    flow = gradient_flow(layer, x, cell, seed=5)
    g = upstream(B, H, seed=5)
    numeric = [numeric_jacobians(layer, x, b) for b in range(B)]
    _, _, cache = layer.forward(x)
    np.testing.assert_allclose(sequence_jacobians(layer, cache.steps, 1), numeric[1], atol=1e-8)
    grad = np.mean([np.linalg.norm(np.einsum("i,dij->dj", g[b], numeric[b]), axis=1) for b in range(B)], axis=0)
    np.testing.assert_allclose(flow.grad_norm, grad, rtol=1e-6)
    spectral = np.mean([np.linalg.norm(numeric[b], 2, axis=(1, 2)) for b in range(B)], axis=0)
    np.testing.assert_allclose(flow.jacobian_norm, spectral, rtol=1e-5)


def test_power_iteration_matches_the_svd_at_any_scale():
    rng = np.random.default_rng(1)
    J = rng.standard_normal((5, 7, 7)) * np.array([1e-200, 1e-3, 1.0, 1e3, 1e150])[:, None, None]
    np.testing.assert_allclose(spectral_norms(J), np.linalg.norm(J, 2, axis=(1, 2)), rtol=1e-6)
    assert spectral_norms(np.zeros((1, 3, 3)))[0] == 0.0


def linear_layer(radius: float, H: int = 8, D: int = 3) -> Layer:
    """A linear RNN whose W_hh has spectral radius ``radius``."""
    layer = fresh_layer("rnn_linear", H, D, seed=2)
    w = layer.w_hh / np.abs(np.linalg.eigvals(layer.w_hh)).max() * radius
    return Layer(layer.cell, layer.w_ih, w, layer.b_ih, layer.b_hh)


@pytest.mark.parametrize("radius", [0.5, 2.0])
def test_linear_rnn_follows_the_theory(radius):
    """For h_t = x_t W_ihᵀ + h_{t−1} W_hhᵀ + b: ∂h_T/∂h_{T−d} = W_hh^d exactly, so the norms shrink
    (ρ = 0.5) or grow (ρ = 2) by ρ per step in the long run."""
    T = 60
    layer = linear_layer(radius)
    x = np.random.default_rng(0).standard_normal((T, 3, 3))
    flow = gradient_flow(layer, x, "rnn_linear")
    powers = [np.linalg.matrix_power(layer.w_hh, d) for d in range(T + 1)]
    np.testing.assert_allclose(flow.jacobian_norm, [np.linalg.norm(p, 2) for p in powers], rtol=1e-6)
    tail = flow.grad_norm[10:]
    if radius < 1:
        assert flow.grad_norm[-1] < 1e-12 and np.all(np.diff(tail) < 0)
    else:
        assert flow.grad_norm[-1] > 1e12 and np.all(np.diff(tail) > 0)
    assert flow.decay == pytest.approx(radius, rel=0.1)


def test_decay_rate_of_a_geometric_sequence():
    assert decay_rate(3.0 * 0.8 ** np.arange(50)) == pytest.approx(0.8)
    assert np.isnan(decay_rate(np.array([1.0, 0.0, 0.0])))


def test_recurrent_scale_turns_vanishing_into_exploding():
    flows = fresh_flows(["rnn_linear"], hidden=8, T=40, scales=(0.5, 4.0), batch=2)
    assert [f.name for f in flows] == ["rnn_linear@0.5", "rnn_linear@4"]
    assert flows[0].decay < 1 < flows[1].decay
    rho = [f.weights["h"][0] for f in flows]
    assert rho[1] == pytest.approx(8 * rho[0])


def test_cli_writes_table_csv_and_png(tmp_path, capsys):
    out = tmp_path / "gf"
    assert main(["gradflow", "--cell", "rnn,lstm,gru", "--T", "20", "--hidden", "6", "--batch", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "decay per step" in printed and "W_hh gate:ρ/σ_max" in printed
    rows = read_csv(out / "gradflow.csv")
    assert list(rows[0]) == ["distance", "rnn", "lstm", "gru"] and len(rows) == 21
    assert float(rows[0]["lstm"]) == pytest.approx(1.0) and 0 < float(rows[20]["rnn"]) < 1
    assert len(read_csv(out / "jacobian.csv")) == 21
    assert is_png(out / "gradflow.png")


def test_cli_without_matplotlib_writes_csv_and_says_how(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    out = tmp_path / "gf"
    assert main(["gradflow", "--cell", "rnn", "--T", "5", "--hidden", "3", "--batch", "1", "--out", str(out)]) == 0
    assert PLOT_HINT in capsys.readouterr().out
    assert (out / "gradflow.csv").is_file() and not (out / "gradflow.png").exists()


@pytest.mark.parametrize("argv,message", [
    (["--recurrent-scale", "-1"], "--recurrent-scale: expected positive numbers"),
    (["--T", "0"], "--T: expected a positive integer"),
    (["--run", "/nonexistent"], "is not a directory"),
])
def test_bad_options_exit_2(argv, message, tmp_path, capsys):
    assert main(["gradflow", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
