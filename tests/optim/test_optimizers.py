"""Optimizers: parity with recorded PyTorch trajectories, Adagrad against min-char-rnn's
formula, dtypes, in-place updates, argument errors and bit-identical resumption.

The fixture ``tests/fixtures/torch_optim.npz`` comes from
``tests/fixtures/make_torch_optim_fixtures.py`` (its docstring gives the key
layout); PyTorch is not needed to run these tests.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import rnnkit as rk
from rnnkit import optim

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "torch_optim.npz"

with np.load(FIXTURE, allow_pickle=False) as _data:
    DATA = {k: _data[k] for k in _data.files}
CONFIGS = sorted(k[: -len(".spec")] for k in DATA if k.endswith(".spec"))
NAMES = sorted(k[len("init."):] for k in DATA if k.startswith("init."))


def make(config: str) -> optim.Optimizer:
    """The rnnkit optimizer of a recorded configuration."""
    spec = json.loads(DATA[f"{config}.spec"].tobytes())
    return getattr(optim, spec["class"])(**spec["kwargs"])


def problem(dtype="float64") -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fresh copies of the recorded initial parameters and the (S, *shape) gradients in ``dtype``."""
    params = {p: DATA[f"init.{p}"].astype(dtype) for p in NAMES}
    grads = {p: DATA[f"grad.{p}"].astype(dtype) for p in NAMES}
    return params, grads


def run(opt: optim.Optimizer, config: str, params, grads, steps: range) -> list[dict[str, np.ndarray]]:
    """Apply ``steps`` of the recorded schedule; returns copies of the parameters after each."""
    trajectory = []
    for t in steps:
        opt.lr = float(DATA[f"{config}.lr"][t])
        opt.step(params, {p: g[t] for p, g in grads.items()})
        trajectory.append({p: v.copy() for p, v in params.items()})
    return trajectory


def test_fixture_covers_every_torch_optimizer():
    assert CONFIGS, f"{FIXTURE} holds no configuration"
    classes = {json.loads(DATA[f"{c}.spec"].tobytes())["class"] for c in CONFIGS}
    assert classes == {"SGD", "RMSprop", "Adam", "AdamW"}
    assert DATA["meta.torch_version"].tobytes().startswith(b"2.13")


@pytest.mark.parametrize("config", CONFIGS)
def test_matches_torch_float64(config):
    params, grads = problem()
    steps = len(DATA[f"{config}.lr"])
    for t, got in enumerate(run(make(config), config, params, grads, range(steps))):
        for p in NAMES:
            np.testing.assert_allclose(got[p], DATA[f"{config}.param.{p}"][t], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{config}: {p} after step {t + 1}")


@pytest.mark.parametrize("config", CONFIGS)
def test_float32_stays_float32_and_close_to_torch(config):
    params, grads = problem("float32")
    opt = make(config)
    steps = len(DATA[f"{config}.lr"])
    final = run(opt, config, params, grads, range(steps))[-1]
    for p in NAMES:
        assert params[p].dtype == np.float32 and final[p].dtype == np.float32
        np.testing.assert_allclose(final[p], DATA[f"{config}.param.{p}"][-1], rtol=1e-5, atol=1e-5, err_msg=p)
    arrays, _ = opt.state_dict()
    assert all(a.dtype == np.float32 for a in arrays.values())


def test_adagrad_is_min_char_rnn():
    """min-char-rnn.py: mem += dparam * dparam; param += -learning_rate * dparam / np.sqrt(mem + 1e-8)."""
    params, grads = problem()
    opt = optim.Adagrad(lr=0.1)
    naive = {p: v.copy() for p, v in params.items()}
    mem = {p: np.zeros_like(v) for p, v in params.items()}
    for t in range(grads[NAMES[0]].shape[0]):
        opt.step(params, {p: g[t] for p, g in grads.items()})
        for p in NAMES:
            mem[p] += grads[p][t] * grads[p][t]
            naive[p] += -0.1 * grads[p][t] / np.sqrt(mem[p] + 1e-8)
    for p in NAMES:
        np.testing.assert_allclose(params[p], naive[p], rtol=1e-14, atol=1e-15, err_msg=p)


def test_adagrad_float32():
    params, grads = problem("float32")
    optim.Adagrad(lr=0.1, eps=1e-6).step(params, {p: g[0] for p, g in grads.items()})
    assert all(v.dtype == np.float32 for v in params.values())


ALL = {
    "sgd": lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    "adagrad": lambda: optim.Adagrad(lr=0.1),
    "rmsprop": lambda: optim.RMSprop(lr=0.01, momentum=0.5, weight_decay=0.1),
    "adam": lambda: optim.Adam(lr=0.01, weight_decay=0.1),
    "adamw": lambda: optim.AdamW(lr=0.01),
}


@pytest.mark.parametrize("name", ALL)
def test_updates_in_place_and_leaves_grads_alone(name, rng):
    params = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}
    grads = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}
    refs = dict(params)  # the arrays themselves, as a model's parameters() gives them
    before, grads_before = ({k: v.copy() for k, v in d.items()} for d in (params, grads))
    opt = ALL[name]()
    opt.step(params, grads)
    opt.step(params, grads)
    for k in params:
        assert params[k] is refs[k], f"{name} rebound {k} instead of updating it in place"
        assert not np.array_equal(refs[k], before[k]), f"{name} did not change {k}"
        np.testing.assert_array_equal(grads[k], grads_before[k], err_msg=f"{name} changed the gradient of {k}")


@pytest.mark.parametrize("name", ALL)
def test_steps_a_model_through_its_parameter_dict(name, rng):
    lstm = rk.LSTM(input_size=3, hidden_size=4, seed=0, dtype="float32")
    out, _ = lstm.forward(rng.standard_normal((2, 5, 3)).astype(np.float32))
    lstm.backward(np.ones_like(out))
    before = lstm.state_dict()
    ALL[name]().step(lstm.parameters(), lstm.gradients())
    for k, v in lstm.params.items():
        assert v.dtype == np.float32
        assert not np.array_equal(v, before[k]), f"{name} did not change {k}"


def test_grads_of_another_float_dtype_are_used_in_the_params_dtype():
    params = {"w": np.ones(3, np.float32)}
    optim.SGD(lr=0.5).step(params, {"w": np.full(3, 1 / 3, np.float64)})
    assert params["w"].dtype == np.float32
    np.testing.assert_array_equal(params["w"], np.float32(1) - np.float32(0.5) * np.float32(1 / 3))


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_opt, message", [
    (lambda: optim.SGD(lr=0), "lr: expected a number > 0, given 0"),
    (lambda: optim.SGD(lr=-0.1), "lr: expected a number > 0, given -0.1"),
    (lambda: optim.Adam(lr=float("nan")), "lr: expected a number > 0, given nan"),
    (lambda: optim.SGD(lr="fast"), "lr: expected a number > 0, given 'fast'"),
    (lambda: optim.SGD(lr=0.1, momentum=-0.9), "momentum: expected a number >= 0, given -0.9"),
    (lambda: optim.SGD(lr=0.1, weight_decay=-1), "weight_decay: expected a number >= 0, given -1"),
    (lambda: optim.SGD(lr=0.1, nesterov=True), "nesterov: Nesterov momentum needs momentum > 0, given "
                                               "nesterov=True with momentum=0.0"),
    (lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov="yes"), "nesterov: expected True or False, given 'yes'"),
    (lambda: optim.Adagrad(eps=0), "eps: expected a number > 0, given 0"),
    (lambda: optim.RMSprop(alpha=1.0), "alpha: expected a number in [0, 1), given 1.0"),
    (lambda: optim.RMSprop(momentum=-1), "momentum: expected a number >= 0, given -1"),
    (lambda: optim.RMSprop(eps=-1e-8), "eps: expected a number > 0, given -1e-08"),
    (lambda: optim.Adam(betas=(0.9, 1.0)), "betas: expected two numbers in [0, 1), given (0.9, 1.0)"),
    (lambda: optim.Adam(betas=(-0.1, 0.9)), "betas: expected two numbers in [0, 1), given (-0.1, 0.9)"),
    (lambda: optim.Adam(betas=0.9), "betas: expected two numbers in [0, 1), given 0.9"),
    (lambda: optim.AdamW(weight_decay=-0.01), "weight_decay: expected a number >= 0, given -0.01"),
])
def test_bad_hyper_parameters(make_opt, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_opt()


def test_mismatched_keys_are_named():
    params = {"w": np.zeros(3), "b": np.zeros(2)}
    with pytest.raises(ValueError, match=r"without a gradient \['b'\] and gradients without a parameter \['v'\]"):
        optim.SGD(lr=0.1).step(params, {"w": np.zeros(3), "v": np.zeros(2)})


@pytest.mark.parametrize("grad_shape", [(1, 3), (3, 1), (), (4,)])
def test_no_broadcasting(grad_shape):
    params = {"w": np.zeros(3), "b": np.zeros(2)}
    grads = {"w": np.ones(grad_shape), "b": np.ones(2)}
    with pytest.raises(ValueError, match=re.escape(f"grads['w']: expected shape (3,) (the parameter's), "
                                                   f"given shape {grad_shape}")):
        optim.Adam().step(params, grads)
    assert not params["w"].any() and not params["b"].any(), "nothing may change when the step is refused"


def test_params_must_be_float_arrays():
    with pytest.raises(TypeError, match=r"params\['w'\]: expected a NumPy array .* given list"):
        optim.SGD(lr=0.1).step({"w": [1.0, 2.0]}, {"w": np.ones(2)})
    with pytest.raises(ValueError, match=r"params\['w'\]: expected a float32 or float64 array, given dtype int64"):
        optim.SGD(lr=0.1).step({"w": np.ones(2, np.int64)}, {"w": np.ones(2)})


def test_lr_set_by_a_schedule_is_checked_at_the_step():
    params, grads = {"w": np.ones(2)}, {"w": np.ones(2)}
    opt = optim.SGD(lr=0.1)
    opt.lr = 0.0  # allowed: a warm-up may start at zero
    opt.step(params, grads)
    np.testing.assert_array_equal(params["w"], 1.0)
    opt.lr = np.float32(0.5)
    opt.step(params, grads)
    np.testing.assert_array_equal(params["w"], 0.5)
    assert json.loads(json.dumps(opt.state_dict()[1]))["hyper_parameters"]["lr"] == 0.5
    opt.lr = -1.0
    with pytest.raises(ValueError, match=re.escape("lr: expected a number >= 0 (opt.lr, set after construction), "
                                                   "given -1.0")):
        opt.step(params, grads)


# -- state dicts ------------------------------------------------------------------------------------
def resume_round_trip(opt: optim.Optimizer, fresh: optim.Optimizer) -> optim.Optimizer:
    """Save ``opt`` as a checkpoint would (arrays copied, meta through JSON) and load it into ``fresh``."""
    arrays, meta = opt.state_dict()
    fresh.load_state_dict({k: np.array(v) for k, v in arrays.items()}, json.loads(json.dumps(meta)))
    return fresh


@pytest.mark.parametrize("config", CONFIGS + ["adagrad"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resuming_from_a_state_dict_is_bit_identical(config, dtype):
    def new():
        return optim.Adagrad(lr=0.1) if config == "adagrad" else make(config)

    schedule = "adam" if config == "adagrad" else config  # borrow a constant learning rate
    steps = len(DATA[f"{schedule}.lr"])
    params, grads = problem(dtype)
    straight = run(new(), schedule, params, grads, range(steps))[-1]

    params, grads = problem(dtype)
    first = new()
    run(first, schedule, params, grads, range(2))
    # a new process: the checkpoint's hyper-parameters replace the constructor's
    second = resume_round_trip(first, optim.Adagrad(lr=1.0) if config == "adagrad" else type(first)(lr=1.0))
    assert second.hyper_parameters() == first.hyper_parameters()
    resumed = run(second, schedule, params, grads, range(2, steps))[-1]
    for p in NAMES:
        np.testing.assert_array_equal(resumed[p], straight[p], err_msg=p)
    assert second.steps == {p: steps for p in NAMES}


def test_state_dict_layout_and_copies():
    params, grads = problem()
    opt = optim.Adam(lr=0.01, betas=(0.8, 0.9))
    opt.step(params, {p: g[0] for p, g in grads.items()})
    opt.step(params, {p: g[1] for p, g in grads.items()})
    arrays, meta = opt.state_dict()
    assert set(arrays) == {f"{s}.{p}" for s in ("exp_avg", "exp_avg_sq") for p in NAMES}
    assert meta == {"class": "Adam", "steps": {p: 2 for p in NAMES},
                    "hyper_parameters": {"lr": 0.01, "betas": [0.8, 0.9], "eps": 1e-8, "weight_decay": 0.0}}
    assert json.loads(json.dumps(meta)) == meta
    arrays["exp_avg.scale"][...] = 123.0  # a copy: the optimizer's state is not affected
    assert opt.state_dict()[0]["exp_avg.scale"] != 123.0
    assert optim.SGD(lr=0.1).state_dict() == ({}, {"class": "SGD", "steps": {}, "hyper_parameters": {
        "lr": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0}})


def test_load_state_dict_errors():
    params, grads = problem()
    adam = optim.Adam()
    adam.step(params, {p: g[0] for p, g in grads.items()})
    arrays, meta = adam.state_dict()
    with pytest.raises(ValueError, match=re.escape("meta['class']: expected 'AdamW', given 'Adam'")):
        optim.AdamW().load_state_dict(arrays, meta)
    missing = {k: v for k, v in arrays.items() if k != "exp_avg_sq.fc.weight"}
    with pytest.raises(ValueError, match=r"arrays do not match meta:\n  missing: exp_avg_sq\.fc\.weight"):
        optim.Adam().load_state_dict(missing, meta)
    with pytest.raises(ValueError, match=r"unexpected: momentum_buffer\.scale"):
        optim.Adam().load_state_dict(arrays | {"momentum_buffer.scale": np.zeros(())}, meta)
    with pytest.raises(ValueError, match=r"not a float array: exp_avg\.scale \(int64\)"):
        optim.Adam().load_state_dict(arrays | {"exp_avg.scale": np.zeros((), np.int64)}, meta)
    with pytest.raises(ValueError, match=re.escape("lr: expected a number > 0, given -1")):
        optim.Adam().load_state_dict(arrays, meta | {"hyper_parameters": meta["hyper_parameters"] | {"lr": -1}})
    with pytest.raises(ValueError, match=re.escape("meta: expected the keys 'class', 'hyper_parameters' and 'steps'"
                                                   ", missing ['steps']")):
        optim.Adam().load_state_dict(arrays, {k: v for k, v in meta.items() if k != "steps"})
    with pytest.raises(ValueError, match=re.escape("meta['steps']: expected integers >= 1, given {'scale': 0}")):
        optim.Adam().load_state_dict(arrays, meta | {"steps": meta["steps"] | {"scale": 0}})


def test_failed_load_changes_nothing_and_state_of_the_wrong_shape_is_refused():
    params, grads = problem()
    adam = optim.Adam(lr=0.5)
    adam.step(params, {p: g[0] for p, g in grads.items()})
    arrays, meta = adam.state_dict()
    other = optim.Adam(lr=0.01)
    with pytest.raises(ValueError):
        other.load_state_dict({}, meta)
    assert other.state_dict() == ({}, {"class": "Adam", "steps": {}, "hyper_parameters": {
        "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}})
    other.load_state_dict(arrays | {"exp_avg.bias_hh_l0": np.zeros(5)}, meta)
    with pytest.raises(ValueError, match=re.escape("optimizer state exp_avg.bias_hh_l0: has shape (5,), "
                                                   "the parameter has shape (6,)")):
        other.step(params, {p: g[1] for p, g in grads.items()})


def test_loaded_state_follows_the_parameters_dtype():
    params, grads = problem()
    rms = optim.RMSprop(momentum=0.9)
    rms.step(params, {p: g[0] for p, g in grads.items()})
    params32 = {p: v.astype(np.float32) for p, v in params.items()}
    resumed = resume_round_trip(rms, optim.RMSprop())  # float64 state, float32 parameters
    resumed.step(params32, {p: g[1].astype(np.float32) for p, g in grads.items()})
    arrays, _ = resumed.state_dict()
    assert {a.dtype for a in arrays.values()} == {np.dtype(np.float32)}
