"""The cell variants a recurrent stack can be built with, their parameters and their noise.

Options (keyword arguments of ``rk.LSTM``, ``rk.GRU``, ``rk.RNN``; see
:mod:`rnnkit.functional.lstm_variants` and :mod:`rnnkit.functional.recurrent_noise`
for the equations):

    option              cells           parameters per layer and direction (PyTorch's where it has them)
    proj_size=P         LSTM            weight_hr_l{k} (P, H), exactly torch.nn.LSTM(proj_size=P)
    peephole=True       LSTM            peephole_l{k} (3H,) as [p_i, p_f, p_o]
    layer_norm=True     LSTM, GRU       ln_ih_weight_l{k}, ln_ih_bias_l{k} (G·H,), ln_hh_weight_l{k},
                                        ln_hh_bias_l{k} (G·H,), and for the LSTM ln_c_weight_l{k},
                                        ln_c_bias_l{k} (H,); no bias_ih / bias_hh (β_ih + β_hh are the biases)
    recurrent_dropout=p all             none (one mask per sequence on h_{t−1}; GRU: reset-after form)
    weight_drop=p       all             none (DropConnect on weight_hh once per batch)
    zoneout=p           all             none (every state; the LSTM also takes (p_h, p_c), a rate each)
    merge_mode=...      all (bidir.)    none: "concat", "sum", "mul" or "ave", applied to every layer's output

``_reverse`` follows ``l{k}`` for the reverse direction, as in PyTorch.
A stack with none of them runs the plain cells (and their compiled loops)
exactly as before; weight-drop and merge modes keep the plain cells too. The
others run a variant cell's NumPy steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.functional.cell import Cell
from rnnkit.functional.gru_variants import gru_variational_cell
from rnnkit.functional.merge import MERGE_MODES
from rnnkit.functional.recurrent_noise import keep_mask, variational_cell, zoneout_cell, zoneout_masks

# the options each cell family takes
ALLOWED = {
    "lstm": {"proj_size", "peephole", "layer_norm", "recurrent_dropout", "weight_drop", "zoneout", "merge_mode"},
    "gru": {"layer_norm", "recurrent_dropout", "weight_drop", "zoneout", "merge_mode"},
    "rnn": {"recurrent_dropout", "weight_drop", "zoneout", "merge_mode"},
}
WHY_NOT = {
    "proj_size": "only the LSTM has a projection (as in PyTorch)",
    "peephole": "only the LSTM has peepholes",
    "layer_norm": "the layer-normalised cells are the LSTM and the GRU",
}
DEFAULTS = {"proj_size": 0, "peephole": False, "layer_norm": False, "recurrent_dropout": 0.0,
            "weight_drop": 0.0, "zoneout": 0.0, "merge_mode": "concat"}


@dataclass(frozen=True)
class Variants:
    """The variant options of one stack (all off by default)."""

    proj_size: int = 0
    peephole: bool = False
    layer_norm: bool = False
    recurrent_dropout: float = 0.0
    weight_drop: float = 0.0
    zoneout: float | tuple = 0.0    # one rate, or (p_h, p_c) for the LSTM
    merge_mode: str = "concat"

    def zoneout_rates(self, n_states: int) -> tuple:
        """The zoneout probability of each state (h[, c])."""
        return self.zoneout if isinstance(self.zoneout, tuple) else (self.zoneout,) * n_states

    def given(self) -> dict:
        """The options that differ from their defaults."""
        return {k: getattr(self, k) for k, v in DEFAULTS.items() if getattr(self, k) != v}


def check_variants(family: str, hidden_size: int, **options) -> Variants:
    """Validate the options for a cell family ("lstm", "gru", "rnn"); ValueError naming the option
    (TypeError for a name that is no option at all)."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{unknown[0]}: not an option of the {family.upper()} (variants: {', '.join(DEFAULTS)})")
    for name, value in options.items():
        if value != DEFAULTS[name] and name not in ALLOWED[family]:
            raise ValueError(f"{name}: not an option of the {family.upper()} ({WHY_NOT[name]}), given {value!r}")
    proj = options.get("proj_size", 0)
    if not isinstance(proj, (int, np.integer)) or isinstance(proj, bool) or not 0 <= proj < hidden_size:
        raise ValueError(f"proj_size: expected an integer from 0 (no projection) to hidden_size − 1 = "
                         f"{hidden_size - 1}, given {proj!r}")
    for name in ("recurrent_dropout", "weight_drop"):
        check_probability(name, options.get(name, 0.0))
    zoneout = options.get("zoneout", 0.0)
    if isinstance(zoneout, (tuple, list)):
        if family != "lstm" or len(zoneout) != 2:
            raise ValueError(f"zoneout: expected one probability, or for the LSTM a pair (p_h, p_c), given {zoneout!r}")
        zoneout = tuple(check_probability(f"zoneout[{i}]", p) for i, p in enumerate(zoneout))
        zoneout = 0.0 if not any(zoneout) else zoneout
    else:
        zoneout = check_probability("zoneout", zoneout)
    mode = options.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise ValueError(f"merge_mode: expected one of {MERGE_MODES}, given {mode!r}")
    for name in ("peephole", "layer_norm"):
        if not isinstance(options.get(name, False), (bool, np.bool_)):
            raise ValueError(f"{name}: expected True or False, given {options[name]!r}")
    return Variants(int(proj), bool(options.get("peephole", False)), bool(options.get("layer_norm", False)),
                    *(float(options.get(n, 0.0)) for n in ("recurrent_dropout", "weight_drop")), zoneout, mode)


def check_probability(name: str, p) -> float:
    """``p`` as a float; ValueError naming ``name`` unless 0 <= p < 1."""
    if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool) or not 0 <= p < 1:
        raise ValueError(f"{name}: expected a probability in [0, 1), given {p!r}")
    return float(p)


def extra_shapes(v: Variants, gates: int, hidden: int) -> dict[str, tuple]:
    """The variant's parameters beyond weight_ih / weight_hh (and the biases), with their shapes."""
    shapes = {}
    if v.proj_size:
        shapes["weight_hr"] = (v.proj_size, hidden)
    if v.peephole:
        shapes["peephole"] = (3 * hidden,)
    if v.layer_norm:
        shapes.update(ln_ih_weight=(gates * hidden,), ln_ih_bias=(gates * hidden,),
                      ln_hh_weight=(gates * hidden,), ln_hh_bias=(gates * hidden,))
        if gates == 4:
            shapes.update(ln_c_weight=(hidden,), ln_c_bias=(hidden,))
    return shapes


# a parameter kind's name -> the option that brings it
OPTION_OF = {"weight_hr": "proj_size", "peephole": "peephole", "ln_": "layer_norm"}


def variant_hint(names) -> str:
    """Which options the variant tensors among ``names`` belong to ("" if none does): for the error of a
    state dict from a stack with other variants."""
    options = sorted({option for name in names for kind, option in OPTION_OF.items() if name.startswith(kind)})
    return f" (tensors of {', '.join(options)}: a stack built with other variant options)" if options else ""


def extra_init(rng: np.random.Generator, name: str, shape: tuple, hidden: int) -> np.ndarray:
    """Initial values: layer-norm gains 1 and shifts 0 (Ba et al.); projection and peepholes
    U(−1/√H, 1/√H), as PyTorch initialises weight_hr."""
    if name.startswith("ln_"):
        return np.ones(shape) if name.endswith("_weight") else np.zeros(shape)
    k = 1.0 / np.sqrt(hidden)
    return rng.uniform(-k, k, size=shape)


def noisy_cell(cell: Cell, v: Variants, rng: np.random.Generator, training: bool, widths: tuple,
               B: int, T: int | None, dtype) -> Cell:
    """``cell`` wrapped for one sequence: variational recurrent dropout (training only) and zoneout (masks in
    training, the expectation otherwise; T None: one step at a time, always the expectation)."""
    if v.recurrent_dropout and training and T is not None:
        wrap = gru_variational_cell if cell.gates == 3 else variational_cell   # the GRU's update keeps h_{t−1}
        cell = wrap(cell, keep_mask(rng, (B, widths[0]), v.recurrent_dropout, dtype))
    if v.zoneout:
        rates = v.zoneout_rates(len(widths))
        masks = zoneout_masks(rng, widths, T, B, rates, dtype) if training and T is not None else None
        cell = zoneout_cell(cell, rates, masks)
    return cell
