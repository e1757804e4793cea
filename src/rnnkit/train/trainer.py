"""The training loop every task shares.

A task hands the trainer an *objective*: the model, an epoch of batches, one
training step (forward, loss, backward), an evaluation, and the tensors it
carries from step to step (the truncated-BPTT state). The trainer owns
everything else: the optimizer, gradient clipping, the learning-rate
schedule, the budget (epochs, steps, wall-clock time), evaluation, early
stopping, checkpoints, resuming, the progress bar and the summary.

Per step:  zero grads → objective.train_step → clip_grad_norm → lr schedule → opt.step

Epoch e draws its randomness from ``default_rng([seed, e])``, so a resumed
run replays the same batch order and can skip to where it stopped.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator, Protocol

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.nn.module import Module
from rnnkit.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm, grad_norm
from rnnkit.train.config import TrainConfig
from rnnkit.train.progress import Progress, summary_table
from rnnkit.train.run import Run
from rnnkit.train.schedules import learning_rate


class Objective(Protocol):
    """What a task gives the trainer."""

    model: Module
    metric: str   # the key of evaluate()'s result used for best/early stopping
    mode: str     # "min" or "max"
    unit: str     # what train_step counts, for throughput: "chars", "examples"...

    def steps_per_epoch(self) -> int: ...
    def batches(self, rng: np.random.Generator) -> Iterator: ...
    def start_epoch(self) -> None: ...
    def train_step(self, batch) -> tuple[float, int]: ...
    def evaluate(self) -> dict[str, float]: ...
    def carried(self) -> dict[str, np.ndarray]: ...
    def restore_carried(self, tensors: dict[str, np.ndarray]) -> None: ...


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


def make_optimizer(config: TrainConfig):
    kinds = {"adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "sgd": SGD, "adagrad": Adagrad}
    kwargs = {"lr": config.lr}
    if config.weight_decay and config.optimizer in ("adam", "adamw", "sgd", "rmsprop"):
        kwargs["weight_decay"] = config.weight_decay
    if config.optimizer == "sgd":
        kwargs["momentum"] = 0.9
    return kinds[config.optimizer](**kwargs)


def _rng_states(model: Module) -> dict:
    return {name: m.rng.bit_generator.state for name, m in model.named_modules() if hasattr(m, "rng")}


def _restore_rngs(model: Module, states: dict) -> None:
    for name, m in model.named_modules():
        if name in states:
            m.rng.bit_generator.state = states[name]


class Trainer:
    """Train ``objective`` under ``config``, writing everything into ``run``."""

    def __init__(self, objective: Objective, config: TrainConfig, run: Run, default_epochs: int = 1):
        self.obj, self.config, self.run = objective, config, run
        self.opt = make_optimizer(config)
        self.state = TrainState()
        self.spe = max(1, objective.steps_per_epoch())
        no_budget = config.epochs is None and config.max_steps is None and config.time_limit is None
        self.epochs = default_epochs if no_budget else config.epochs
        self.records = run.metrics()

    # -- budget -------------------------------------------------------------------
    def total_steps(self) -> int | None:
        limits = [n for n in (self.config.max_steps, self.epochs and self.epochs * self.spe) if n]
        return min(limits) if limits else None

    def _progress_fraction(self) -> float:
        total, limit = self.total_steps(), self.config.time_limit
        parts = [self.state.step / total] if total else []
        parts += [self.state.elapsed / limit] if limit else []
        return max(parts) if parts else 0.0

    def _out_of_budget(self) -> bool:
        total, limit = self.total_steps(), self.config.time_limit
        return bool((total and self.state.step >= total) or (limit and self.state.elapsed >= limit))

    # -- checkpoints ----------------------------------------------------------------
    def save_checkpoint(self) -> None:
        arrays, meta = self.opt.state_dict()
        tensors = {f"opt.{k}": v for k, v in arrays.items()}
        tensors |= {f"carry.{k}": v for k, v in self.obj.carried().items()}
        self.run.save_model("last.safetensors", self.obj.model, step=self.state.step)
        self.run.save_tensors("state.safetensors", tensors)
        self.run.write_json("state.json", {"train": asdict(self.state), "optimizer": meta,
                                           "rngs": _rng_states(self.obj.model)})

    def resume(self) -> None:
        """Continue from the run's last checkpoint (weights, optimizer, position, RNGs, carried state)."""
        info = self.run.read_json("state.json")
        self.state = TrainState(**info["train"])
        self.run.load_model("last.safetensors", self.obj.model)
        tensors = self.run.load_tensors("state.safetensors")
        self.opt.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("opt.")}, info["optimizer"])
        self.obj.restore_carried({k[6:]: v for k, v in tensors.items() if k.startswith("carry.")})
        _restore_rngs(self.obj.model, info["rngs"])
        self.records = [r for r in self.run.metrics() if r["step"] <= self.state.step]

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, window: dict) -> dict:
        s = self.state
        self.obj.model.eval()
        result = self.obj.evaluate()
        self.obj.model.train()
        value = result[self.obj.metric]
        better = s.best is None or (value < s.best if self.obj.mode == "min" else value > s.best)
        if better:
            s.best, s.best_step, s.bad_evals = float(value), s.step, 0
            self.run.save_model("best.safetensors", self.obj.model, step=s.step, **{self.obj.metric: value})
        else:
            s.bad_evals += 1
        s.last_eval_step = s.step
        record = {"step": s.step, "epoch": s.epoch, "time": round(s.elapsed, 3), **window,
                  **{k: float(v) for k, v in result.items()}}
        self.records.append(record)
        self.run.write_metrics(self.records)
        self.save_checkpoint()
        return record

    def _eval_due(self, end_of_epoch: bool) -> bool:
        every = self.config.eval_every
        return (self.state.step % every == 0) if every else end_of_epoch

    # -- the loop ------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train until the budget, early stopping or Ctrl-C; return the summary (also written).

        The first Ctrl-C finishes the current step, writes a checkpoint and
        stops cleanly (``rnnkit train --resume`` continues); a second one aborts.
        """
        cfg, s, obj = self.config, self.state, self.obj
        bar = Progress(self.total_steps(), s.step, obj.unit, disable=cfg.quiet, time_limit=cfg.time_limit)
        start = time.perf_counter() - s.elapsed
        window = {"loss": 0.0, "n": 0, "clipped": 0, "norm": 0.0}
        self.stop_requested = stopped_early = False
        obj.model.train()
        with self._sigint_requests_stop(bar), bar:
            while not (self._out_of_budget() or stopped_early or self.stop_requested):
                batches = obj.batches(np.random.default_rng([cfg.seed, s.epoch]))
                if s.batch_in_epoch == 0:
                    obj.start_epoch()
                for i, batch in enumerate(batches):
                    if i < s.batch_in_epoch:
                        continue  # resuming mid-epoch: these were done before the interruption
                    loss, items = self._step(batch, window)
                    s.batch_in_epoch, s.items = i + 1, s.items + items
                    s.elapsed = time.perf_counter() - start
                    if self._eval_due(i + 1 == self.spe) or self._out_of_budget():
                        rec = self.evaluate(self._window_summary(window))
                        s.elapsed = time.perf_counter() - start
                        bar.set_metric(obj.metric, rec[obj.metric])
                        stopped_early = bool(cfg.patience and s.bad_evals >= cfg.patience)
                    elif cfg.checkpoint_every and s.step % cfg.checkpoint_every == 0:
                        self.save_checkpoint()
                    bar.update(s.step, loss, s.items / max(s.elapsed, 1e-9), s.elapsed)
                    if self._out_of_budget() or stopped_early or self.stop_requested:
                        break
                else:
                    s.epoch, s.batch_in_epoch = s.epoch + 1, 0
        if self.stop_requested:
            self.save_checkpoint()
        elif s.last_eval_step != s.step:
            self.evaluate(self._window_summary(window))
        return self._finish(self.stop_requested, stopped_early)

    @contextmanager
    def _sigint_requests_stop(self, bar: Progress):
        """While training, Ctrl-C asks for a clean stop after the current step."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            bar.write("Ctrl-C: stopping after this step and writing a checkpoint (Ctrl-C again to abort)")

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _step(self, batch, window: dict) -> tuple[float, int]:
        cfg, s, model = self.config, self.state, self.obj.model
        model.zero_grad()
        loss, items = self.obj.train_step(batch)
        grads = model.gradients()
        norm = clip_grad_norm(grads, cfg.clip) if cfg.clip else grad_norm(grads)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise RnnkitError(f"training diverged at step {s.step + 1}: loss {loss}, gradient norm {norm}; "
                              f"try a smaller --lr or a --clip value")
        clipped = bool(cfg.clip and norm > cfg.clip)
        self.opt.lr = learning_rate(cfg.schedule, cfg.lr, s.step, self._progress_fraction(), cfg.lr_step, cfg.lr_gamma)
        self.opt.step(model.parameters(), grads)
        s.step += 1
        s.clipped += clipped
        window["loss"] += loss
        window["n"] += 1
        window["clipped"] += clipped
        window["norm"] = max(window["norm"], norm)
        return loss, items

    def _window_summary(self, window: dict) -> dict:
        n = max(window["n"], 1)
        out = {"train_loss": window["loss"] / n, "lr": self.opt.lr, "max_grad_norm": window["norm"],
               "clipped_steps": window["clipped"]}
        window.update(loss=0.0, n=0, clipped=0, norm=0.0)
        return out

    def _finish(self, interrupted: bool, stopped_early: bool) -> dict:
        s, obj = self.state, self.obj
        summary = {
            "run": str(self.run.path), "steps": s.step, "epochs": round(s.step / self.spe, 3),
            "time_s": round(s.elapsed, 2), f"{obj.unit}_per_s": round(s.items / max(s.elapsed, 1e-9), 1),
            f"best_{obj.metric}": s.best, "best_step": s.best_step,
            "clipped_fraction": round(s.clipped / max(s.step, 1), 4),
            "stopped": "interrupted" if interrupted else "early stopping" if stopped_early else "budget",
        }
        if self.records:
            summary["last"] = self.records[-1]
        self.run.write_json("summary.json", summary)
        if not self.config.quiet:
            print(summary_table(summary), flush=True)
        return summary
