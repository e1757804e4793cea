"""What each page shows, as JSON-ready dicts, computed by the functions the command line uses.

    curves      diagnostics.curves (``rnnkit plot``): its rows (step_row, eval_row) and primary_metric,
                of the lines appended since the page's last read (follow.py)
    playground  the task's own ``sample`` / ``score`` (charlm), ``translate`` and ``predict``
    inside      diagnostics.gates.look_inside_trained (``rnnkit inspect``), its saturated fractions,
                and diagnostics.gradflow.trained_flows (``rnnkit gradflow RUN``), of the playground's model

Typed input is checked here before any model sees it: at most ``MAX_CHARS`` characters, text
only (no NUL or other control characters but tab and newline). File paths never come from a
request: a caption model reads typed vectors, an uploaded .npz (its bytes) or a row of the run's own
data, a classifier of numeric sequences a typed sequence, and a forecaster continues the run's series.
"""
from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np

from rnnkit.diagnostics.curves import TRAIN_COLUMNS, eval_row, primary_metric, step_row, val_metrics
from rnnkit.data.tables import npz_from_bytes
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
    metric = metric or primary_metric(run, val_metrics(evals))
    return {
        "since": f"{steps_at}-{evals_at}", "restart": not since,
        "source": "steps.jsonl" if steps_at.offset else ("metrics.jsonl" if evals_at.offset else None),
        "train": {name: [_finite(r[i]) if name != "clipped" else bool(r[i]) for r in rows]
                  for i, name in enumerate(TRAIN_COLUMNS[1:7])},  # a row: step_row's columns
        "metric": metric,
        "val": {"step": [r.get("step") for r in evals], "time": [_finite(r.get("time")) for r in evals],
                "value": [_finite(r.get(metric)) for r in evals] if metric else []},
    }


# -- playground -----------------------------------------------------------------------------------------

PREDICT = ("classify", "tag", "translate", "echo", "copy", "adding", "caption")
MAX_ROWS = 200            # the most vectors an uploaded .npz may hold


def playground_kind(task: str) -> str | None:
    """What the playground offers for a task: "lm" (sample and score), "forecast", "predict", or None."""
    if task == "charlm":
        return "lm"
    if task == "forecast":
        return "forecast"
    return "predict" if task in PREDICT else None


def input_hint(task: str, model) -> str:
    """What the playground's input of a ``task`` model holds, in the model's sizes."""
    c = model.config
    if task == "echo":
        return f"{c.length} integers in 0..{c.features - 1}, spaces between; the model says the one at index {c.index}"
    if task == "copy":
        return f"{c.symbols} symbols in 1..{c.alphabet}, spaces between; the model repeats them after {c.lag} blanks"
    if task == "adding":
        return (f"{c.lag} numbers in [0, 1], two of them marked with a trailing * (one in the first {c.lag // 2}, "
                f"one in the rest); the model adds the marked two")
    if task == "classify" and model.vocab is None:
        return f"a sequence: one step a line, {c.features} number(s) a step (spaces or commas between)"
    if task == "caption":
        return f"vectors of {model.features} numbers, one a line (spaces or commas between), or a row of the run's data"
    return "a text"


def example_input(task: str, model) -> str:
    """A typed input for a toy ``task`` (its own generator's example, seed 0), else the empty text."""
    from rnnkit.tasks import toy

    c, rng = model.config, np.random.default_rng(0)
    if task == "echo":
        return " ".join(map(str, toy.echo_examples(rng, 1, c.length, c.features, c.index).x[0].argmax(-1)))
    if task == "copy":
        return " ".join(map(str, rng.integers(1, c.alphabet + 1, c.symbols)))
    if task == "adding":
        x = toy.adding_examples(rng, 1, c.lag, "float64").x[0]                       # (T, 2): u_t, m_t
        return " ".join(f"{u:.2f}{'*' if m else ''}" for u, m in x)
    return ""


def checked_numbers(value, name: str) -> np.ndarray:
    """Typed numbers, one row a line, spaces or commas between (at most MAX_CHARS characters) -> (N, D) float64;
    InputRefused naming ``name`` and the line for anything else."""
    rows = []
    for k, line in enumerate(checked_text(value, name).splitlines(), 1):
        words = line.replace(",", " ").split()
        try:
            row = [float(w) for w in words]
        except ValueError:
            raise InputRefused(f"{name}, line {k}: expected numbers, given {line.strip()[:40]!r}") from None
        if not all(map(math.isfinite, row)):
            raise InputRefused(f"{name}, line {k}: NaN or infinity; give finite numbers")
        if rows and row and len(row) != len(rows[0]):
            raise InputRefused(f"{name}, line {k}: {len(row)} number(s); the first line has {len(rows[0])}")
        rows += [row] if row else []
    return np.array(rows, dtype=np.float64)


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
    """``rnnkit predict`` (``rnnkit translate`` with beam and n-best) on one typed input: a text, a toy
    task's numbers, or a numeric sequence (one step a line) for a classifier of sequences."""
    if task == "caption":
        return caption(task_module, model, body)
    if task == "translate":
        beam = checked_number(body.get("beam"), "beam", 1, 20, integer=True)
        nbest = checked_number(body.get("nbest"), "nbest", 1, 20, integer=True, default=1)
        return task_module.translate(model, checked_text(body.get("text")), beam, nbest)
    if task == "classify" and model.vocab is None:
        seq = checked_numbers(body.get("text"), "text")
        one_line = len(seq) == 1 and model.config.features == 1   # "1 2 3" is three steps of one feature
        return task_module.predict(model, [seq.T if one_line else seq])[0]
    return task_module.predict(model, [checked_text(body.get("text"))])[0]


def caption(task_module, model, body: dict) -> dict:
    """``rnnkit predict RUN vectors.npz``: a caption of each vector, typed (``vectors``, one a line), uploaded
    (``npz``: an .npz with ``vectors``, base64), or row ``row`` of the run's own data (with its caption)."""
    given = [k for k in ("vectors", "npz", "row") if body.get(k) not in (None, "")]
    if len(given) != 1:
        raise InputRefused(f"give one of vectors (typed), npz (an uploaded .npz) or row (of the run's data); "
                           f"given {', '.join(given) or 'none'}")
    names, truth = None, None
    if given == ["row"]:
        data, captions = task_module.read_captioned(model.config.data)
        row = checked_number(body["row"], "row", 0, len(data) - 1, integer=True)
        vectors, truth = data[row:row + 1], captions[row]
        names = [f"row {row} of {model.config.data[0] if model.config.data else 'the bundled digits'}"]
    elif given == ["npz"]:
        if not isinstance(body["npz"], str):
            raise InputRefused("npz: expected the file's bytes in base64")
        try:
            data = base64.b64decode(body["npz"], validate=True)
        except ValueError:
            raise InputRefused("npz: expected the file's bytes in base64") from None
        vectors = task_module.vectors_of(npz_from_bytes(data, "the uploaded file", task_module.CAPTION_ARRAYS),
                                         "the uploaded file")
        if len(vectors) > MAX_ROWS:
            raise InputRefused(f"the uploaded file: {len(vectors)} vectors; give at most {MAX_ROWS}")
    else:
        vectors = checked_numbers(body["vectors"], "vectors")
    said = task_module.predict(model, [vectors])
    return {"features": model.features, "truth": truth,
            "captions": [{**r, "input": names[i] if names else r["input"], "vector": v.tolist()}
                         for i, (r, v) in enumerate(zip(said, vectors))]}


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


def inside(trained, text: str) -> dict:
    """``rnnkit inspect`` of a :class:`~rnnkit.tasks.Trained` model: per layer and direction, each gate and
    state (T, H) (:func:`packed`) and its saturated fraction. An empty ``text`` looks at what the task reads
    without one (as ``rnnkit inspect`` without --text): a toy task's generated example, a forecaster's last
    window, a caption of the run's first vector. More than MAX_VALUES numbers in all is refused, naming the
    longest text that fits."""
    from rnnkit.diagnostics.gates import look_inside_trained, saturated

    text = checked_text(text, required=False) if text is not None else ""
    got = look_inside_trained(trained, text if text.strip() else None, max_tokens=MAX_STEPS_SHOWN)
    _check_size(len(got.tokens), got.results)
    layers = [{"layer": r.layer, "direction": r.direction, "cell": r.cell,
               "quantities": [{"name": q.name, "kind": q.kind, **packed(q.values),
                               "saturated": _finite(float(np.mean(saturated(q))))} for q in r.quantities]}
              for r in got.results]
    return {"tokens": got.tokens, "what": got.what, "axis": got.axis, "layers": layers}


def gradflow(trained) -> dict:
    """``rnnkit gradflow RUN`` of a :class:`~rnnkit.tasks.Trained` model: ‖∂L/∂h_{T−d}‖ and ‖∂h_T/∂h_{T−d}‖
    against the distance d."""
    from rnnkit.diagnostics.gradflow import trained_flows

    flow = trained_flows(trained, T=GRADFLOW_T, batch=GRADFLOW_BATCH)[0]
    return {"cell": flow.cell, "distance": list(range(len(flow.grad_norm))),
            "grad_norm": [_finite(float(v)) for v in flow.grad_norm],
            "jacobian_norm": [_finite(float(v)) for v in flow.jacobian_norm],
            "decay": _finite(flow.decay), "jacobian_decay": _finite(flow.jacobian_decay)}
