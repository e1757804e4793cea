"""What the benchmark ran on, and the environment it times in.

* :func:`timing_environment`: the environment of the timed processes. Some of
  our machines set ``OPENBLAS_CORETYPE`` (and sometimes ``OPENBLAS_L2_SIZE``)
  because *older* OpenBLAS builds misbehave on their CPUs; a current NumPy is
  only slowed by them (AVX2 kernels instead of AVX-512), and users' machines do
  not have them. The benchmark therefore times with both removed, together,
  and records what it removed. The library never reads or changes them.
* :func:`describe`: NumPy/OpenBLAS versions and the kernel OpenBLAS actually
  chose (threadpoolctl's ``architecture``), its threads, the CPU model and the
  SIMD flags that matter, PyTorch's CPU capability.
* :func:`gemm_peak`: the float32 matrix-multiply speed of NumPy's BLAS, the
  denominator of "share of peak". Measured with the benchmark's thread count,
  after warm-up calls (the clock ramps up), over several sizes (the best
  median wins), and before PyTorch is loaded, or after a pause, so that
  OpenMP threads spinning after PyTorch's last call do not take a core from it.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REMOVED = "RNNKIT_BENCH_REMOVED"  # set in the timed process: what was removed from its environment
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile")


def timing_environment(environ=None) -> dict | None:
    """The environment to re-run the benchmark in, without the OpenBLAS overrides; None when
    the current one has neither (or is already the cleaned one)."""
    environ = dict(os.environ if environ is None else environ)
    present = {k: environ[k] for k in BLAS_OVERRIDES if k in environ}
    if not present:
        return None
    for k in BLAS_OVERRIDES:  # both together: L2_SIZE is a tuning for the forced core type
        environ.pop(k, None)
    environ[REMOVED] = " ".join(f"{k}={v}" for k, v in present.items())
    return environ


def enter_timing_environment(script: str, argv, threads: int, keep_blas_env: bool = False) -> None:
    """Make this process the timed one: re-execute ``script`` with ``argv`` without the OpenBLAS
    overrides (unless ``keep_blas_env``), then set the BLAS / OpenMP threads NumPy and PyTorch will read
    when they load (unless already set)."""
    env = None if keep_blas_env else timing_environment()
    if env is not None:
        argv = sys.argv[1:] if argv is None else list(argv)
        os.execve(sys.executable, [sys.executable, str(Path(script).resolve()), *argv], env)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


def blas_info() -> dict:
    """The BLAS NumPy loaded, as threadpoolctl reports it (kernel, version, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"error": "threadpoolctl not installed (pip install threadpoolctl): kernel not recorded"}
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return {k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                             "threading_layer")} | {"file": os.path.basename(lib["filepath"])}
    return {"error": "no BLAS library found by threadpoolctl"}


def cpu_info() -> dict:
    model, flags = platform.processor(), set()
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    return {"model": model, "simd": [f for f in SIMD_FLAGS if f in flags], "cpu_count": os.cpu_count(),
            "usable_cores": usable_cores()}


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the system has one, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def describe(threads: int, torch_module=None) -> dict:
    import numpy as np
    info = {"python": platform.python_version(), "numpy": np.__version__, "threads": threads,
            "blas": blas_info(), "cpu": cpu_info(),
            "blas_env_removed": os.environ.get(REMOVED, "(none set)"),
            "blas_env_now": {k: os.environ.get(k) for k in BLAS_OVERRIDES}}
    if torch_module is not None:
        info["torch"] = torch_module.__version__
        info["torch_cpu_capability"] = torch_module.backends.cpu.get_cpu_capability()
    try:
        import numba
        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    from importlib.metadata import PackageNotFoundError, version
    try:  # rnnkit[onednn]: the layers' large products on one thread go to oneDNN's sgemm
        info["onednn"] = version("onednn-cpu-gomp")
    except PackageNotFoundError:
        info["onednn"] = None
    return info


def header(info: dict) -> str:
    blas = info["blas"]
    kernel = blas.get("architecture", blas.get("error"))
    return (f"numpy {info['numpy']} ({blas.get('internal_api', '?')} {blas.get('version', '?')}, kernel {kernel}, "
            f"{blas.get('num_threads', '?')} threads) | torch {info.get('torch')} "
            f"({info.get('torch_cpu_capability', '-')}) | oneDNN sgemm {info.get('onednn') or 'no'} | "
            f"{info['cpu']['model']}, {info['cpu']['usable_cores']} usable cores: {' '.join(info['cpu']['simd'])} | "
            f"removed from the timed environment: {info['blas_env_removed']}")


def gemm_peak(sizes=(1024, 2048, 3072), reps: int = 7, warmup: int = 3, settle: float = 0.5) -> dict:
    """Best median float32 GEMM speed (GFLOP/s) over square sizes, with NumPy's BLAS threads."""
    import numpy as np
    time.sleep(settle)
    rng = np.random.default_rng(0)
    by_size = {}
    for n in sizes:
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        for _ in range(warmup):
            np.matmul(a, b, out=out)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - start)
        by_size[n] = 2 * n ** 3 / sorted(times)[reps // 2] / 1e9
    return {"gflops": max(by_size.values()), "by_size": by_size}
