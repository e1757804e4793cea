"""Gate and state statistics: read from the caches, equal to the cell equations and to the model's output."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics.gates import (
    CELL,
    SIGMOID,
    TANH,
    Quantity,
    inspect_model,
    saturated,
)
from rnnkit.diagnostics.inputs import text_inputs
from rnnkit.diagnostics.plotting import PLOT_HINT, is_png, read_csv
from rnnkit.tasks import open_trained

TEXT = "to be or not to be, that is the question.\n" * 40


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny trained charlm runs, one per cell, two layers each."""
    root = tmp_path_factory.mktemp("runs")
    corpus = root / "corpus.txt"
    corpus.write_text(TEXT)
    out = {}
    for cell in ("lstm", "gru"):
        out[cell] = str(root / cell)
        assert main(["train", "charlm", str(corpus), "--cell", cell, "--hidden", "6", "--layers", "2", "--embed", "4",
                     "--batch-size", "2", "--bptt", "8", "--max-steps", "4", "--out", out[cell], "--quiet"]) == 0
    return out


def _pre_activation(layer, x, h_prev, gate):
    """x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh of one gate block (RNN and LSTM form)."""
    H = layer.hidden
    rows = slice(gate * H, (gate + 1) * H)
    return x @ layer.w_ih[rows].T + layer.b_ih[rows] + h_prev @ layer.w_hh[rows].T + layer.b_hh[rows]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_cached_gates_are_the_cell_equations(runs, cell):
    from rnnkit.diagnostics.stack import module_layer

    model, task, _ = open_trained(runs[cell])
    x, tokens = text_inputs(model, task, "to be or")
    assert tokens == list("to be or")
    results = inspect_model(model, x)
    assert [(r.layer, r.direction) for r in results] == [(0, 0), (1, 0)]
    q = {v.name: v.values for v in results[0].quantities}
    layer = module_layer(model.rnn, 0)
    xs = x[0].astype(np.float64)
    h_prev = np.vstack([np.zeros((1, 6)), q["h"][:-1]])                          # h_0 … h_{T−1}
    if cell == "lstm":
        for k, name in enumerate("ifgo"):
            a = _pre_activation(layer, xs, h_prev, k)
            np.testing.assert_allclose(q[name], np.tanh(a) if name == "g" else sigmoid(a), atol=1e-10)
        c_prev = np.vstack([np.zeros((1, 6)), q["c"][:-1]])
        np.testing.assert_allclose(q["c"], q["f"] * c_prev + q["i"] * q["g"], atol=1e-12)
        np.testing.assert_allclose(q["h"], q["o"] * np.tanh(q["c"]), atol=1e-12)
    else:
        for k, name in enumerate("rz"):
            np.testing.assert_allclose(q[name], sigmoid(_pre_activation(layer, xs, h_prev, k)), atol=1e-10)
        np.testing.assert_allclose(q["h"], (1 - q["z"]) * q["n"] + q["z"] * h_prev, atol=1e-12)
    out, _ = model.rnn.forward(x)                                               # what the model computes
    np.testing.assert_allclose(results[1].quantities[-1].values, out[0], atol=1e-5)


def test_the_reverse_direction_is_put_back_in_input_order():
    """Reverse GRU: h_t = (1 − z_t) n_t + z_t h_{t+1}, each at its input position t."""
    import rnnkit as rk

    class Model:
        rnn = rk.GRU(3, 4, num_layers=2, bidirectional=True, dtype="float64", seed=0)

    x = np.random.default_rng(0).standard_normal((1, 5, 3))
    results = inspect_model(Model, x)
    assert [(r.layer, r.direction) for r in results] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    q = {v.name: v.values for v in results[3].quantities}
    h_next = np.vstack([q["h"][1:], np.zeros((1, 4))])
    np.testing.assert_allclose(q["h"], (1 - q["z"]) * q["n"] + q["z"] * h_next, atol=1e-12)
    out, _ = Model.rnn.forward(x)
    np.testing.assert_allclose(q["h"], out[0, :, 4:], atol=1e-12)


def test_saturation_rules():
    v = np.array([[0.005, 0.5, 0.995, 0.99]])
    assert saturated(Quantity("f", SIGMOID, v))[0] == pytest.approx(0.5)
    assert saturated(Quantity("g", TANH, np.array([[-0.995, 0.5, 0.999, -0.2]])))[0] == pytest.approx(0.5)
    assert saturated(Quantity("c", CELL, np.array([[3.0, 0.1]])))[0] == pytest.approx(0.5)  # tanh(3) = 0.995


def test_cli_writes_heat_maps_and_numbers(runs, tmp_path, capsys):
    out = tmp_path / "ins"
    assert main(["inspect", runs["lstm"], "--text", "to be or not", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "saturated" in printed and "wrote" in printed
    rows = read_csv(out / "activations.csv")
    assert len(rows) == 2 * 6 * 12 * 6                        # layers × (i f g o c h) × steps × units
    assert {r["quantity"] for r in rows} == set("ifgoch")
    sat = read_csv(out / "saturation.csv")
    assert len(sat) == 2 * 6 * 12 and sat[0]["token"] == "t"
    assert is_png(out / "inspect_l0.png") and is_png(out / "inspect_l1.png")


def test_cli_reads_a_file_and_works_without_matplotlib(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    text = tmp_path / "in.txt"
    text.write_text("that is")
    assert main(["inspect", runs["gru"], "--file", str(text), "--out", str(tmp_path / "ins")]) == 0
    assert PLOT_HINT in capsys.readouterr().out
    assert len(read_csv(tmp_path / "ins" / "saturation.csv")) == 2 * 4 * 7     # layers × (r z n h) × steps
    assert not list((tmp_path / "ins").glob("*.png"))


def test_a_toy_run_inspects_a_generated_example(tmp_path, capsys):
    run = str(tmp_path / "copy")
    assert main(["train", "copy", "--lag", "2", "--symbols", "2", "--hidden", "4", "--max-steps", "2",
                 "--batch-size", "2", "--out", run, "--quiet"]) == 0
    assert main(["inspect", run, "--out", str(tmp_path / "ins")]) == 0
    assert len(read_csv(tmp_path / "ins" / "saturation.csv")) == 6 * 7           # (i f g o c h) × (2·2 + 2 + 1)
    assert main(["inspect", run, "--text", "1 2"]) == 2
    assert "model reads numbers" in capsys.readouterr().err


def test_unknown_characters_are_an_error(runs, capsys):
    assert main(["inspect", runs["lstm"], "--text", "ZZZ"]) == 2
    assert "--text" in capsys.readouterr().err
