"""Gate and state statistics: what each unit of each layer does at each step of one input.

Legend: T time steps, H hidden units; one sequence (B = 1).

The activations are read from the functional caches of the layers (see
:func:`rnnkit.diagnostics.stack.run_stack`), i.e. what the model computed:

    LSTM (cache.gates, order i, f, g, o):  i_t, f_t, o_t = σ(·)   g_t = c̃_t = tanh(·)
                                           c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t   h_t = o_t ⊙ tanh(c_t)
    GRU  (cache.gates, order r, z, n):     r_t, z_t = σ(·)   n_t = tanh(·)   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
    RNN:                                   h_t = tanh(·) (or relu, or the identity)

Saturated units (where the derivative is nearly zero, so little gradient passes):

    sigmoid gates (i, f, o, r, z):  a < 0.01 or a > 0.99
    tanh outputs (g, n, h of a tanh RNN, and h of LSTM/GRU, which lie in (−1, 1)):  |a| > 0.99
    the LSTM cell state c_t is unbounded; its saturation is that of tanh(c_t): |tanh(c_t)| > 0.99
    relu and identity outputs do not saturate (NaN)
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit.diagnostics.plotting import output_dir, pyplot, save_figure, write_csv
from rnnkit.diagnostics.stack import GATE_NAMES, LayerRun, family, run_stack
from rnnkit.errors import RnnkitError

SIGMOID, TANH, FREE, CELL = "sigmoid", "tanh", "free", "cell"
KINDS = {"i": SIGMOID, "f": SIGMOID, "o": SIGMOID, "r": SIGMOID, "z": SIGMOID, "g": TANH, "n": TANH}


class Quantity(NamedTuple):
    name: str            # "f", "c", "h", ...
    kind: str            # sigmoid, tanh, cell (LSTM c_t) or free (relu, identity)
    values: np.ndarray   # (T, H)


def saturated(q: Quantity) -> np.ndarray:
    """(T,) fraction of the H units saturated at each step (NaN for a kind that cannot saturate)."""
    v = q.values
    if q.kind == SIGMOID:
        return ((v < 0.01) | (v > 0.99)).mean(axis=1)
    if q.kind == TANH:
        return (np.abs(v) > 0.99).mean(axis=1)
    if q.kind == CELL:
        return (np.abs(np.tanh(v)) > 0.99).mean(axis=1)
    return np.full(len(v), np.nan)


def quantities(run: LayerRun, b: int = 0) -> list[Quantity]:
    """The gates and states of sequence ``b`` of one layer run, each (T, H) with row t at input position t
    (for the reverse direction too), in the cell's gate order."""
    steps, cell = run.cache.steps, run.cache.cell
    kind, H = family(cell), run.out.shape[-1]
    # the cache is in processing order: the reverse direction's step t is position T−1−t
    order = slice(None, None, -1) if run.direction else slice(None)
    out = []
    if kind in ("lstm", "gru"):
        gates = np.asarray(steps.gates[:, b])[order]                     # (T, G·H) activated
        for k, name in enumerate(GATE_NAMES[kind]):
            out.append(Quantity(name, KINDS[name], gates[:, k * H:(k + 1) * H]))
    if kind == "lstm":
        c = np.concatenate([np.asarray(steps.c_prev[1:, b]), run.final[1][b][None]])   # c_1 … c_T
        out.append(Quantity("c", CELL, c[order]))
    h_kind = TANH if cell.name in ("lstm", "rnn_tanh") or kind == "gru" else FREE
    out.append(Quantity("h", h_kind, np.asarray(run.out[:, b])))
    return out


class Inspection(NamedTuple):
    layer: int
    direction: int
    cell: str
    quantities: list


def inspect_stack(rnn, x: np.ndarray, state0=None) -> list[Inspection]:
    """Every layer's gates and states of the stack ``rnn`` for x (1, T, D) from ``state0`` (None: zeros)."""
    return [Inspection(r.layer, r.direction, r.cache.cell.name, quantities(r)) for r in run_stack(rnn, x, state0)]


def inspect_model(model, x: np.ndarray) -> list[Inspection]:
    """Every layer's gates and states for x (1, T, D), the input of ``model.rnn``."""
    return inspect_stack(model.rnn, x)


def _tag(ins: Inspection) -> str:
    return f"l{ins.layer}" + ("_reverse" if ins.direction else "")


def summary_rows(results: list[Inspection]) -> list[list]:
    """[layer, direction, quantity, kind, mean, std, saturated fraction] over all steps and units."""
    return [[r.layer, "reverse" if r.direction else "forward", q.name, q.kind, float(q.values.mean()),
             float(q.values.std()), float(np.mean(saturated(q)))] for r in results for q in r.quantities]


def format_summary(results: list[Inspection], tokens: list[str]) -> str:
    lines = [f"{len(tokens)} steps; saturated: sigmoid < 0.01 or > 0.99, tanh |a| > 0.99 (c: tanh(c))",
             f"{'layer':<12}{'quantity':<10}{'mean':>9}{'std':>9}{'saturated':>11}"]
    for layer, direction, name, _, mean, std, sat in summary_rows(results):
        where = f"{layer}" + (" reverse" if direction == "reverse" else "")
        shown = "-" if np.isnan(sat) else f"{100 * sat:.1f}%"
        lines.append(f"{where:<12}{name:<10}{mean:9.3f}{std:9.3f}{shown:>11}")
    return "\n".join(lines)


def write_inspection(results: list[Inspection], tokens: list[str], out,
                     axis: str = "step (input token)") -> tuple[list[Path], bool]:
    """activations.csv (every value), saturation.csv (per step), inspect_summary.csv and one PNG
    of heat maps per layer and direction in ``out`` (x axis ``axis``); returns (files, whether plots
    were made)."""
    out = output_dir(out)
    files = [
        write_csv(out / "activations.csv", ["layer", "direction", "quantity", "step", "token", "unit", "value"],
                  ([r.layer, r.direction, q.name, t, tokens[t], u, float(q.values[t, u])]
                   for r in results for q in r.quantities for t in range(len(tokens))
                   for u in range(q.values.shape[1]))),
        write_csv(out / "saturation.csv", ["layer", "direction", "quantity", "step", "token", "mean",
                                           "saturated_fraction"],
                  ([r.layer, r.direction, q.name, t, tokens[t], float(q.values[t].mean()), float(s[t])]
                   for r in results for q in r.quantities for s in [saturated(q)] for t in range(len(tokens)))),
        write_csv(out / "inspect_summary.csv", ["layer", "direction", "quantity", "kind", "mean", "std",
                                                "saturated_fraction"], summary_rows(results)),
    ]
    pngs = [plot_inspection(r, tokens, out / f"inspect_{_tag(r)}.png", axis) for r in results]
    pngs = [p for p in pngs if p is not None]
    return files + pngs, bool(pngs)


def _show(token: str) -> str:
    return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(token, token)


def plot_inspection(ins: Inspection, tokens: list[str], path, axis: str = "step (input token)") -> Path | None:
    """Heat maps (units × steps) of each gate and state, then the saturated fraction per step."""
    plt = pyplot()
    if plt is None:
        return None
    qs, T = ins.quantities, len(tokens)
    fig, axes = plt.subplots(len(qs) + 1, 1, figsize=(min(4 + 0.12 * T, 16), 1.7 * (len(qs) + 1)), sharex=True,
                             layout="constrained")
    for ax, q in zip(axes, qs):
        if q.kind == SIGMOID:
            style = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
        else:
            lim = 1.0 if q.kind == TANH else max(float(np.abs(q.values).max()), 1e-6)
            style = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
        im = ax.imshow(q.values.T, aspect="auto", interpolation="nearest", **style)
        sat = np.mean(saturated(q))
        ax.set_title(f"{q.name} ({q.kind})" + ("" if np.isnan(sat) else f": {100 * sat:.1f}% saturated"),
                     fontsize=9, loc="left")
        ax.set_ylabel("unit", fontsize=8)
        fig.colorbar(im, ax=ax, pad=0.01, aspect=10)
    ax = axes[-1]
    for q in qs:
        s = saturated(q)
        if not np.all(np.isnan(s)):
            ax.plot(np.arange(T), s, label=q.name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("saturated", fontsize=8)
    ax.legend(fontsize=7, ncol=len(qs), loc="upper right")
    if T <= 80:
        ax.set_xticks(np.arange(T))
        ax.set_xticklabels([_show(t) for t in tokens], fontsize=7)
    ax.set_xlabel(axis)
    fig.suptitle(f"layer {ins.layer}{' reverse' if ins.direction else ''} ({ins.cell})", fontsize=10)
    return save_figure(fig, path, dpi=80)


class Looked(NamedTuple):
    """What :func:`look_inside` found (nothing written)."""

    results: list        # one Inspection per layer and direction
    tokens: list         # (T,) the step labels
    what: str            # one line saying what was read
    axis: str            # what the step labels are


class Inspected(NamedTuple):
    """What :func:`inspect_run` looked at and wrote."""

    results: list        # one Inspection per layer and direction
    tokens: list         # (T,) the step labels
    files: list          # the files written
    plotted: bool        # whether the PNGs were made
    what: str            # one line saying what was read


def look_inside(run, text: str | None = None, seed: int = 0, which: str = "best", max_tokens: int = 200,
                source: str = "--text", file: str | None = None, row: int = 0,
                part: str = "encoder") -> Looked:
    """:func:`look_inside_trained` of the ``which`` weights of a run directory."""
    from rnnkit.tasks import open_trained

    check_max_tokens(max_tokens)                                   # before the model is loaded
    return look_inside_trained(open_trained(run, which), text, seed, max_tokens, source, file, row, part)


def look_inside_trained(trained, text: str | None = None, seed: int = 0, max_tokens: int = 200,
                        source: str = "--text", file: str | None = None, row: int = 0,
                        part: str = "encoder") -> Looked:
    """The gates and states of every layer and direction (:class:`Looked`) of a
    :class:`~rnnkit.tasks.Trained` model on one input (:func:`rnnkit.diagnostics.inputs.probe`), computed
    and not written anywhere: ``text``, or ``file`` (text; CSV for forecast; .npz for caption, row ``row``),
    or what the task reads without either (a generated example of a toy task, a forecaster's last window,
    a caption of the run's data); ``part`` "decoder" looks into a translation model's decoder."""
    from rnnkit.diagnostics.inputs import probe

    check_max_tokens(max_tokens)
    p = probe(trained.model, trained.task, text, file, row, part, seed, source)
    x, tokens = p.x[:, :max_tokens], [str(t) for t in p.labels[:max_tokens]]
    return Looked(inspect_stack(p.rnn, x, p.state0), tokens, p.what, p.axis)


def check_max_tokens(max_tokens) -> None:
    """RnnkitError naming --max-tokens unless it is a positive integer."""
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise RnnkitError(f"--max-tokens: expected a positive integer, given {max_tokens!r}")


def inspect_run(run, text: str | None = None, out="inspect", seed: int = 0, which: str = "best",
                max_tokens: int = 200, source: str = "--text", file: str | None = None, row: int = 0,
                part: str = "encoder") -> Inspected:
    """:func:`look_inside` a run's model on one input, and write what it found into ``out``
    (:func:`write_inspection`)."""
    got = look_inside(run, text, seed, which, max_tokens, source, file, row, part)
    files, plotted = write_inspection(got.results, got.tokens, out, got.axis)
    return Inspected(got.results, got.tokens, files, plotted, got.what)
