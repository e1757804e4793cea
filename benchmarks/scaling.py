"""Data-parallel scaling of `rnnkit train charlm` on MPI: measured on this machine, modelled for N machines.

Run by hand (a few minutes; needs ``pip install ".[mpi]"``)::

    python benchmarks/scaling.py [--steps 150] [--hidden 128]

Measured (the bundled tiny Shakespeare, the charlm defaults: 2-layer LSTM, batch 32, bptt 64, float32):

* chars/s of the whole ``rnnkit train charlm`` for one process with 1 and with 2 BLAS threads, and for
  2 ranks of 1 thread each under ``mpiexec -n 2`` (the summary's ``chars_per_s``, validation included);
* per step on 2 ranks: compute (forward + backward of the rank's share), the wait for the slower rank
  (a barrier, so that it is not counted as Allreduce) and the one Allreduce of the gradients, and the
  bytes it reduces;
* Allreduce time of a large buffer between the 2 local ranks (the bandwidth of shared memory).

Modelled: a step of global batch B on N machines takes C/N + A(N), C the one-process step time and
A(N) = 2(N−1)/N · bytes/β + 2(N−1)·α the time of a ring Allreduce (every rank sends and receives
2(N−1)/N of the gradient; 2(N−1) latency-bound phases). β and α are stated, not measured, for a
network (10 Gbit/s Ethernet: β = 1.25 GB/s, α = 20 µs), since this machine has none. C is the measured
compute of both shares; for a model 4× wider, C and the gradient are both scaled by 16 (the recurrent
and output weights, H² each, dominate both), a model again, not a measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NETWORK = {"bandwidth_bytes_per_s": 1.25e9, "latency_s": 20e-6, "what": "10 Gbit/s Ethernet (assumed)"}
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def env(threads: int) -> dict:
    return os.environ | MPI_ENV | {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                             "NUMBA_NUM_THREADS")}


def chars_per_s(ranks: int, threads: int, steps: int, hidden: int, out: Path) -> float:
    """The summary's chars/s of one `rnnkit train charlm` (under mpiexec when ``ranks`` > 1)."""
    args = [sys.executable, "-m", "rnnkit", "train", "charlm", "--quiet", "--max-steps", str(steps),
            "--hidden", str(hidden), "--out", str(out)]
    mpi = [mpiexec(), "--oversubscribe", "-n", str(ranks)] if ranks > 1 else []
    subprocess.run(mpi + args, env=env(threads), check=True)
    return json.loads((out / "summary.json").read_text())["chars_per_s"]


def mpiexec() -> str:
    found = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if not found:
        sys.exit('needs mpiexec: pip install "rnnkit[mpi]"')
    return found


def probe(steps: int, hidden: int) -> None:
    """Inside mpiexec: time compute and Allreduce per step on this rank's share; print JSON on rank 0."""
    from rnnkit.tasks import charlm
    from rnnkit.train.distributed import detect, mean_gradients
    world = detect(insist=True)
    config = charlm.Config(hidden=hidden, quiet=True)
    objective = charlm.prepare(config, None).objective
    objective.distribute(world)
    model, batches = objective.model, objective.batches(np.random.default_rng(0))
    compute, wait, reduce, nbytes = [], [], [], 0
    for i, batch in zip(range(steps), batches):
        model.zero_grad()
        share, weight = objective.share(batch)
        t0 = time.perf_counter()
        loss, _ = objective.train_step(share)
        t1 = time.perf_counter()
        grads = model.gradients()
        world.comm.Barrier()  # waiting for the slower rank, apart from the Allreduce itself
        tb = time.perf_counter()
        mean_gradients(world, grads, loss, weight, [0.0, 0.0, 0.0])
        t2 = time.perf_counter()
        if i >= 5:  # warm-up steps left out
            compute.append(t1 - t0)
            wait.append(tb - t1)
            reduce.append(t2 - tb)
        nbytes = sum(g.nbytes for g in grads.values())
    big = np.ones(8 * 2**20 // 4, dtype=np.float32)   # 8 MiB: the bandwidth of the local Allreduce
    world.allreduce_sum(big)
    t0 = time.perf_counter()
    for _ in range(10):
        world.allreduce_sum(big)
    local_bw = 10 * big.nbytes / (time.perf_counter() - t0)
    if world.root:
        print(json.dumps({"compute_s": float(np.median(compute)), "wait_for_other_rank_s": float(np.median(wait)),
                          "allreduce_s": float(np.median(reduce)),
                          "bytes_per_step": nbytes, "parameters": model.num_parameters(),
                          "local_allreduce_bytes_per_s": local_bw}))


def ring_model(step_s: float, parameters: int, machines: list[int], bytes_per=4) -> list[dict]:
    """Modelled speed-up at a fixed global batch on N machines: C / (C/N + ring Allreduce time)."""
    beta, alpha = NETWORK["bandwidth_bytes_per_s"], NETWORK["latency_s"]
    rows = []
    for n in machines:
        allreduce = 2 * (n - 1) / n * parameters * bytes_per / beta + 2 * (n - 1) * alpha
        rows.append({"machines": n, "allreduce_ms": round(1e3 * allreduce, 3),
                     "speedup": round(step_s / (step_s / n + allreduce), 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe(args.steps, args.hidden)
    load = os.getloadavg()  # other jobs on the machine: the numbers mean little when it is above 0.5
    with tempfile.TemporaryDirectory() as tmp:
        measured = {name: chars_per_s(r, t, args.steps, args.hidden, Path(tmp) / name)
                    for name, r, t in (("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2),
                                       ("2 ranks x 1 thread", 2, 1))}
    done = subprocess.run([mpiexec(), "--oversubscribe", "-n", "2", sys.executable, __file__, "--probe",
                           "--steps", str(min(args.steps, 60)), "--hidden", str(args.hidden)],
                          env=env(1), check=True, capture_output=True, text=True)
    step = json.loads(done.stdout.strip().splitlines()[-1])
    one_step = 2 * step["compute_s"]  # one process does both shares' work
    result = {"load_average_before": load, "chars_per_s": measured,
              "speedup_2_ranks_vs_1_thread": round(measured["2 ranks x 1 thread"] / measured["1 process, 1 thread"], 2),
              "per_step_on_2_ranks": step, "network_assumed": NETWORK,
              "model": {f"hidden {h}": ring_model(one_step * (h / args.hidden) ** 2, step["parameters"]
                                                  * (h / args.hidden) ** 2, [2, 4, 8, 16, 64])
                        for h in (args.hidden, 4 * args.hidden)}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
