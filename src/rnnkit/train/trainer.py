"""The training loop every task shares.

A task hands the trainer an *objective*: the model, an epoch of batches, one
training step (forward, loss, backward), an evaluation, and the tensors it
carries from step to step (the truncated-BPTT state). The trainer owns
everything else: the optimizer, gradient clipping, the learning-rate
schedule, the budget (epochs, steps, wall-clock time), evaluation, early
stopping, checkpoints, resuming, the divergence guard, the progress bar and
the summary.

Per step:  zero grads → objective.train_step → check loss and gradients are finite
           → clip_grad_norm → lr = schedule(step) · lr_scale → opt.step

Epoch e draws its randomness from ``default_rng([seed, e])``, so a resumed
run replays the same batch order and can skip to where it stopped.

Exact resume: a checkpoint (``last.safetensors`` + ``state.safetensors`` +
``state.json``, committed together through the run's manifest, see
:class:`~rnnkit.train.run.Run`) holds the weights, the optimizer state, the
carried state, the position (epoch, batch), the dropout generators' states,
the learning-rate scale and the running log window. A run killed at any
moment and resumed from it ends with the same weights, bit for bit, as a run
that was never interrupted. One checkpoint is written before the first step,
so even a run killed at once can be resumed (:mod:`rnnkit.train.snapshots`).

On several ranks (``world``, :mod:`rnnkit.train.distributed`) each rank runs the objective's step on
its share of the global batch and one Allreduce makes the gradient, the loss, the count, the clock
(rank 0's) and any stop request the same on every rank, before the same clipping and optimizer step.
Every rank evaluates (sharing the work, if the objective does) and checkpoints; rank 0 alone writes.

Divergence guard: a step whose loss or gradient is not finite is stopped
before the weights change (:class:`~rnnkit.errors.DivergenceError` names the
step and the parameter). With ``--on-nan rollback`` (the default) the trainer
reloads the last checkpoint, halves the learning rate (``lr_scale``, kept in
the state) and goes on, at most ``--max-rollbacks`` times; then, or with
``--on-nan stop``, it writes the summary and raises the error.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Iterator, Protocol

import numpy as np

from rnnkit.errors import DivergenceError, RnnkitError
from rnnkit.nn.module import Module
from rnnkit.nn.recurrent import Recurrent
from rnnkit.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm, grad_norm
from rnnkit.train import snapshots
from rnnkit.train.budget import Budget
from rnnkit.train.config import TrainConfig
from rnnkit.train.distributed import SINGLE, World, copy_files, mean_gradients
from rnnkit.train.progress import Progress, summary_table
from rnnkit.train.run import MANIFEST, Run, model_bytes
from rnnkit.train.schedules import learning_rate
from rnnkit.train.state import TrainState, new_window
from rnnkit.train.stopping import stop_notes


class Objective(Protocol):
    """What a task gives the trainer (``summary_extras() -> dict`` is optional, and so are
    ``distribute(world)`` and ``share(batch) -> (this rank's part, its weight)``, which training on
    several ranks needs: see :mod:`rnnkit.train.distributed`)."""

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


def make_optimizer(config: TrainConfig):
    kinds = {"adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "sgd": SGD, "adagrad": Adagrad}
    kwargs = {"lr": config.lr}
    if config.weight_decay and config.optimizer in ("adam", "adamw", "sgd", "rmsprop"):
        kwargs["weight_decay"] = config.weight_decay
    if config.optimizer == "sgd":
        kwargs["momentum"] = 0.9
    return kinds[config.optimizer](**kwargs)


def cores_for_pairs(model: Module):
    """Where a training loop runs: with BLAS at one thread when every recurrent layer of ``model`` splits
    its work over the cores itself (:func:`rnnkit._fast.parallel.pairs_only`), else as it is."""
    layers = [m for _, m in model.named_modules() if isinstance(m, Recurrent)]
    if not layers or not all(m.runs_compiled_loops() for m in layers):
        return nullcontext()
    from rnnkit._fast.parallel import pairs_only
    return pairs_only()


def nonfinite_gradient(grads: dict[str, np.ndarray]) -> str | None:
    """The name of the first gradient holding a NaN or an infinity, or None."""
    return next((k for k, g in grads.items() if not np.all(np.isfinite(g))), None)


class Trainer:
    """Train ``objective`` under ``config``, writing everything into ``run``."""

    def __init__(self, objective: Objective, config: TrainConfig, run: Run, default_epochs: int = 1,
                 world: World = SINGLE):
        self.obj, self.config, self.run, self.world = objective, config, run, world
        if world.size > 1:
            objective.distribute(world)
            if not world.root:
                snapshots.seed_rank_streams(objective.model, config.seed, world.rank)
        self.opt = make_optimizer(config)
        self.state = TrainState()
        self.budget = Budget.of(config, objective.steps_per_epoch(), default_epochs)
        self.spe = self.budget.steps_per_epoch
        self.records = run.metrics() if world.root else []
        self.window = new_window()
        self.step_log: list[dict] = []   # per-step records not yet written to steps.jsonl
        self.stop_asked = False       # a stop signal reached this process
        self.stop_requested = False   # ...and every rank knows it (on several ranks: after the next Allreduce)

    # -- checkpoints (rnnkit.train.snapshots) ---------------------------------------------
    def save_checkpoint(self, extra: dict[str, bytes] | None = None) -> None:
        """Commit last.safetensors, state.safetensors and state.json (+ ``extra``) as one (rank 0 writes)."""
        snapshots.save(self, extra)

    def resume(self) -> None:
        """Continue from the run's last checkpoint (weights, optimizer, position, RNGs, carried state, logs)."""
        self._load_checkpoint()
        if self.world.root:
            self.records = self.run.truncate_jsonl("metrics.jsonl", self.state.step)
            self.run.truncate_jsonl("steps.jsonl", self.state.step)
        self.step_log = []

    def _load_checkpoint(self) -> None:
        """Rank 0 recovers the run from an interrupted commit and sends the checkpoint to the others (into
        their own copy of the run's files); then every rank reads it."""
        self.world.on_root(lambda: self.run.recover() and None)
        copy_files(self.world, self.run.path, self.run.path, (*snapshots.CHECKPOINT, MANIFEST))
        self.state, self.window = self.world.agree(lambda: snapshots.load(self))

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, window: dict | None = None) -> dict:
        """Evaluate, log, and checkpoint (with best.safetensors if the metric improved)."""
        s = self.state
        self.obj.model.eval()
        result = self.obj.evaluate()
        self.obj.model.train()
        value = result[self.obj.metric]
        better = s.best is None or (value < s.best if self.obj.mode == "min" else value > s.best)
        extra = {}
        if better:
            s.best, s.best_step, s.bad_evals = float(value), s.step, 0
            extra["best.safetensors"] = model_bytes(self.obj.model, step=s.step, **{self.obj.metric: value})
        else:
            s.bad_evals += 1
        s.last_eval_step = s.step
        record = {"step": s.step, "epoch": s.epoch, "time": round(s.elapsed, 3),
                  **(window if window is not None else self._window_summary()),
                  **{k: float(v) for k, v in result.items()}}
        self.records.append(record)
        if self.world.root:
            self.run.write_metrics(self.records)
        self.save_checkpoint(extra)
        return record

    def _eval_due(self, end_of_epoch: bool) -> bool:
        every = self.config.eval_every
        return (self.state.step % every == 0) if every else end_of_epoch

    # -- the loop ------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train until the budget, early stopping or Ctrl-C; return the summary (also written).

        The first Ctrl-C (or SIGUSR1) finishes the current step, writes a checkpoint and
        stops cleanly (``rnnkit train --resume`` continues); a second one aborts.
        """
        cfg, s, world = self.config, self.state, self.world
        world.broadcast_arrays(self.obj.model.parameters())  # every rank starts from rank 0's weights
        if not world.on_root(lambda: snapshots.has_checkpoint(self.run)):
            self.save_checkpoint()  # step 0: a run killed before its first checkpoint can still resume
        self.bar = Progress(self.budget.total_steps, s.step, self.obj.unit, disable=cfg.quiet or not world.root,
                            time_limit=cfg.time_limit)
        self.start = time.perf_counter() - s.elapsed
        self.stop_asked = self.stop_requested = self.stopped_early = False
        self.obj.model.train()
        with self._sigint_requests_stop(self.bar), self.bar, cores_for_pairs(self.obj.model):
            while not (self.budget.spent(self.state) or self.stopped_early or self.stop_requested):
                try:
                    self._epoch()
                except DivergenceError as exc:
                    self._roll_back(exc)
        s = self.state
        if self.stop_requested:
            self.save_checkpoint()
        elif s.last_eval_step != s.step:
            self.evaluate()
        return self._finish("interrupted" if self.stop_requested else
                            "early stopping" if self.stopped_early else "budget")

    def _epoch(self) -> None:
        """Run the rest of the current epoch (or until the budget, early stopping or Ctrl-C)."""
        cfg, s, obj = self.config, self.state, self.obj
        batches = obj.batches(np.random.default_rng([cfg.seed, s.epoch]))
        if s.batch_in_epoch == 0:
            obj.start_epoch()
        for i, batch in enumerate(batches):
            if i < s.batch_in_epoch:
                continue  # resuming mid-epoch: these were done before the interruption
            loss, items = self._step(batch)
            s.batch_in_epoch, s.items = i + 1, s.items + items
            if self.world.size == 1:  # on several ranks, rank 0's clock came with the gradients
                s.elapsed = time.perf_counter() - self.start
            if self._eval_due(i + 1 == self.spe) or self.budget.spent(self.state):
                rec = self.evaluate()
                s.elapsed = self.world.broadcast(time.perf_counter() - self.start)  # rank 0's clock
                self.bar.set_metric(obj.metric, rec[obj.metric])
                self.stopped_early = bool(cfg.patience and s.bad_evals >= cfg.patience)
            elif cfg.checkpoint_every and s.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
            self.bar.update(s.step, loss, s.items / max(s.elapsed, 1e-9), s.elapsed)
            if self.budget.spent(self.state) or self.stopped_early or self.stop_requested:
                return
        s.epoch, s.batch_in_epoch = s.epoch + 1, 0

    @contextmanager
    def _sigint_requests_stop(self, bar: Progress):
        """While training, Ctrl-C (SIGINT) or SIGUSR1 asks for a clean stop after the current step; a second
        one aborts. Under mpiexec, Ctrl-C reaches the launcher alone, which kills every rank at once (SIGTERM,
        then SIGKILL within a second); SIGUSR1 sent to the launcher reaches every rank (Open MPI forwards it),
        and the request travels with the next step's Allreduce, so every rank stops after the same step."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.stop_asked:
                raise KeyboardInterrupt
            self.stop_asked = True
            self.stop_requested = self.world.size == 1  # on several ranks, all stop together (_shared_step)
            if self.world.root:
                name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
                bar.write(f"{name}: stopping after this step and writing a checkpoint ({name} again to abort)")

        kinds = [signal.SIGINT] + ([signal.SIGUSR1] if hasattr(signal, "SIGUSR1") else [])  # none on Windows
        previous = {kind: signal.signal(kind, handler) for kind in kinds}
        try:
            yield
        finally:
            for kind, before in previous.items():
                signal.signal(kind, before)

    def _step(self, batch) -> tuple[float, int]:
        cfg, s, model = self.config, self.state, self.obj.model
        model.zero_grad()
        if self.world.size == 1:
            loss, items = self._train_step(batch)
            grads = model.gradients()
        else:
            loss, items, grads = self._shared_step(batch)
        if not math.isfinite(loss):
            raise DivergenceError(f"training diverged at step {s.step + 1}: the loss is {loss}", s.step + 1, "loss")
        norm = clip_grad_norm(grads, cfg.clip) if cfg.clip else grad_norm(grads)
        if not math.isfinite(norm):
            name = nonfinite_gradient(grads) or "?"
            raise DivergenceError(f"training diverged at step {s.step + 1}: the gradient of {name!r} is not "
                                  f"finite (global norm {norm})", s.step + 1, name)
        clipped = bool(cfg.clip and norm > cfg.clip)
        lr = learning_rate(cfg.schedule, cfg.lr, s.step, self.budget.fraction(s), cfg.lr_step, cfg.lr_gamma)
        self.opt.lr = lr * s.lr_scale
        self.opt.step(model.parameters(), grads)
        s.step += 1
        s.clipped += clipped
        w = self.window
        w["loss"] += loss
        w["n"] += 1
        w["clipped"] += clipped
        w["norm"] = max(w["norm"], norm)
        self.step_log.append({"step": s.step, "time": round(time.perf_counter() - self.start, 4), "loss": loss,
                              "grad_norm": norm, "clipped": clipped, "lr": float(self.opt.lr)})
        return loss, items

    def _shared_step(self, batch) -> tuple[float, int, dict[str, np.ndarray]]:
        """This rank's share of the step, then one Allreduce: the global mean loss and gradient, the items,
        rank 0's clock and any rank's stop request, the same on every rank (rnnkit.train.distributed)."""
        share, weight = self.obj.share(batch)
        try:
            loss, items = self._train_step(share) if weight else (0.0, 0)  # no rows: nothing to add
        except DivergenceError:
            loss, items = math.nan, 0  # the reduced loss is not finite either: every rank raises it below
        grads = self.obj.model.gradients()
        clock = time.perf_counter() - self.start if self.world.root else 0.0
        loss, _, (items, clock, stops) = mean_gradients(self.world, grads, loss, weight,
                                                        [items, clock, float(self.stop_asked)])
        self.state.elapsed, self.stop_requested = float(clock), bool(stops)
        return loss, int(round(float(items))), grads

    def _train_step(self, batch) -> tuple[float, int]:
        """The objective's step; an overflow that a layer's finiteness check caught is a divergence too.

        NumPy's overflow warnings are silenced: the guard checks the loss and every gradient after the
        step and reports a divergence by step and tensor, which says more than the warning would."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return self.obj.train_step(batch)
        except (ValueError, FloatingPointError) as exc:
            if isinstance(exc, RnnkitError) or "finite" not in str(exc):
                raise
            step, tensor = self.state.step + 1, str(exc).split(":", 1)[0]
            raise DivergenceError(f"training diverged at step {step}: a non-finite value inside the forward "
                                  f"or backward pass ({exc})", step, tensor) from None

    def _roll_back(self, exc: DivergenceError) -> None:
        """Go back to the last checkpoint with half the learning rate, or stop (writing the summary)."""
        cfg, s = self.config, self.state
        if cfg.on_nan == "stop" or s.rollbacks >= cfg.max_rollbacks:
            why = "--on-nan stop" if cfg.on_nan == "stop" else f"after {s.rollbacks} rollback(s) (--max-rollbacks)"
            self.obj.model.zero_grad()
            self._finish("diverged", diverged=str(exc))
            raise DivergenceError(f"{exc}; stopped ({why}); try a smaller --lr or a --clip value",
                                  exc.step, exc.tensor) from None
        rollbacks, scale, elapsed = s.rollbacks + 1, s.lr_scale * 0.5, s.elapsed
        self.resume()
        s = self.state
        s.rollbacks, s.lr_scale, s.elapsed = rollbacks, scale, elapsed
        self.start = time.perf_counter() - elapsed
        self.save_checkpoint()  # the halved rate is part of the state from now on
        self.bar.write(f"{exc}; rolled back to step {s.step} with the learning rate halved "
                       f"(x{scale:g}; rollback {rollbacks} of {cfg.max_rollbacks})")

    def _window_summary(self) -> dict:
        window = self.window
        n = max(window["n"], 1)
        out = {"train_loss": window["loss"] / n, "lr": self.opt.lr, "max_grad_norm": window["norm"],
               "clipped_steps": window["clipped"]}
        self.window = new_window()
        return out

    def _finish(self, stopped: str, **notes) -> dict:
        s, obj = self.state, self.obj
        summary = {
            "run": str(self.run.path), "steps": s.step, "epochs": round(s.step / self.spe, 3),
            "time_s": round(s.elapsed, 2), f"{obj.unit}_per_s": round(s.items / max(s.elapsed, 1e-9), 1),
            f"best_{obj.metric}": s.best, "best_step": s.best_step,
            "clipped_fraction": round(s.clipped / max(s.step, 1), 4),
            "stopped": stopped, **notes,
        }
        if s.rollbacks:
            summary |= {"rollbacks": s.rollbacks, "lr_scale": s.lr_scale}
        if self.world.size > 1:
            summary["ranks"] = self.world.size  # of this invocation (a resume may have another number)
        if self.records:
            summary["last"] = self.records[-1]
        extras = getattr(obj, "summary_extras", None)
        summary |= (extras() if callable(extras) else {}) | stop_notes(self, stopped)  # stop_reason if early
        if not self.world.root:
            return summary
        if self.step_log:
            self.run.append_jsonl("steps.jsonl", self.step_log)
            self.step_log = []
        self.run.write_json("summary.json", summary)
        if not self.config.quiet:
            print(summary_table(summary), flush=True)
        return summary
