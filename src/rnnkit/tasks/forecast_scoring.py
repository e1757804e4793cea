"""forecast's scores: rolling-origin forecasts of a forecaster, their errors, and the two baselines.

Every origin o before the end of the rows scored forecasts y_{o+1} … y_{o+h} from the true history up to o;
every forecast of a scored value counts. MAE, RMSE and MAPE (%; None when some actual value is 0), of the
model and, on the same forecasts, of

    naive            ŷ_{o+k} = y_o                       (the last value)
    seasonal naive   ŷ_{o+k} = y_{o+k−s⌈k/s⌉}             (the value one season earlier)

Legend: M forecasts scored, h the horizon, s the season.
"""
from __future__ import annotations

import numpy as np

from rnnkit.tasks.forecaster import Forecaster

METHODS = ("model", "naive", "seasonal_naive")


def rolling_origins(model: Forecaster, start: int, end: int) -> np.ndarray:
    """The origins whose forecasts reach into rows [start, end)."""
    return np.arange(max(start - model.horizon, model.first_origin), end - 1)


def rolling(model: Forecaster, values: np.ndarray, start: int, end: int, season: int | None,
            source: str = "the series", origins: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every rolling-origin forecast of rows [start, end): actual, model, naive and seasonal-naive (M,);
    of the ``origins`` given only (a share of :func:`rolling_origins`), if given."""
    h = model.horizon
    origins = rolling_origins(model, start, end) if origins is None else origins
    pred = model.forecast(values[:end], origins, source)                             # (B, h)
    k = np.arange(1, h + 1)
    target = origins[:, None] + k                                                    # (B, h)
    keep = (target >= start) & (target < end)
    y = values[:, 0]
    out = {"actual": y[target[keep]], "model": pred[keep],
           "naive": np.broadcast_to(y[origins][:, None], target.shape)[keep]}
    if season:
        back = target - season * np.ceil(k / season).astype(np.int64)
        if np.all(back[keep] >= 0):
            out["seasonal_naive"] = y[back[keep]]
    return out


def errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE and MAPE (%, None if an actual value is 0)."""
    e = predicted - actual
    mape = None if np.any(actual == 0) else float(np.mean(np.abs(e / actual)) * 100)
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e))), "mape": mape}


def error_sums(actual: np.ndarray, predicted: np.ndarray) -> list:
    """[Σ|e|, Σe², M]: what MAE and RMSE of M forecasts are made of, to be added up over shares."""
    e = predicted - actual
    return [float(np.sum(np.abs(e))), float(np.sum(e * e)), int(e.size)]


def score(forecasts: dict[str, np.ndarray], prefix: str = "") -> dict:
    """``{prefix}mae``, ... of the model and ``naive_{prefix}mae``, ... of the baselines."""
    out = {f"{prefix}points": int(len(forecasts["actual"]))}
    for method in METHODS:
        if method in forecasts:
            head = "" if method == "model" else method + "_"
            out |= {f"{head}{prefix}{k}": v for k, v in errors(forecasts["actual"], forecasts[method]).items()}
    return out


def format_comparison(result: dict, prefix: str = "", title: str = "") -> str:
    """A table: one row per method (model, naive, seasonal naive), columns MAE, RMSE, MAPE."""
    lines = [title] if title else []
    lines.append(f"{'method':<16}{'MAE':>12}{'RMSE':>12}{'MAPE %':>10}")
    for method in METHODS:
        head = "" if method == "model" else method + "_"
        if f"{head}{prefix}mae" not in result:
            continue
        mape = result[f"{head}{prefix}mape"]
        lines.append(f"{method.replace('_', ' '):<16}{result[f'{head}{prefix}mae']:>12.4g}"
                     f"{result[f'{head}{prefix}rmse']:>12.4g}{'-' if mape is None else f'{mape:.2f}':>10}")
    return "\n".join(lines)
