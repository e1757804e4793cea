"""Where training is, all of it that a checkpoint must hold to resume exactly.

:class:`TrainState` is the position and the bookkeeping (step, epoch, batch within the epoch, elapsed
time, best metric, early-stopping count, divergence rollbacks); the *window* sums the steps since the
last evaluation (loss, count, clipped steps, largest gradient norm); the random generators of the
model's dropout layers are saved and restored by name.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from rnnkit.errors import RunError
from rnnkit.nn.module import Module


@dataclass
class TrainState:
    """Where training is: enough to resume exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    clipped: int = 0
    items: int = 0
    last_eval_step: int = -1
    lr_scale: float = 1.0   # halved by every divergence rollback
    rollbacks: int = 0

    @classmethod
    def from_json(cls, d, source: str) -> "TrainState":
        """Rebuild from state.json's "train" entry; RunError naming the file and key if malformed."""
        if not isinstance(d, dict):
            raise RunError(f"{source}: 'train' must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise RunError(f"{source}: unknown key(s) in 'train': {', '.join(unknown)}")
        for name, value in d.items():
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            nullable = name in ("best", "best_step")
            floating = name in ("elapsed", "best", "lr_scale")
            if not ((value is None and nullable) or (numeric and (floating or isinstance(value, int)))):
                raise RunError(f"{source}: train.{name}: expected {'a number' if floating else 'an integer'}, "
                               f"given {value!r}"[:200])
            if numeric and name not in ("best", "last_eval_step") and value < 0:
                raise RunError(f"{source}: train.{name}: expected a value >= 0, given {value!r}")
        if not 0 < d.get("lr_scale", 1.0) <= 1:
            raise RunError(f"{source}: train.lr_scale: expected a number in (0, 1], given {d['lr_scale']!r}")
        return cls(**d)


def rng_states(model: Module) -> dict:
    return {name: m.rng.bit_generator.state for name, m in model.named_modules() if hasattr(m, "rng")}


def restore_rngs(model: Module, states, source: str) -> None:
    owners = {name: m for name, m in model.named_modules() if hasattr(m, "rng")}
    if not isinstance(states, dict) or not set(states) <= set(owners):
        raise RunError(f"{source}: 'rngs' must map the model's random generators ({', '.join(owners) or 'none'}) "
                       f"to their states"[:300])
    for name, m in owners.items():
        if name in states:
            try:
                m.rng.bit_generator.state = states[name]
            except (TypeError, ValueError, KeyError) as exc:
                raise RunError(f"{source}: rngs.{name or '<model>'}: not a random-generator state ({exc})") from None


def new_window() -> dict:
    return {"loss": 0.0, "n": 0, "clipped": 0, "norm": 0.0}
