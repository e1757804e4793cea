"""The cell variants of the recurrent stacks: gradients, lengths, steps, state dicts, noise, errors."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.lstm import LSTM_CELL
from tests.conftest import assert_forward_equals_steps, assert_lengths_match_running_alone, random_state

B, T, D, H = 3, 5, 3, 4
LENGTHS = [5, 2, 4]

# name -> (class, options); every variant alone, and the LSTM's together
VARIANTS = {
    "lstm_proj": (rk.LSTM, dict(proj_size=2)),
    "lstm_peephole": (rk.LSTM, dict(peephole=True)),
    "lstm_layer_norm": (rk.LSTM, dict(layer_norm=True)),
    "lstm_recurrent_dropout": (rk.LSTM, dict(recurrent_dropout=0.4)),
    "lstm_weight_drop": (rk.LSTM, dict(weight_drop=0.4)),
    "lstm_zoneout": (rk.LSTM, dict(zoneout=0.3)),
    "lstm_zoneout_h_c": (rk.LSTM, dict(zoneout=(0.1, 0.5), proj_size=2)),
    "lstm_all": (rk.LSTM, dict(proj_size=3, peephole=True, layer_norm=True, recurrent_dropout=0.3, weight_drop=0.3,
                               zoneout=0.2, merge_mode="mul")),
    "gru_layer_norm": (rk.GRU, dict(layer_norm=True)),
    "gru_zoneout_weight_drop": (rk.GRU, dict(zoneout=0.3, weight_drop=0.3, merge_mode="ave")),
    "gru_recurrent_dropout": (rk.GRU, dict(recurrent_dropout=0.4)),
    "gru_layer_norm_recurrent_dropout": (rk.GRU, dict(layer_norm=True, recurrent_dropout=0.4, zoneout=0.2)),
    "rnn_recurrent_dropout_zoneout": (rk.RNN, dict(recurrent_dropout=0.3, zoneout=0.3, merge_mode="sum")),
    "rnn_weight_drop": (rk.RNN, dict(weight_drop=0.5)),
}
MERGES = ["concat", "sum", "mul", "ave"]


def make(name, dtype="float64", seed=0, **kw):
    cls, options = VARIANTS[name]
    return cls(D, H, dtype=dtype, seed=seed, **options, **kw)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", VARIANTS)
def test_gradcheck_deep_with_lengths_and_initial_state(name, bidirectional, rng):
    layer = make(name, num_layers=2, bidirectional=bidirectional, dropout=0.3)
    x = rng.standard_normal((B, T, D))
    errors = rk.gradcheck_errors(layer, x, state=random_state(layer, B, rng), lengths=LENGTHS, n_checks=12)
    assert set(errors) >= set(layer.params) | {"x", "state[0]"}
    assert max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("mode", MERGES)
def test_merge_modes_gradcheck_and_widths(mode, rng):
    layer = rk.GRU(D, H, num_layers=2, bidirectional=True, merge_mode=mode, dtype="float64", seed=1)
    assert layer.params["weight_ih_l1"].shape[1] == (2 * H if mode == "concat" else H)
    x = rng.standard_normal((B, T, D))
    out, _ = layer.forward(x, lengths=LENGTHS)
    assert out.shape == (B, T, 2 * H if mode == "concat" else H)
    assert rk.gradcheck(layer, x, lengths=LENGTHS, state=random_state(layer, B, rng), n_checks=8) <= 1e-6


def test_merge_modes_combine_the_two_directions(rng):
    x = rng.standard_normal((B, T, D))
    outs = {m: rk.LSTM(D, H, bidirectional=True, merge_mode=m, dtype="float64", seed=2).forward(x)[0] for m in MERGES}
    fwd, bwd = outs["concat"][..., :H], outs["concat"][..., H:]
    np.testing.assert_allclose(outs["sum"], fwd + bwd, atol=1e-14)
    np.testing.assert_allclose(outs["mul"], fwd * bwd, atol=1e-14)
    np.testing.assert_allclose(outs["ave"], (fwd + bwd) / 2, atol=1e-14)


@pytest.mark.parametrize("name", VARIANTS)
def test_lengths_match_running_each_sequence_alone_in_eval(name, rng):
    layer = make(name, num_layers=2, bidirectional=True).eval()
    assert_lengths_match_running_alone(layer, rng.standard_normal((B, T, D)), LENGTHS)


@pytest.mark.parametrize("name", VARIANTS)
def test_eval_forward_equals_a_loop_of_steps(name, rng):
    layer = make(name, num_layers=2).eval()
    x = rng.standard_normal((B, T, D))
    assert_forward_equals_steps(layer, x, random_state(layer, B, rng))


@pytest.mark.parametrize("name", ["lstm_recurrent_dropout", "lstm_weight_drop", "rnn_weight_drop",
                                  "gru_recurrent_dropout"])
def test_dropout_variants_are_off_in_eval(name, rng):
    """Evaluation gives exactly the plain stack with the same weights."""
    cls, options = VARIANTS[name]
    noisy = make(name, num_layers=2, bidirectional=True).eval()
    plain = cls(D, H, num_layers=2, bidirectional=True, dtype="float64", seed=0)
    plain.load_state_dict(noisy.state_dict())
    x = rng.standard_normal((B, T, D))
    np.testing.assert_array_equal(noisy.forward(x, lengths=LENGTHS)[0], plain.forward(x, lengths=LENGTHS)[0])
    assert not np.array_equal(noisy.train().forward(x, lengths=LENGTHS)[0], plain.forward(x, lengths=LENGTHS)[0])


@pytest.mark.parametrize("p", [0.3, (0.2, 0.6)])
def test_zoneout_in_eval_is_the_expectation(p, rng):
    """One step with zoneout in evaluation: s_t = p s_{t−1} + (1 − p) s̃_t, for h and c (each its own p)."""
    zoned = rk.LSTM(D, H, zoneout=p, dtype="float64", seed=3).eval()
    plain = rk.LSTM(D, H, dtype="float64", seed=3)
    p_h, p_c = zoned.variants.zoneout_rates(2)
    x, (h0, c0) = rng.standard_normal((B, 1, D)), random_state(zoned, B, rng)
    _, (h, c) = zoned.forward(x, state=(h0, c0))
    _, (h_new, c_new) = plain.forward(x, state=(h0, c0))
    np.testing.assert_allclose(h, p_h * h0 + (1 - p_h) * h_new, atol=1e-14)
    np.testing.assert_allclose(c, p_c * c0 + (1 - p_c) * c_new, atol=1e-14)


def test_lstm_zoneout_rates_for_h_and_c_in_training(rng):
    layer = rk.LSTM(D, 50, zoneout=(0.1, 0.7), dtype="float64", seed=5)
    out, _ = layer.forward(rng.standard_normal((20, T, D)))
    assert 0.05 < (out[:, 1:] == out[:, :-1]).mean() < 0.2               # h keeps its value 10 % of the time
    assert rk.LSTM(D, H, zoneout=(0.0, 0.0)).variants.zoneout == 0.0     # both off: no zoneout at all


def test_zoneout_in_training_keeps_some_units_exactly(rng):
    layer = rk.GRU(D, H, zoneout=0.5, dtype="float64", seed=4)
    out, _ = layer.forward(rng.standard_normal((B, T, D)))
    kept = out[:, 1:] == out[:, :-1]
    assert 0.3 < kept.mean() < 0.7


@pytest.mark.parametrize("name", VARIANTS)
def test_seeded_noise_is_exactly_reproducible_and_float32_uses_the_same_masks(name, rng):
    x = rng.standard_normal((B, T, D))
    a, b = (make(name, seed=7, num_layers=2, bidirectional=True, dropout=0.2) for _ in range(2))
    first = a.forward(x, lengths=LENGTHS)[0]
    np.testing.assert_array_equal(first, b.forward(x, lengths=LENGTHS)[0])
    assert not np.array_equal(first, a.forward(x, lengths=LENGTHS)[0])            # new masks for the next batch
    f32 = make(name, dtype="float32", seed=7, num_layers=2, bidirectional=True, dropout=0.2)
    np.testing.assert_allclose(f32.forward(x, lengths=LENGTHS)[0], first, atol=1e-4)


@pytest.mark.parametrize("name", ["lstm_all", "gru_layer_norm_recurrent_dropout", "rnn_recurrent_dropout_zoneout"])
def test_restoring_the_generator_repeats_the_masks_exactly(name, rng):
    """What a resumed run does (the trainer saves every module's generator): the same masks, bit for bit."""
    layer, x = make(name, num_layers=2, bidirectional=True), rng.standard_normal((B, T, D))
    layer.forward(x)
    saved = layer.rng.bit_generator.state
    first = layer.forward(x, lengths=LENGTHS)[0]
    layer.rng.bit_generator.state = saved
    np.testing.assert_array_equal(layer.forward(x, lengths=LENGTHS)[0], first)


def test_parameter_names_and_shapes(rng):
    lstm = rk.LSTM(D, H, num_layers=2, bidirectional=True, proj_size=2, peephole=True, layer_norm=True)
    p = lstm.params
    assert p["weight_hr_l1_reverse"].shape == (2, H)
    assert p["weight_hh_l0"].shape == (4 * H, 2)
    assert p["weight_ih_l1"].shape == (4 * H, 4)                     # two directions of P = 2
    assert p["peephole_l0"].shape == (3 * H,)
    assert p["ln_ih_weight_l0"].shape == p["ln_hh_bias_l1_reverse"].shape == (4 * H,)
    assert p["ln_c_weight_l1"].shape == (H,)
    assert "bias_ih_l0" not in p and "bias_hh_l0" not in p           # β_ih + β_hh are the biases
    gru = rk.GRU(D, H, layer_norm=True)
    assert sorted(gru.params) == sorted(["weight_ih_l0", "weight_hh_l0", "ln_ih_weight_l0", "ln_ih_bias_l0",
                                         "ln_hh_weight_l0", "ln_hh_bias_l0"])
    np.testing.assert_array_equal(gru.params["ln_ih_weight_l0"], 1.0)


@pytest.mark.parametrize("name", VARIANTS)
def test_state_dict_round_trip(name, rng):
    a, b = make(name, seed=1, num_layers=2).eval(), make(name, seed=2, num_layers=2).eval()
    b.load_state_dict(a.state_dict())
    x = rng.standard_normal((B, T, D))
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])


def test_loading_another_variant_names_the_tensors_and_options():
    with pytest.raises(ValueError, match=r"missing: peephole_l0.*\n.*unexpected: weight_hr_l0(.|\n)*\(tensors of "
                                         r"peephole, proj_size: a stack built with other variant options\)"):
        rk.LSTM(D, H, peephole=True).load_state_dict(rk.LSTM(D, H, proj_size=2).state_dict())
    with pytest.raises(ValueError, match="layer_norm"):
        rk.GRU(D, H).load_state_dict(rk.GRU(D, H, layer_norm=True).state_dict())
    with pytest.raises(ValueError, match="wrong shape: weight_hh_l0 expected \\(16, 3\\), given \\(16, 2\\)"):
        rk.LSTM(D, H, proj_size=3).load_state_dict(rk.LSTM(D, H, proj_size=2).state_dict())


def test_projected_states_have_proj_size_units(rng):
    lstm = rk.LSTM(D, H, num_layers=2, bidirectional=True, proj_size=3, dtype="float64", seed=0)
    out, (h, c) = lstm.forward(rng.standard_normal((B, T, D)), lengths=LENGTHS)
    assert out.shape == (B, T, 6) and h.shape == (4, B, 3) and c.shape == (4, B, H)
    with pytest.raises(ValueError, match=r"state\[0\]: expected shape \(4, 3, 3\)"):
        lstm.forward(rng.standard_normal((B, T, D)), state=(np.zeros((4, B, H)), np.zeros((4, B, H))))


@pytest.mark.parametrize("kwargs,message", [
    (dict(proj_size=4), "proj_size: expected an integer from 0 .* to hidden_size − 1 = 3, given 4"),
    (dict(proj_size=-1), "proj_size: expected an integer"),
    (dict(proj_size=1.5), "proj_size: expected an integer"),
    (dict(recurrent_dropout=1.0), r"recurrent_dropout: expected a probability in \[0, 1\), given 1.0"),
    (dict(weight_drop=-0.1), "weight_drop: expected a probability"),
    (dict(zoneout="0.5"), "zoneout: expected a probability"),
    (dict(zoneout=(0.1, 1.2)), r"zoneout\[1\]: expected a probability"),
    (dict(zoneout=(0.1, 0.2, 0.3)), r"zoneout: expected one probability, or for the LSTM a pair \(p_h, p_c\)"),
    (dict(merge_mode="max"), "merge_mode: expected one of"),
    (dict(peephole=1), "peephole: expected True or False"),
])
def test_bad_lstm_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rk.LSTM(D, H, **kwargs)


@pytest.mark.parametrize("cls,kwargs,message", [
    (rk.GRU, dict(proj_size=2), "proj_size: not an option of the GRU .only the LSTM has a projection"),
    (rk.RNN, dict(proj_size=2), "proj_size: not an option of the RNN"),
    (rk.GRU, dict(peephole=True), "peephole: not an option of the GRU"),
    (rk.RNN, dict(layer_norm=True), "layer_norm: not an option of the RNN"),
])
def test_options_a_cell_does_not_have(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(D, H, **kwargs)


def test_unknown_option_and_textbook_gru_with_layer_norm():
    with pytest.raises(TypeError, match="projsize: not an option of the LSTM"):
        rk.LSTM(D, H, projsize=2)
    with pytest.raises(ValueError, match="layer_norm: .*reset_after=True"):
        rk.GRU(D, H, reset_after=False, layer_norm=True)
    with pytest.raises(ValueError, match="recurrent_dropout: .*reset_after=True"):
        rk.GRU(D, H, reset_after=False, recurrent_dropout=0.1)


def test_variants_off_keep_the_plain_cells_and_their_compiled_loops():
    """No option (or only weight_drop / merge_mode, which leave the cell alone): the plain cell runs."""
    for layer in (rk.LSTM(D, H), rk.LSTM(D, H, weight_drop=0.5, merge_mode="sum", bidirectional=True)):
        assert layer._layer_cell(True, B, T) is LSTM_CELL
    gru = rk.GRU(D, H)
    assert gru._layer_cell(True, B, T) is gru.cell and gru.cell.name == gru_cell(True).name
    assert rk.LSTM(D, H, recurrent_dropout=0.5)._layer_cell(False, B, T) is LSTM_CELL   # off in eval
    assert rk.LSTM(D, H, proj_size=2)._layer_cell(False, B, T).extra == ("weight_hr",)
    assert repr(rk.LSTM(D, H, proj_size=2, zoneout=0.1)).endswith("proj_size=2, zoneout=0.1, cell='lstm', "
                                                                   "dtype=float32)")
