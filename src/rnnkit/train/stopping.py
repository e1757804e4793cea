"""Why a run stopped, in words: what early stopping saw and what budget it left unused.

A run that stops early with budget left says so, with what it would have needed to go on:

    early stopping at step 1,200 (2 min 15 s): val_accuracy has not beaten its best, 0.9270 at step 600,
    in 5 evaluations (--patience 5); it would have needed a val_accuracy above 0.9270 by step 1,200.
    Unused: 7 min 45 s of --time-limit 10 min. To spend it, raise --patience (0 turns early stopping off).

A run that spent its whole budget although its best came in the first half and was not beaten in the
STALE_EVALS or more evaluations after it says that too: the rest of the budget bought nothing, and what
would have used it.
"""
from __future__ import annotations

STALE_EVALS, STALE_SHARE = 10, 0.5  # evaluations without a new best, and the share of the run the best came within


def duration(seconds: float) -> str:
    """``125.3`` -> ``"2 min 5 s"``; under a minute ``"42 s"``; from an hour ``"1 h 5 min"``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 // 60 else "")


def unused_budget(step: int, elapsed: float, total_steps: int | None, time_limit: float | None) -> str | None:
    """The budget left when stopping early: time (``--time-limit``) and/or steps (``--epochs``, ``--max-steps``)."""
    parts = []
    if time_limit and time_limit - elapsed >= 1:
        parts.append(f"{duration(time_limit - elapsed)} of --time-limit {duration(time_limit)}")
    if total_steps and total_steps > step:
        parts.append(f"{total_steps - step:,} of {total_steps:,} steps")
    return " and ".join(parts) or None


def early_stop_reason(metric: str, mode: str, best: float, best_step: int, step: int, elapsed: float,
                      patience: int, total_steps: int | None, time_limit: float | None) -> str:
    """What early stopping saw, what going on would have needed, and the budget it left (see the module)."""
    better = "above" if mode == "max" else "below"
    text = (f"early stopping at step {step:,} ({duration(elapsed)}): {metric} has not beaten its best, {best:.4f} at "
            f"step {best_step:,}, in {patience} evaluations (--patience {patience}); going on would have needed a "
            f"{metric} {better} {best:.4f} by step {step:,}.")
    unused = unused_budget(step, elapsed, total_steps, time_limit)
    if unused:
        text += f" Unused: {unused}. To spend it, raise --patience (0 turns early stopping off)."
    return text


def stale_best_reason(metric: str, best: float | None, best_step: int | None, step: int,
                      evals_since: int) -> str | None:
    """Why a run that used its whole budget did not need most of it: its best came within the first
    STALE_SHARE of the steps and ``evals_since`` ≥ STALE_EVALS evaluations did not beat it; else None."""
    if best is None or best_step is None or evals_since < STALE_EVALS or best_step > STALE_SHARE * step:
        return None
    return (f"{metric}'s best, {best:.4f}, came at step {best_step:,} ({best_step / step:.0%} of the run's {step:,} "
            f"steps) and was not beaten in the {evals_since} evaluations after it: the rest of the budget bought "
            f"nothing. Usually the model goes on fitting its training data closer while the validation data gets "
            f"no better (overfitting); best.safetensors keeps the weights of step {best_step:,}. A smaller or more "
            f"regularised model (--hidden, --dropout) or more training data would use the budget; --patience 5 "
            f"stops such a run early and gives the time back.")


def stop_notes(trainer, stopped: str) -> dict:
    """``{"stop_reason": ...}`` for a :class:`~rnnkit.train.trainer.Trainer` that stopped early, or that spent its
    budget with a best that came early (:func:`stale_best_reason`), else ``{}``."""
    s, cfg, obj = trainer.state, trainer.config, trainer.obj
    if stopped == "budget":
        reason = stale_best_reason(obj.metric, s.best, s.best_step, s.step, s.bad_evals)
        return {} if reason is None else {"stop_reason": reason}
    if stopped != "early stopping":
        return {}
    return {"stop_reason": early_stop_reason(obj.metric, obj.mode, s.best, s.best_step, s.step, s.elapsed,
                                             cfg.patience, trainer.budget.total_steps, cfg.time_limit)}
