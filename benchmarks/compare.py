"""rnnkit against PyTorch on the CPU, side by side: training, generation, memory, start-up.

Usage (from the repository root)::

    python benchmarks/compare.py                  # the full grid, 1 and 2 layers (a few minutes)
    python benchmarks/compare.py --runs 3         # the grid three times: per point the median ratio
    python benchmarks/compare.py --quick          # fewer repetitions, 1 layer
    python benchmarks/compare.py --json out.json --threads 2 --cells lstm gru
    python benchmarks/compare.py --quick --skip train charlm generate memory startup --json v.json   # variants only

Needs ``pip install ".[bench]"`` (numba, threadpoolctl) and, for the
comparison, ``pip install torch==2.13.0``.

Each timed case is built for both libraries with the same weights (the
largest difference of their outputs goes into the JSON); the two are run
alternately (ABBA order, so drift and other load hit both alike), each turn
after a pause and a warm-up call, and the median is kept. ratio = torch
time / rnnkit time, so > 1 means rnnkit is faster. PyTorch is optional:
without it only rnnkit's times are printed. rnnkit is timed twice per
point, with its compiled kernels (``rnnkit[fast]``) and on the plain-NumPy
path (``numpy`` column), unless ``--backends`` says otherwise.

Environment: the timed process runs without ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE`` (both removed together, see ``machine.py``): it times
what users get. The header and the JSON record the OpenBLAS kernel that
actually ran, the CPU's SIMD flags and what was removed.

BLAS threads: ``--threads`` sets PyTorch's threads and, before NumPy is
loaded, ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``
(unless already set), so both use the same number of cores.

Cell variants (``variants`` points, LSTM, 1 and 2 layers): the projected LSTM (``proj_size``) against
``torch.nn.LSTM(proj_size=...)``, the layer-normalised LSTM (``layer_norm``, which torch.nn lacks) on
rnnkit alone, each beside the plain LSTM of the same shape timed in the grid.

End to end: one whole ``rnnkit train charlm`` step (embedding 64, 2-layer
LSTM 256, head over 65 symbols, batch 64, bptt 100, carried state, softmax
cross-entropy, clip 5, Adam) against the same PyTorch training loop, in
characters per second (ratio = rnnkit / torch).

Also reported: the float32 GEMM peak of NumPy's BLAS (``machine.gemm_peak``)
and, per point, the GFLOP/s rnnkit reached and its share of that peak
(FLOPs = 3 × the forward GEMM FLOPs), the
peak resident memory that training steps add (each library in a fresh
process), ``python -c "import rnnkit"`` time and the installed size of
rnnkit with its required dependencies.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine

GRID = [(100, 32, 64, 128), (100, 64, 128, 256), (100, 32, 512, 512), (50, 1, 65, 256), (1000, 16, 256, 256)]
BIDIRECTIONAL = [(2, (100, 32, 128, 256))]  # (layers, (T, B, D, H)) of the bidirectional points
GENERATION = {"H": 512, "V": 65, "L": 2}
MEMORY_CASE = ("lstm", 100, 32, 512, 512, 1)
VARIANT_SHAPE = (100, 32, 128, 256)  # (T, B, D, H) of the variant points
VARIANTS = {"proj": {"proj_size": 64}, "layer_norm": {"layer_norm": True}}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 repetitions, 1 layer, fewer tokens")
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["lstm", "gru", "rnn"])
    p.add_argument("--layers", nargs="+", type=int, default=None, help="default: 1 2 (quick: 1)")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per case (default 9, quick 3)")
    p.add_argument("--threads", type=int, default=machine.usable_cores(),
                   help="BLAS / PyTorch threads (default: every core this process may use, here %(default)s)")
    p.add_argument("--runs", type=int, default=1, help="time the training grid this many times; per point the "
                   "median ratio (default 1)")
    p.add_argument("--backends", nargs="+", default=["numba", "numpy"], choices=["numba", "numpy"],
                   help="rnnkit's element-wise code to time (default both)")
    p.add_argument("--keep-blas-env", action="store_true",
                   help="time with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as set (default: removed)")
    p.add_argument("--json", type=Path, default=Path("benchmarks/results.json"), help="where to write the results")
    p.add_argument("--no-torch", action="store_true", help="time rnnkit alone")
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["train", "variants", "charlm", "generate", "memory", "startup"])
    p.add_argument("--memory-child", nargs=7, help=argparse.SUPPRESS)  # lib cell T B D H L
    return p.parse_args(argv)


def interleaved(fns: dict, reps: int, settle: float = 0.2, warm: float = 0.15) -> dict:
    """Median seconds per call of each function, taking turns in ABBA order.

    Each turn first sleeps ``settle`` seconds, so that the other library's
    idle BLAS / OpenMP threads (which spin for a while after each call) have
    gone to sleep and do not compete for the cores, then calls the function
    untimed for at least ``warm`` seconds (once at least), then times one call.
    After the sleep the cores take about 0.1 s of work to come back to the
    speed of a training loop running step after step (measured: rnnkit's LSTM
    step at 100,32,64,128 took 24 ms after one untimed call, 14 after ten and
    back to back; PyTorch's 17.9, 16.0 and 14.5): timing after one call would
    time the wake-up, not what a user's loop gets.
    """
    names = list(fns)
    times = {name: [] for name in names}
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            time.sleep(settle)
            start = time.perf_counter()
            fns[name]()
            while time.perf_counter() - start < warm:
                fns[name]()
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}


def grid_points(args) -> list[tuple]:
    """(cell, layers, bidirectional, T, B, D, H) of every training point."""
    points = [(cell, L, False, *shape) for L in args.layers for cell in args.cells for shape in GRID]
    if not args.quick:
        points += [(cell, L, True, *shape) for L, shape in BIDIRECTIONAL for cell in args.cells]
    return points


def bench_point(args, torch_ok: bool, point: tuple, variant: str | None = None) -> dict:
    """One training point; ``variant`` (a key of VARIANTS) builds the stack with those options, and
    torch's twin only where torch.nn has them (the projection)."""
    import workloads as w
    cell, L, bi, T, B, D, H = point
    options = VARIANTS.get(variant, {})
    layer, x = w.rnnkit_layer(cell, D, H, L, bidirectional=bi, **options), w.batch(T, B, D)
    fns = {f"rnnkit_{b}": w.with_backend(b, w.rnnkit_train(layer, x)) for b in args.backends}
    row = {"cell": cell, "layers": L, "bidirectional": bi, "T": T, "B": B, "D": D, "H": H}
    if variant:
        row["variant"] = variant
    torch_ok = torch_ok and set(options) <= {"proj_size"}
    if torch_ok:
        twin = w.torch_layer(cell, layer)
        row["max_out_difference"] = w.max_difference(layer, twin, x)
        fns["torch"] = w.torch_train(twin, x)
    row.update({f"{k}_ms": v * 1e3 for k, v in interleaved(fns, args.reps).items()})
    main_ms = row[f"rnnkit_{args.backends[0]}_ms"]
    row["rnnkit_ms"] = main_ms
    row["gflops"] = w.train_flops(cell, T, B, D, H, L, bi, P=options.get("proj_size", 0)) / main_ms / 1e6
    if torch_ok:
        for b in args.backends:
            row[f"ratio_{b}"] = row["torch_ms"] / row[f"rnnkit_{b}_ms"]
        row["ratio"] = row[f"ratio_{args.backends[0]}"]
    return row


def bench_train(args, torch_ok: bool) -> list[dict]:
    """The grid ``args.runs`` times; a point's numbers are those of the run with its median ratio."""
    runs = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"-- run {run + 1} of {args.runs}", flush=True)
        rows = []
        for point in grid_points(args):
            rows.append(bench_point(args, torch_ok, point))
            print_row(rows[-1], args.backends)
        runs.append(rows)
    if args.runs == 1:
        return runs[0]
    key = "ratio" if torch_ok else "rnnkit_ms"
    merged = []
    for per_run in zip(*runs):
        ordered = sorted(per_run, key=lambda r: r[key])
        merged.append(dict(ordered[len(ordered) // 2], runs=[r[key] for r in per_run]))
    print(f"-- median of {args.runs} runs")
    for row in merged:
        print_row(row, args.backends)
    return merged


def bench_variants(args, torch_ok: bool) -> list[dict]:
    """The variant points: each VARIANTS entry on the LSTM of VARIANT_SHAPE, for each of ``args.layers``."""
    rows = []
    for L in args.layers:
        for variant in VARIANTS:
            rows.append(bench_point(args, torch_ok, ("lstm", L, False, *VARIANT_SHAPE), variant))
            print_row(rows[-1], args.backends)
    return rows


def point_name(row: dict) -> str:
    """"T,B,D,H" with " L=2" for two layers and "b" for bidirectional."""
    return ("{T},{B},{D},{H}".format(**row) + (f" L={row['layers']}" if row["layers"] > 1 else "")
            + ("b" if row["bidirectional"] else ""))


def print_row(row: dict, backends) -> None:
    shape = "{T},{B},{D},{H}".format(**row)
    name = f"{row['cell']:5s} L={row['layers']}{'b' if row['bidirectional'] else ' '}"
    if "variant" in row:
        name += f" {row['variant']}"
    times = " ".join(f"{row[f'rnnkit_{b}_ms']:9.2f}" for b in backends)
    torch_part = ""
    if "torch_ms" in row:
        torch_part = f" {row['torch_ms']:9.2f} " + " ".join(f"{row[f'ratio_{b}']:6.2f}" for b in backends)
    print(f"{name} {shape:>15s} {times}{torch_part} {row['gflops']:7.0f}", flush=True)


def bench_generate(args, torch_ok: bool) -> dict:
    import workloads as w
    tokens = 100 if args.quick else 300
    run, modules = w.rnnkit_generate(GENERATION["H"], GENERATION["V"], GENERATION["L"], tokens)
    fns = {"rnnkit": run, "rnnkit_sampler": w.rnnkit_sampler(GENERATION["H"], GENERATION["V"], GENERATION["L"], tokens)}
    if torch_ok:
        fns["torch"] = w.torch_generate(modules, tokens)
    res = {f"{k}_us_per_token": v / tokens * 1e6 for k, v in interleaved(fns, args.reps).items()}
    res.update(GENERATION, B=1, tokens=tokens)
    if torch_ok:
        res["ratio"] = res["torch_us_per_token"] / res["rnnkit_us_per_token"]
    return res


def bench_charlm(args, torch_ok: bool) -> dict:
    """Characters per second of a whole ``rnnkit train charlm`` step against the PyTorch loop."""
    import workloads as w
    run, model = w.rnnkit_charlm()
    fns = {"rnnkit": run}
    if torch_ok:
        fns["torch"] = w.torch_charlm(model)
    chars = w.CHARLM["B"] * w.CHARLM["T"]
    res = {f"{k}_chars_per_s": chars / v for k, v in interleaved(fns, args.reps).items()}
    res.update(w.CHARLM)
    if torch_ok:
        res["ratio"] = res["rnnkit_chars_per_s"] / res["torch_chars_per_s"]
    return res


def memory_child(lib: str, cell: str, T, B, D, H, L) -> None:
    """Print the peak RSS (MiB) that training steps add, in this fresh process.

    A tiny model's step first loads what loads lazily (oneDNN, numba and its
    kernels); then the model and batch are built, and the peak of two
    training steps is taken above the RSS before them, so buffers kept from
    one step to the next count.
    """
    import workloads as w

    def build(T, B, D, H, L):
        layer, x = w.rnnkit_layer(cell, D, H, L), w.batch(T, B, D)
        return w.rnnkit_train(layer, x) if lib == "rnnkit" else w.torch_train(w.torch_layer(cell, layer), x)
    build(3, 2, 4, 5, 1)()
    run = build(*map(int, (T, B, D, H, L)))
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    run()
    run()
    print(json.dumps({"step_peak_mib": (_status_kib("VmHWM") - before) / 1024}))


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def bench_memory(torch_ok: bool) -> dict:
    """Each library in its own process; a fixed malloc mmap threshold returns freed arrays to
    the system at once, so RSS follows what is live (glibc otherwise may keep them)."""
    res = {"case": dict(zip(("cell", "T", "B", "D", "H", "layers"), MEMORY_CASE))}
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    for lib in ["rnnkit"] + (["torch"] if torch_ok else []):
        cmd = [sys.executable, __file__, "--memory-child", lib, *map(str, MEMORY_CASE)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        res[f"{lib}_step_peak_mib"] = json.loads(out.strip().splitlines()[-1])["step_peak_mib"]
    if torch_ok:
        res["ratio"] = res["rnnkit_step_peak_mib"] / res["torch_step_peak_mib"]
    return res


def bench_startup(reps: int) -> dict:
    def median_run(code: str) -> float:
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]
    import_s, bare_s = median_run("import rnnkit"), median_run("pass")
    return {"import_rnnkit_s": import_s, "python_alone_s": bare_s, "installed_mib": installed_mib()}


def installed_mib() -> float:
    """Size on disk of rnnkit's package and of its required dependencies' distributions."""
    from importlib import metadata

    import rnnkit
    total = sum(f.stat().st_size for f in Path(rnnkit.__file__).parent.rglob("*") if f.is_file())
    for dep in ("numpy",):
        dist = metadata.distribution(dep)
        total += sum(p.stat().st_size for p in map(dist.locate_file, dist.files or []) if Path(p).is_file())
    return total / 2 ** 20


def summary(res: dict, backends) -> None:
    from statistics import geometric_mean
    rows = [r for r in res.get("train", []) if "ratio" in r]
    for b in backends if rows else ():
        ratios = [r[f"ratio_{b}"] for r in rows]
        lstm = [r[f"ratio_{b}"] for r in rows if r["cell"] == "lstm"]
        print(f"training ({b}): geometric mean ratio {geometric_mean(ratios):.2f}, min {min(ratios):.2f}; "
              f"LSTM geometric mean {geometric_mean(lstm):.2f}, min {min(lstm):.2f}" if lstm else "")
    for r in res.get("variants", []):
        torch_part = f", torch {r['torch_ms']:.1f} ms (ratio {r['ratio']:.2f})" if "ratio" in r else " (torch.nn: none)"
        print(f"LSTM {r['variant']} {point_name(r)}: rnnkit {r['rnnkit_ms']:.1f} ms{torch_part}")
    peak = res["gemm_peak"]
    shares = ", ".join(f"{point_name(r)} {100 * r['peak_share']:.0f}%" for r in res.get("train", [])
                       if r["cell"] == "lstm")
    print(f"GEMM peak {res['gemm_peak_gflops']:.0f} GFLOP/s (start {peak['start']['gflops']:.0f}, "
          f"end {peak['end']['gflops']:.0f}); share of it reached by rnnkit's LSTM: {shares}")
    if "charlm" in res:
        c = res["charlm"]
        torch_part = f", torch {c['torch_chars_per_s']:.0f} (ratio {c['ratio']:.2f})" if "ratio" in c else ""
        print(f"charlm training step (LSTM L=2 H=256, B=64, bptt 100, Adam): rnnkit {c['rnnkit_chars_per_s']:.0f} "
              f"chars/s{torch_part}")
    if "generate" in res:
        g = res["generate"]
        torch_part = f", torch {g['torch_us_per_token']:.0f} (ratio {g['ratio']:.2f})" if "ratio" in g else ""
        print(f"generation (LSTM L=2 H=512 V=65 B=1): rnnkit {g['rnnkit_us_per_token']:.0f} µs/token through step, "
              f"{g['rnnkit_sampler_us_per_token']:.0f} through the charlm sampler{torch_part}")
    if "memory" in res:
        m = res["memory"]
        torch_part = f", torch {m['torch_step_peak_mib']:.0f} MiB (ratio {m['ratio']:.2f})" if "ratio" in m else ""
        print(f"peak RSS added by LSTM 100,32,512,512 training steps: rnnkit {m['rnnkit_step_peak_mib']:.0f} MiB"
              f"{torch_part}")
    if "startup" in res:
        s = res["startup"]
        print(f"import rnnkit: {s['import_rnnkit_s']:.2f} s (python alone {s['python_alone_s']:.2f} s); "
              f"installed with numpy: {s['installed_mib']:.0f} MiB")


def main(argv=None) -> dict:
    args = parse(argv)
    machine.enter_timing_environment(__file__, argv, args.threads, args.keep_blas_env)  # time what users get
    if args.memory_child:
        memory_child(*args.memory_child)
        return {}
    args.layers = args.layers or ([1] if args.quick else [1, 2])
    args.reps = args.reps or (3 if args.quick else 9)
    peak = machine.gemm_peak()  # before PyTorch is loaded: no OpenMP threads spinning beside it
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    torch_ok = torch is not None
    res = {"machine": machine.describe(args.threads, torch) | {"rnnkit_backends": args.backends}}
    print(machine.header(res["machine"]))
    cols = " ".join(f"{b + ' ms':>9s}" for b in args.backends)
    ratios = " ".join(f"{'r ' + b[:4]:>6s}" for b in args.backends) if torch_ok else ""
    print(f"{'cell':5s} {'':4s} {'T,B,D,H':>15s} {cols} {'torch ms' if torch_ok else '':>9s} {ratios} {'GFLOP/s':>7s}")
    if "train" not in args.skip:
        res["train"] = bench_train(args, torch_ok)
    if "variants" not in args.skip:
        res["variants"] = bench_variants(args, torch_ok)
    after = machine.gemm_peak()  # again at the end (after a pause): the machine may have changed speed
    res["gemm_peak"] = {"start": peak, "end": after}
    res["gemm_peak_gflops"] = max(peak["gflops"], after["gflops"])
    for row in res.get("train", []) + res.get("variants", []):
        row["peak_share"] = row["gflops"] / res["gemm_peak_gflops"]
    if "charlm" not in args.skip:
        res["charlm"] = bench_charlm(args, torch_ok)
    if "generate" not in args.skip:
        res["generate"] = bench_generate(args, torch_ok)
    if "memory" not in args.skip:
        res["memory"] = bench_memory(torch_ok)
    if "startup" not in args.skip:
        res["startup"] = bench_startup(3 if args.quick else 7)
    summary(res, args.backends)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.json}")
    return res


if __name__ == "__main__":
    main()
