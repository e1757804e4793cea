"""What each page shows, as JSON-ready dicts, computed by the functions the command line uses.

    curves      diagnostics.curves (``rnnkit plot``): its rows (step_row, eval_row) and primary_metric,
                of the lines appended since the page's last read (follow.py)
    playground  the task's own ``sample`` / ``score`` (charlm), ``translate`` and ``predict``
    inside      diagnostics.gates.look_inside (``rnnkit inspect``), its saturated fractions,
                and diagnostics.gradflow.run_flows (``rnnkit gradflow RUN``)

Typed input is checked here before any model sees it: at most ``MAX_CHARS`` characters, text
only (no NUL or other control characters but tab and newline). File paths never come from a
request: a task that reads files (caption, classify on numeric sequences) is not offered in the
playground, and a forecaster continues the run's own series.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np

from rnnkit.diagnostics.curves import eval_row, primary_metric, step_row
from rnnkit.errors import RnnkitError
from rnnkit.serve.follow import parse_position, read_appended
from rnnkit.train.run import Run

MAX_CHARS = 2000          # the longest typed input
MAX_LENGTH = 2000         # the most tokens a sample may draw
MAX_STEPS_SHOWN = 300     # the most steps the heat map shows
MAX_VALUES = 2_000_000    # the most numbers (steps x units x quantities) one look inside may send
LEVELS = 65535            # a heat map's values are sent as uint16 levels between their minimum and maximum
GRADFLOW_T, GRADFLOW_BATCH = 100, 4


class InputRefused(RnnkitError):
    """Typed input that is too long, binary, or of the wrong kind."""


def checked_text(value, name: str = "text", required: bool = True) -> str:
    """``value`` if it is text of at most MAX_CHARS characters (tab and newline allowed); else InputRefused
    naming ``name``."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputRefused(f"{name}: expected text, given {type(value).__name__}")
    if len(value) > MAX_CHARS:
        raise InputRefused(f"{name}: {len(value):,} characters is too long; give at most {MAX_CHARS:,}")
    bad = next((c for c in value if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127), None)
    if bad is not None:
        raise InputRefused(f"{name}: looks binary (it holds the control character {bad!r}); give plain text")
    if required and not value.strip():
        raise InputRefused(f"{name}: empty; type something")
    return value


def checked_number(value, name: str, lo: float, hi: float, integer: bool = False, default=None):
    """A number in [lo, hi] (an integer if ``integer``), or ``default`` when None; InputRefused naming ``name``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (integer and value != int(value)) or not lo <= value <= hi:
        kind = "an integer" if integer else "a number"
        raise InputRefused(f"{name}: expected {kind} from {lo:g} to {hi:g}, given {value!r}")
    return int(value) if integer else float(value)


# -- curves ---------------------------------------------------------------------------------------------


def _finite(x: float):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def curves(path: Path, since: str = "", metric: str = "") -> dict:
    """Training rows (per step, or per evaluation) and validation points of one run, complete lines only,
    those written after ``since`` (the ``since`` of the previous reply; empty: all of them).

    ``restart`` is true when the reply holds everything from the beginning (no ``since``, or a file was
    replaced or cut, as by a run started again): the page drops what it had. ``metric`` keeps the
    validation metric the page already shows. Rows come from steps.jsonl once it has a whole line."""
    try:
        at = [parse_position(p, "since") for p in (since.split("-") if since else ["", ""])]
    except ValueError as exc:
        raise InputRefused(str(exc)) from None
    if len(at) != 2:
        raise InputRefused(f"since: expected two positions joined by '-', given {since!r}")
    if metric and not (metric.startswith("val_") and len(metric) <= 100):
        raise InputRefused(f"metric: expected a val_* name of a previous reply, given {metric[:100]!r}")
    run = Run(path)
    (steps, steps_at, cut), (evals, evals_at, cut_too) = (read_appended(run.file(name), p) for name, p in
                                                          zip(("steps.jsonl", "metrics.jsonl"), at))
    if cut or cut_too or (at[1].offset and not at[0].offset and steps_at.offset):  # started over / steps appeared
        return curves(path)
    rows = [step_row(r) for r in steps] if steps_at.offset else [eval_row(r) for r in evals]
    keys = [k for r in evals for k in r if k.startswith("val_")]
    metric = metric or primary_metric(run, list(dict.fromkeys(keys)))
    return {
        "since": f"{steps_at}-{evals_at}", "restart": not since,
        "source": "steps.jsonl" if steps_at.offset else ("metrics.jsonl" if evals_at.offset else None),
        "train": {name: [_finite(r[i]) if name != "clipped" else bool(r[i]) for r in rows]
                  for i, name in enumerate(("step", "time", "loss", "grad_norm", "clipped", "lr"))},
        "metric": metric,
        "val": {"step": [r.get("step") for r in evals], "time": [_finite(r.get("time")) for r in evals],
                "value": [_finite(r.get(metric)) for r in evals] if metric else []},
    }


# -- playground -----------------------------------------------------------------------------------------

TEXT_PREDICT = ("classify", "tag", "translate", "echo", "copy")


def playground_kind(task: str, model) -> str | None:
    """What the playground offers for a model: "lm" (sample and score), "forecast", "predict", or None."""
    if task == "charlm":
        return "lm"
    if task == "forecast":
        return "forecast"
    if task == "classify" and getattr(model, "vocab", None) is None:
        return None  # it reads numeric sequences from files
    return "predict" if task in TEXT_PREDICT else None


def sample(model, body: dict) -> dict:
    """``rnnkit sample``: the prime followed by ``length`` drawn tokens."""
    prime = checked_text(body.get("prime"), "prime", required=False)
    length = checked_number(body.get("length"), "length", 0, MAX_LENGTH, integer=True, default=200)
    temperature = checked_number(body.get("temperature"), "temperature", 1e-3, 100, default=1.0)
    top_k = checked_number(body.get("top_k"), "top_k", 1, 1e9, integer=True)
    top_p = checked_number(body.get("top_p"), "top_p", 1e-6, 1.0)
    seed = checked_number(body.get("seed"), "seed", 0, 2 ** 32 - 1, integer=True)
    tokens = model.sample(length, temperature, top_k, top_p, prime, seed)
    return {"text": "".join(model.stream_text(tokens, prime)), "prime": prime}


def score(model, body: dict) -> dict:
    """``rnnkit score``: log P(text), perplexity and each token's log-probability."""
    return model.score(checked_text(body.get("text")))


def forecast(task_module, model, body: dict) -> dict:
    """``rnnkit forecast RUN --steps N``: the run's last window (its stored tail) and the next ``steps`` values."""
    steps = checked_number(body.get("steps"), "steps", 1, MAX_LENGTH, integer=True, default=12)
    tail = model.tail
    return {"column": tail["columns"][0], "history": {"time": tail["times"], "value": [r[0] for r in tail["values"]]},
            "forecast": task_module.continue_series(model, steps)}


def predict(task_module, task: str, model, body: dict) -> dict:
    """``rnnkit predict`` (``rnnkit translate`` with beam and n-best) on one typed input."""
    text = checked_text(body.get("text"))
    if task == "translate":
        beam = checked_number(body.get("beam"), "beam", 1, 20, integer=True)
        nbest = checked_number(body.get("nbest"), "nbest", 1, 20, integer=True, default=1)
        return task_module.translate(model, text, beam, nbest)
    return task_module.predict(model, [text])[0]


# -- inside the model -----------------------------------------------------------------------------------


def packed(values: np.ndarray) -> dict:
    """A (T, H) array as uint16 levels between its minimum ``lo`` and maximum ``hi``, little-endian and
    base64 (2 bytes a number instead of ~8 in JSON): v ≈ lo + level · (hi − lo) / LEVELS, within
    (hi − lo) / (2 LEVELS). NaN and ±inf (a diverged model) are sent as 0."""
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isfinite(v), v, 0.0)
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
    span = hi - lo if hi > lo else 1.0
    levels = np.rint((v - lo) / span * LEVELS).astype("<u2")
    return {"shape": list(v.shape), "lo": lo, "hi": hi, "levels": base64.b64encode(levels.tobytes()).decode("ascii")}


def _check_size(steps: int, results: list) -> None:
    per_step = sum(q.values.shape[1] for r in results for q in r.quantities)
    if steps * per_step > MAX_VALUES:
        raise InputRefused(f"text: {steps} steps × {per_step:,} numbers a step (every gate and state of every "
                           f"layer) is more than the {MAX_VALUES:,} one look inside may show; give at most "
                           f"{max(1, MAX_VALUES // per_step)} characters")


def inside(path: Path, text: str, which: str = "best") -> dict:
    """``rnnkit inspect``: per layer and direction, each gate and state (T, H) (:func:`packed`) and its
    saturated fraction. An empty ``text`` looks at what the task reads without one (as ``rnnkit inspect``
    without --text): a toy task's generated example, a forecaster's last window, a caption of the run's
    first vector. More than MAX_VALUES numbers in all is refused, naming the longest text that fits."""
    from rnnkit.diagnostics.gates import look_inside, saturated

    text = checked_text(text, required=False) if text is not None else ""
    got = look_inside(str(path), text if text.strip() else None, which=which, max_tokens=MAX_STEPS_SHOWN)
    _check_size(len(got.tokens), got.results)
    layers = [{"layer": r.layer, "direction": r.direction, "cell": r.cell,
               "quantities": [{"name": q.name, "kind": q.kind, **packed(q.values),
                               "saturated": _finite(float(np.mean(saturated(q))))} for q in r.quantities]}
              for r in got.results]
    return {"tokens": got.tokens, "what": got.what, "axis": got.axis, "layers": layers}


def gradflow(path: Path, which: str = "best") -> dict:
    """``rnnkit gradflow RUN``: ‖∂L/∂h_{T−d}‖ and ‖∂h_T/∂h_{T−d}‖ against the distance d."""
    from rnnkit.diagnostics.gradflow import run_flows

    flow = run_flows(str(path), T=GRADFLOW_T, batch=GRADFLOW_BATCH, which=which)[0]
    return {"cell": flow.cell, "distance": list(range(len(flow.grad_norm))),
            "grad_norm": [_finite(float(v)) for v in flow.grad_norm],
            "jacobian_norm": [_finite(float(v)) for v in flow.jacobian_norm],
            "decay": _finite(flow.decay), "jacobian_decay": _finite(flow.jacobian_decay)}
