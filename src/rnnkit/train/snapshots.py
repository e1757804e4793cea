"""A trainer's checkpoint: what it holds, how it is committed, how it is read back.

A checkpoint is ``last.safetensors`` (the weights), ``state.safetensors`` (the optimizer's tensors
``opt.*`` and the carried state ``carry.*``) and ``state.json`` (the position, the optimizer's
description, the dropout generators, the log window), committed together through the run's
manifest (:meth:`~rnnkit.train.run.Run.commit`), so a reader sees all three of one step or none.

On several ranks (:mod:`rnnkit.train.distributed`) every rank takes part in :func:`save` (the carried
state of each rank's share of the streams and each rank's generators are gathered) and rank 0 alone
writes. The position is the *global* one (epoch and batch of the global batch), the carried state is
whole, and the generators of every rank are kept in ``rank_rngs``: so a run resumes on any number of
ranks, exactly (bit for bit) on as many as it had.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from rnnkit.errors import RunError
from rnnkit.train.checkpoint import json_bytes, tensor_metadata, tensors_bytes
from rnnkit.train.run import Run, model_bytes
from rnnkit.train.state import TrainState, new_window, restore_rngs, rng_states

CHECKPOINT = ("last.safetensors", "state.safetensors", "state.json")


def save(trainer, extra: dict[str, bytes] | None = None) -> None:
    """Write the logs, then commit the checkpoint files (+ ``extra``) as one; on rank 0 only, with
    every rank's part gathered."""
    s, world = trainer.state, trainer.world
    carried = trainer.obj.carried()           # every rank: a collective when the rows are shared
    rngs = world.allgather(rng_states(trainer.obj.model))
    if not world.root:
        trainer.step_log = []  # rank 0 keeps the log
        return
    if trainer.step_log:
        trainer.run.append_jsonl("steps.jsonl", trainer.step_log)
        trainer.step_log = []
    arrays, meta = trainer.opt.state_dict()
    tensors = {f"opt.{k}": v for k, v in arrays.items()} | {f"carry.{k}": v for k, v in carried.items()}
    info = {"train": asdict(s), "optimizer": meta, "rngs": rngs[0], "window": trainer.window}
    if world.size > 1:
        info["rank_rngs"] = rngs
    files = {"last.safetensors": model_bytes(trainer.obj.model, step=s.step),
             "state.safetensors": tensors_bytes(tensors, {"step": str(s.step)}),
             "state.json": json_bytes(info)} | (extra or {})
    trainer.run.commit(files, step=s.step)


def has_checkpoint(run: Run) -> bool:
    return all(name in run.manifest()["files"] for name in CHECKPOINT)


def load(trainer) -> tuple[TrainState, dict]:
    """Restore the weights, the optimizer, the carried state and the generators of ``trainer`` from its
    run's checkpoint; (the position, the log window). RunError naming the file if any part is bad."""
    run, world = trainer.run, trainer.world
    source = str(run.file("state.json"))
    info = run.read_verified_json("state.json")
    if not isinstance(info, dict) or not {"train", "optimizer", "rngs"} <= set(info):
        raise RunError(f"{source}: expected the keys 'train', 'optimizer' and 'rngs'")
    state = TrainState.from_json(info["train"], source)
    window = info.get("window", new_window())
    if not isinstance(window, dict) or set(window) != set(new_window()) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in window.values()):
        raise RunError(f"{source}: 'window' must hold the numbers loss, n, clipped, norm")
    check_same_step(run, state.step)
    tensors = run.load_tensors("state.safetensors")
    run.load_model("last.safetensors", trainer.obj.model)
    try:
        trainer.opt.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("opt.")},
                                    info["optimizer"])
        trainer.obj.restore_carried({k[6:]: v for k, v in tensors.items() if k.startswith("carry.")})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RunError(f"{run.file('state.safetensors')} / state.json: the optimizer or carried state does not "
                       f"fit this run ({exc})"[:400]) from None
    by_rank = info.get("rank_rngs")
    if isinstance(by_rank, list) and len(by_rank) == world.size:
        restore_rngs(trainer.obj.model, by_rank[world.rank], source)   # the same ranks: exactly as they were
    elif world.root:
        restore_rngs(trainer.obj.model, info["rngs"], source)
    else:  # more ranks than the run had: fresh streams of their own, derived from the seed and the step
        seed_rank_streams(trainer.obj.model, trainer.config.seed, world.rank, state.step)
    return state, dict(window)


def seed_rank_streams(model, seed: int, rank: int, step: int = 0) -> None:
    """Rank ``rank``'s own dropout generators: ``default_rng([seed, rank, step, i])`` for the i-th."""
    owners = [m for _, m in model.named_modules() if hasattr(m, "rng")]
    for i, m in enumerate(owners):
        m.rng = np.random.default_rng([seed, rank, step, i])


def check_same_step(run: Run, step: int) -> None:
    """The three checkpoint files and the manifest must all describe ``step``."""
    manifest = run.manifest()
    steps = {"state.json": step}
    if "step" in manifest:
        steps["manifest.json"] = manifest["step"]
    for name in ("last.safetensors", "state.safetensors"):
        value = tensor_metadata(run.verified(name)).get("step")
        if value is not None:
            steps[name] = int(value) if value.isdigit() else value
    if len(set(steps.values())) > 1:
        shown = ", ".join(f"{k} at step {v}" for k, v in steps.items())
        raise RunError(f"{run.path}: the checkpoint files disagree ({shown})")
