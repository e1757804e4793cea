"""Gradient flow through time: how much of a loss at the last step reaches each earlier state.

Legend: B batch, T time steps, D input features, H hidden units, k a step (0 = the initial
state), d = T − k the distance back from the last step.

For the loss at the last step, L_b = ⟨g_b, h_T⟩ with g_b a random unit vector per sequence b
(an upstream gradient of size 1, as any head would send into h_T; a fresh model has no head),

    ∂L_b/∂h_k = g_bᵀ J_k,      J_k = ∂h_T/∂h_k = Π_{j=k+1..T} ∂s_j/∂s_{j−1}   (notes 002: ∂s_t/∂s_k)

and the notes' argument: each factor is bounded by some c, so ‖J_k‖ ≲ c^{T−k} vanishes for c < 1
and explodes for c > 1. For the LSTM, J_k is taken with c_k held fixed (the path through h_k);
what the cell state carries past it shows up as the slow decay of the rows further back.

How the numbers are computed (exactly, with the hand-written backward):

* **Every J_k at once.** The backward of a step is linear in (dh_t, dc_t). One pass of the
  cells' own ``step_backward`` from step T down to 1, run on a batch of H copies of one
  sequence's cache (``np.broadcast_to`` views, no copies) with dh_T = I_H (row i = e_i), leaves
  row i of J_k = e_iᵀ J_k in row i of the carried gradient at every k: the exact Jacobians, for
  all k, in T steps of an (H, G·H) × (G·H, H) product.
* **‖∂L/∂h_k‖** = ‖g_bᵀ J_k‖, averaged over the batch (the mean over b of each sequence's norm).
* **‖∂h_T/∂h_k‖₂** = σ_max(J_k) by power iteration on J_kᵀ J_k: vᵀJ_k is a product with the rows
  the backward produced, and J_k v is the same array used the other way round. That is the
  "second backward pass" option taken to its end: the H unit vectors in one batched backward
  give both products exactly. The other option, J_k v by the forward of a perturbation
  (h_T(h_k + εv) − h_T(h_k − εv)) / 2ε, costs T − k forward steps for each k and each iteration
  (O(T²) per iteration) and is only accurate to O(ε²); it is what the tests use to check this.
* **Decay per step**: the slope b of a least-squares fit log ‖·‖ = a + b·d over the distances
  d ≥ 1 with a representable norm; e^b < 1 vanishes, e^b > 1 explodes.

Cost per sequence: T backward steps on H rows, and (T+1)·H² floats for the Jacobians.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.diagnostics.plotting import (
    PLOT_HINT,
    output_dir,
    pyplot,
    save_figure,
    write_csv,
)
from rnnkit.diagnostics.stack import Layer, fresh_layer, top_layer, weight_stats
from rnnkit.errors import RnnkitError

TABLE_DISTANCES = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def sequence_jacobians(layer: Layer, steps, b: int) -> np.ndarray:
    """J (T+1, H, H) for sequence ``b`` of a forward cache: J[d] = ∂h_T/∂h_{T−d}, J[0] = I.

    ``steps`` is the cell's sequence cache (fields (T, B, ·)) from :meth:`Layer.forward`.
    """
    H, cell, T = layer.hidden, layer.cell, len(steps[0])
    J = np.empty((T + 1, H, H))
    J[0] = np.eye(H)
    dnext = (J[0].copy(),) + tuple(np.zeros((H, H)) for _ in range(cell.n_states - 1))  # dh_T = I, dc_T = 0
    for t in reversed(range(T)):
        # step t's cache of sequence b, seen H times: each row carries one e_iᵀ back through the step
        step = type(steps)(*(np.broadcast_to(a[t, b], (H,) + a.shape[2:]) for a in steps))
        _, dnext = cell.step_backward(dnext, step, layer.w_hh)
        J[T - t] = dnext[0]                                    # e_iᵀ ∂h_T/∂h_t in row i
    return J


def spectral_norms(J: np.ndarray, iters: int = 200, tol: float = 1e-9, seed: int = 0) -> np.ndarray:
    """σ_max of each of the N matrices J (N, H, H) by power iteration on JᵀJ.

    Each matrix is first divided by its largest entry (so nothing underflows or overflows when J
    is 1e-200 small or 1e200 large); the iteration stops when no estimate changes by more than ``tol``
    (relative).
    """
    fro = np.abs(J).max(axis=(1, 2))                           # a scale: squares of 1e-200 underflow
    safe = np.where(fro > 0, fro, 1.0)
    A = J / safe[:, None, None]
    v = np.random.default_rng(seed).standard_normal(J.shape[:2])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sigma = np.zeros(len(J))
    for _ in range(iters):
        u = np.einsum("nij,nj->ni", A, v)                      # J v
        new = np.linalg.norm(u, axis=1)
        w = np.einsum("nij,ni->nj", A, u)                      # Jᵀ (J v)
        wn = np.linalg.norm(w, axis=1, keepdims=True)
        v = np.where(wn > 0, w / np.where(wn > 0, wn, 1.0), v)
        done = np.all(np.abs(new - sigma) <= tol * np.maximum(new, 1e-300))
        sigma = new
        if done:
            break
    return np.where(fro > 0, sigma * fro, 0.0)


def decay_rate(norms: np.ndarray) -> float:
    """e^b of the least-squares fit log norm_d = a + b·d over d ≥ 1 where the norm is positive and
    finite: the factor the norm changes by per step back in time (NaN with fewer than two points)."""
    d = np.arange(len(norms))
    ok = (d >= 1) & np.isfinite(norms) & (norms > 1e-290)
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(d[ok], np.log(norms[ok]), 1)[0]
    return float(np.exp(slope))


@dataclass
class Flow:
    """The gradient flow of one cell (at one recurrent scale) over distances 0..T."""

    name: str                     # the CSV column: "lstm", or "lstm@2.0" when several scales are compared
    cell: str
    scale: float
    grad_norm: np.ndarray         # (T+1,) mean over the batch of ‖∂L_b/∂h_{T−d}‖
    jacobian_norm: np.ndarray     # (T+1,) mean over the batch of ‖∂h_T/∂h_{T−d}‖₂
    weights: dict = field(default_factory=dict)  # {gate: (ρ, σ_max)} of W_hh's blocks (scaled)

    @property
    def decay(self) -> float:
        return decay_rate(self.grad_norm)

    @property
    def jacobian_decay(self) -> float:
        return decay_rate(self.jacobian_norm)


def upstream(batch: int, hidden: int, seed: int = 0) -> np.ndarray:
    """g (B, H): one random unit vector per sequence, the upstream gradient ∂L_b/∂h_T."""
    g = np.random.default_rng([seed, 7]).standard_normal((batch, hidden))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def gradient_flow(layer: Layer, x: np.ndarray, name: str, scale: float = 1.0, seed: int = 0) -> Flow:
    """The flow of ``layer`` (W_hh already scaled) over x (T, B, D), time-major, float64."""
    T, B, _ = x.shape
    _, _, cache = layer.forward(np.asarray(x, dtype=np.float64))
    g = upstream(B, layer.hidden, seed)
    grads, jacs = np.zeros(T + 1), np.zeros(T + 1)
    for b in range(B):
        J = sequence_jacobians(layer, cache.steps, b)          # (T+1, H, H)
        grads += np.linalg.norm(np.einsum("i,dij->dj", g[b], J), axis=1)
        jacs += spectral_norms(J, seed=seed)
    return Flow(name, layer.cell.name, scale, grads / B, jacs / B, weight_stats(layer))


def _column(cell: str, scale: float, several: bool) -> str:
    return f"{cell}@{scale:g}" if several else cell


def check_options(cells, hidden: int, T: int, scales, batch: int) -> None:
    """RnnkitError naming the option of the first bad value."""
    if not cells:
        raise RnnkitError("--cell: give at least one cell")
    for name, value in (("--hidden", hidden), ("--T", T), ("--batch", batch)):
        if not isinstance(value, int) or value < 1:
            raise RnnkitError(f"{name}: expected a positive integer, given {value!r}")
    for s in scales:
        if not np.isfinite(s) or s <= 0:
            raise RnnkitError(f"--recurrent-scale: expected positive numbers, given {s!r}")


def fresh_flows(cells=("rnn", "lstm", "gru"), hidden: int = 64, T: int = 200, scales=(1.0,), batch: int = 8,
                input_size: int = 16, seed: int = 0, init: str = "torch") -> list[Flow]:
    """The flow of freshly initialised layers: inputs x ~ N(0, 1) (T, batch, input_size), zero h_0.

    Every cell sees the same inputs and the same upstream gradients (same ``seed``).
    """
    check_options(cells, hidden, T, scales, batch)
    x = np.random.default_rng([seed, 1]).standard_normal((T, batch, input_size))
    several = len(scales) > 1
    return [gradient_flow(fresh_layer(c, hidden, input_size, seed, init).scaled(s), x,
                          _column(c, s, several), s, seed)
            for s in scales for c in cells]


def run_flows(run, T: int = 200, scales=(1.0,), batch: int = 8, seed: int = 0, which: str = "best") -> list[Flow]:
    """:func:`trained_flows` of the ``which`` weights of a run directory."""
    from rnnkit.tasks import open_trained

    check_options(["run"], 1, T, scales, batch)                    # before the model is loaded
    return trained_flows(open_trained(run, which), T, scales, batch, seed)


def trained_flows(trained, T: int = 200, scales=(1.0,), batch: int = 8, seed: int = 0) -> list[Flow]:
    """The flow of the top recurrent layer (forward direction; a translation model's encoder) of a
    :class:`~rnnkit.tasks.Trained` model on the inputs :func:`rnnkit.diagnostics.inputs.trained_inputs`
    draws for its task, from a zero initial state."""
    from rnnkit.diagnostics.inputs import trained_inputs

    check_options(["run"], 1, T, scales, batch)
    p = trained_inputs(trained, T, batch, seed)
    layer, inp = top_layer(p.rnn, p.x)
    name = trained.model.config.cell
    several = len(scales) > 1
    return [gradient_flow(layer.scaled(s), inp, _column(name, s, several), s, seed) for s in scales]


# -- output -----------------------------------------------------------------------------------------------


def summary_rows(flows: list[Flow]) -> list[list]:
    rows = []
    for f in flows:
        gates = " ".join(f"{g}:{rho:.3f}/{sig:.3f}" for g, (rho, sig) in f.weights.items())
        rows.append([f.name, f.cell, f.scale, f.decay, f.jacobian_decay, gates])
    return rows


def format_table(flows: list[Flow]) -> str:
    """The printed table: ‖∂L/∂h_{T−d}‖ at a few distances per cell, then each cell's decay and W_hh."""
    T = len(flows[0].grad_norm) - 1
    ds = [d for d in TABLE_DISTANCES if d <= T] + ([T] if T not in TABLE_DISTANCES else [])
    width = max(12, *(len(f.name) + 2 for f in flows))
    lines = ["‖∂L/∂h_k‖ (loss at step T, batch mean) by distance T−k", "T−k".rjust(6)
             + "".join(f.name.rjust(width) for f in flows)]
    lines += [f"{d:6d}" + "".join(f"{f.grad_norm[d]:{width}.3e}" for f in flows) for d in ds]
    lines.append("")
    lines.append("decay per step back (fitted): of ‖∂L/∂h_k‖ and of ‖∂h_T/∂h_k‖₂; W_hh's H×H blocks: "
                 "spectral radius ρ / largest singular value σ_max")
    lines.append(f"{'cell':<{width}}{'‖∂L/∂h_k‖':>12}{'‖∂h_T/∂h_k‖':>14}   W_hh gate:ρ/σ_max")
    for name, _, _, decay, jdecay, gates in summary_rows(flows):
        lines.append(f"{name:<{width}}{decay:12.4f}{jdecay:14.4f}   {gates}")
    return "\n".join(lines)


def write_gradflow(flows: list[Flow], out) -> tuple[list[Path], bool]:
    """gradflow.csv (‖∂L/∂h_k‖), jacobian.csv (‖∂h_T/∂h_k‖₂), gradflow_summary.csv and gradflow.png
    in ``out``: one row per distance, a ``distance`` column and one column per flow.
    Returns (the files written, whether the plot was made)."""
    out = output_dir(out)
    T = len(flows[0].grad_norm) - 1
    names = ["distance"] + [f.name for f in flows]
    files = [write_csv(out / "gradflow.csv", names, ([d] + [float(f.grad_norm[d]) for f in flows] for d in range(T + 1))),
             write_csv(out / "jacobian.csv", names,
                       ([d] + [float(f.jacobian_norm[d]) for f in flows] for d in range(T + 1))),
             write_csv(out / "gradflow_summary.csv",
                       ["name", "cell", "recurrent_scale", "decay_per_step", "jacobian_decay_per_step", "w_hh_rho_sigma"],
                       summary_rows(flows))]
    png = plot_gradflow(flows, out / "gradflow.png")
    return files + ([png] if png else []), png is not None


def plot_gradflow(flows: list[Flow], path) -> Path | None:
    """Log-scale norm vs distance, one line per flow (left: ‖∂L/∂h_k‖, right: ‖∂h_T/∂h_k‖₂)."""
    plt = pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    d = np.arange(len(flows[0].grad_norm))
    for f in flows:
        for ax, values in zip(axes, (f.grad_norm, f.jacobian_norm)):
            shown = np.where(values > 0, values, np.nan)
            ax.semilogy(d, shown, label=f"{f.name} (×{f.decay:.3f}/step)" if ax is axes[0] else f.name)
    axes[0].set_title("‖∂L/∂h_k‖, loss at the last step T")
    axes[1].set_title("‖∂h_T/∂h_k‖₂ (largest singular value)")
    for ax in axes:
        ax.set_xlabel("distance T − k (steps back in time)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("norm (batch mean)")
    axes[0].legend(fontsize=8)
    return save_figure(fig, path)


__all__ = [
    "PLOT_HINT",
    "Flow",
    "decay_rate",
    "format_table",
    "fresh_flows",
    "gradient_flow",
    "run_flows",
    "sequence_jacobians",
    "spectral_norms",
    "trained_flows",
    "upstream",
    "write_gradflow",
]
