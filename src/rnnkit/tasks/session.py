"""One training invocation of any task: its run directory (new or resumed), its lock, the resume rules.

Every task trains inside a :class:`Session`, which the task driver (:mod:`rnnkit.tasks.driver`) opens::

    with Session(NAME, Config, config, resume, changes, world) as session:
        config = session.config                      # the stored one (with the allowed changes) on resume
        ...read the data, build the model (from session.run's files on resume)...
        run = session.create({"vocab.json": vocab.to_json()})   # the run: created only now
        return session.fit(Trainer(objective, config, run, world=world))

What the session guarantees, whichever task:

* **Nothing is written before everything is checked**: a new run's directory is created by
  :meth:`Session.create`, after the options, the data and the model; if training then fails
  before its first checkpoint, the directory is removed again, so ``--out`` stays usable.
* **One process per run**: the run's :class:`~rnnkit.train.lock.RunLock` is held from the
  moment the run is opened or created until training ends.
* **Resume rules**: a resume may change the budget and the stopping rules (:data:`RESUMABLE`,
  totals for the whole run); any other option given with a value other than the run's is
  refused by name. Resuming a run that has finished says so (exit 2) instead of doing nothing.
* **One writer**: on several ranks (``world``, :mod:`rnnkit.train.distributed`) rank 0 alone opens,
  locks, creates and writes the run; the others get its configuration, its path and the files they read
  (JSON, checkpoints) from rank 0 into a directory of their own, so no filesystem need be shared; an
  error on rank 0 is raised on every rank.
* **Data**: a new run stores its data files as absolute paths with their size and SHA-256
  (``data_files`` in config.json); a resume from any directory finds them, and refuses data that
  has changed since.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import rnnkit
from rnnkit.errors import RnnkitError, RunError
from rnnkit.tasks.base import open_run, open_task_run
from rnnkit.train.checkpoint import sha256_file
from rnnkit.train.config import TrainConfig, flag
from rnnkit.train.distributed import SINGLE, World, copy_files
from rnnkit.train.lock import LOCK_FILE, RunLock, run_containing
from rnnkit.train.run import MANIFEST, Run, fresh_run_dir

# what a resume may change: how long to train and when to stop, check or log, never what is trained
RESUMABLE = ("epochs", "max_steps", "time_limit", "patience", "eval_every", "checkpoint_every",
             "on_nan", "max_rollbacks", "quiet")
DATA_FIELDS = ("data", "val", "embeddings")  # config fields naming data files, in any task that has them


class Session:
    """A new run of ``task`` (``config``) or the resumed run ``resume`` (with the option ``changes``)."""

    def __init__(self, task: str, config_cls: type[TrainConfig], config: TrainConfig | None = None,
                 resume=None, changes: dict | None = None, world: World = SINGLE):
        self.task, self.config_cls, self.config, self.world = task, config_cls, config, world
        self.resume, self.changes = resume, dict(changes or {})
        self.run: Run | None = None
        self.lock: RunLock | None = None
        self.created = False
        self.data_files: dict[str, dict] = {}
        self.mirror: Path | None = None   # ranks other than 0: their copy of the run's files
        self.path: str | None = None      # rank 0's run directory

    # -- opening ----------------------------------------------------------------------------------
    def __enter__(self) -> "Session":
        if self.resume:
            path, config = self.world.on_root(self._open_on_root)  # one lock, one reader of the rules
            self.path = path
            if not self.world.root:  # the others see the run's files as rank 0 sends them, their own data
                self.run = Run(self._mirror())
                self.config = self.config_cls.from_dict(config, f"{path}/config.json")
            names = [p.name for p in self.run.path.glob("*.json")] if self.world.root else []
            copy_files(self.world, self.run.path, self.run.path, names)
            recorded = self.run.config.get("data_files", {})
            self.data_files = recorded if self.world.root else {p: fingerprint(p) for p in recorded
                                                                if os.path.isfile(p)}
        else:
            self.data_files = self.world.agree(self._check_new)  # alike on every rank
        return self

    def _check_new(self) -> dict[str, dict]:
        if self.config is None:
            raise RnnkitError("train: give a config (a new run) or resume=RUN")
        self.config.check()
        return _resolve_data(self.config)

    def _open_on_root(self) -> tuple[str, dict]:
        """Open, lock and check the run being resumed (rank 0); its path and its (changed) config."""
        try:
            self._open()
        except BaseException:  # __exit__ is not called when __enter__ fails: release the lock here
            if self.lock is not None:
                self.lock.release()
            raise
        return str(self.run.path), self.config.to_dict()

    def _open(self) -> None:
        run, _, _ = open_run(self.resume, self.task)
        self.lock = RunLock(run.path).acquire()
        self.run = run
        source = str(run.file("config.json"))
        _, config = open_task_run(run, self.task, self.config_cls)
        recorded = run.config.get("data_files", {})
        _check_data(recorded, source)
        new = _apply_changes(config, self.changes)
        if new != config:
            info = dict(run.config, config=new.to_dict())
            run.write_json("config.json", info)
            run.__dict__.pop("config", None)  # Run.config is cached: read the new file next time
            if not new.quiet:
                print("resuming with " + ", ".join(f"{flag(k)} {getattr(new, k)} (was {getattr(config, k)})"
                                                   for k in RESUMABLE if getattr(new, k) != getattr(config, k)),
                      flush=True)
        self.config = new

    # -- creating -----------------------------------------------------------------------------------
    def create(self, files: dict | None = None) -> Run:
        """The run to train: the resumed one, or a new directory with config.json and the task's ``files``."""
        if self.run is not None:
            return self.run
        path = self.world.on_root(lambda: str(self._create(files or {})))  # rank 0 alone writes the run
        self.config.out = self.path = path
        self.run = self.run or Run(self._mirror())
        return self.run

    def _mirror(self) -> Path:
        """A rank other than 0: a directory of its own for the run's files that it reads (rank 0 sends
        them), so that it needs no filesystem shared with rank 0; removed at the end."""
        self.mirror = Path(tempfile.mkdtemp(prefix=f"rnnkit-rank{self.world.rank}-"))
        return self.mirror

    def _create(self, files: dict) -> Path:
        config = self.config
        path = Path(config.out) if config.out else fresh_run_dir(Path("runs") / self.task)
        _check_new_dir(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lock = RunLock(path).acquire()
        _check_new_dir(path)  # another process may have filled it meanwhile: then it is not ours to remove
        self.created = True
        self.run = Run(path)
        config.out = str(path)
        self.run.write_json("config.json", {"task": self.task, "rnnkit_version": rnnkit.__version__,
                                            "config": config.to_dict(), "data_files": self.data_files})
        for name, obj in files.items():
            self.run.write_json(name, obj)
        return path

    # -- training -------------------------------------------------------------------------------------
    def fit(self, trainer) -> dict:
        """Resume ``trainer`` (refusing a finished run) or start it; train; the summary."""
        if self.resume:
            trainer.resume()
            self.world.agree(lambda: _refuse_finished(trainer))  # alike on every rank
        return trainer.fit()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and self.created and not self.run.exists(MANIFEST):
                shutil.rmtree(self.run.path, ignore_errors=True)  # failed before its first checkpoint
        finally:
            if self.lock is not None:
                self.lock.release()
            if self.mirror is not None:
                shutil.rmtree(self.mirror, ignore_errors=True)


def fingerprint(path: str) -> dict:
    """A data file's size and SHA-256 (read once in 1 MiB blocks, about 1 s per GB)."""
    return {"bytes": os.path.getsize(path), "sha256": sha256_file(path)}


def _check_new_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise RunError(f"--out: {str(path)!r} is a file; give a directory for the run")
    if path.exists() and any(p.name != LOCK_FILE for p in path.iterdir()):
        raise RunError(f"--out: {str(path)!r} already exists and is not empty; choose another directory "
                       f"or continue it with --resume {path}")
    inside = run_containing(path.parent) if not path.exists() else run_containing(path)
    if inside is not None:
        raise RunError(f"--out: {str(path)!r} is inside the run directory {str(inside)!r}; choose a path outside it")


def _resolve_data(config: TrainConfig) -> dict[str, dict]:
    """Make the config's data paths absolute (in place); their fingerprints, by absolute path."""
    prints = {}
    for name in DATA_FIELDS:
        value = getattr(config, name, None)
        paths = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        absolute = [os.path.abspath(p) for p in paths]
        for p in absolute:
            if os.path.isfile(p):
                prints[p] = fingerprint(p)
        if paths:
            setattr(config, name, absolute if isinstance(value, list) else absolute[0])
    return prints


def _check_data(recorded, source: str) -> None:
    """The data a run was trained on must still be there, unchanged."""
    if not isinstance(recorded, dict):
        raise RunError(f"{source}: data_files: expected a JSON object")
    for path, expected in recorded.items():
        if not os.path.isfile(path):
            raise RunError(f"{path}: file not found: the run was trained on it and needs it to resume "
                           f"(recorded in {source})")
        if fingerprint(path) != expected:
            raise RunError(f"{path}: the data has changed since the run started (its size or SHA-256 differs "
                           f"from {source}); resuming on other data would not continue the same run: "
                           f"start a new run instead")


def _apply_changes(config: TrainConfig, changes: dict) -> TrainConfig:
    """``config`` with the resumable ``changes``; RnnkitError naming any other option that differs."""
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(config)})
    if unknown:
        raise RnnkitError(f"changes: {', '.join(unknown)}: not options of this task")
    for name, value in changes.items():
        stored = getattr(config, name)
        if name in DATA_FIELDS and value in ([], None):
            continue  # not given
        if name in DATA_FIELDS:
            value = [os.path.abspath(v) for v in value] if isinstance(value, list) else os.path.abspath(value)
        if name not in RESUMABLE and value != stored:
            shown = "DATA" if name == "data" else flag(name)
            raise RnnkitError(f"{shown}: a resumed run keeps its {'data' if name in DATA_FIELDS else 'settings'} "
                              f"(the run has {stored!r}, given {value!r}); a resume may change only "
                              f"{', '.join(flag(k) for k in RESUMABLE)}")
    allowed = {k: v for k, v in changes.items() if k in RESUMABLE}
    return dataclasses.replace(config, **allowed).check() if allowed else config


def _refuse_finished(trainer) -> None:
    """A resumed run whose budget is spent or that stopped early (and would stop again at once)."""
    summary = trainer.run.read_json("summary.json") if trainer.run.exists("summary.json") else {}
    s, cfg = trainer.state, trainer.config
    if not isinstance(summary, dict) or summary.get("steps") != s.step or \
            summary.get("stopped") not in ("budget", "early stopping"):
        return  # interrupted or diverged: go on
    early = summary["stopped"] == "early stopping" and cfg.patience and s.bad_evals >= cfg.patience
    if trainer.budget.spent(s) or early:
        why = "stopped early (--patience)" if early else "its budget is spent"
        raise RnnkitError(f"--resume: run {str(trainer.run.path)!r} has already finished at step {s.step}: {why}. "
                          f"To train on, raise --max-steps, --epochs or --time-limit (totals for the whole run)"
                          f"{' or --patience' if early else ''}")
