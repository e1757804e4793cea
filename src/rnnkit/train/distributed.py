"""The processes that train one run together (data parallel, on MPI), and the few collectives they need.

Legend: R ranks (``size``), rank r; the global batch B is cut into R shares, rank r's of ``n_r``
items (tokens or examples, whatever the loss averages over), N = Σ_r n_r.

Each rank computes the mean-loss gradient g_r of its share; one Allreduce of n_r·g_r and division
by N gives every rank the gradient of the global mean,

    g = (1/N) Σ_r n_r g_r = (1/N) Σ_i ∇ℓ_i,

exactly the one-process gradient at batch B (to rounding), however uneven or masked the shares.
Every rank then takes the same optimizer step from the same weights (broadcast from rank 0 at the
start), so the weights stay identical without ever being sent again.

MPI is the engine (``pip install "rnnkit[mpi]"``: mpi4py and Open MPI): the launcher (``mpiexec``,
``srun --mpi=pmix``) starts the ranks, wires them on any network it knows, and stops them all, naming
the rank, when one dies. Messages other than arrays travel as JSON, never pickled. This module
imports ``mpi4py`` only when the process was started by an MPI launcher, or when asked to insist.
"""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from rnnkit import errors
from rnnkit.errors import RnnkitError
from rnnkit.train.checkpoint import atomic_write_bytes

# set in every rank's environment by the launchers: Open MPI's mpiexec, PMIx (srun --mpi=pmix), MPICH/Hydra
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE")
INSTALL = 'pip install "rnnkit[mpi]" (mpi4py and Open MPI)'


class World:
    """One process alone: rank 0 of 1. The collectives do nothing (the base of :class:`MPIWorld`)."""

    rank, size = 0, 1

    @property
    def root(self) -> bool:
        """Whether this is rank 0, the one that writes the run directory, the logs and the progress bar."""
        return self.rank == 0

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        """Sum ``buffer`` over the ranks, in place on every rank; returns it."""
        return buffer

    def broadcast_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Overwrite every rank's ``arrays`` (same names, shapes, dtypes) with rank 0's, in place."""

    def broadcast(self, obj):
        """Rank 0's JSON-able ``obj`` on every rank."""
        return obj

    def allgather(self, obj) -> list:
        """Every rank's JSON-able ``obj``, in rank order, on every rank."""
        return [obj]

    def on_root(self, fn: Callable):
        """``fn()`` run on rank 0 alone, its JSON-able result on every rank; an RnnkitError it raises is
        raised on every rank (so none waits for a result that never comes)."""
        failure, value = None, None
        if self.root:
            try:
                value = fn()
            except RnnkitError as exc:
                failure = _as_message(exc)
        failure, value = self.broadcast([failure, value])
        if failure:
            raise _agreed(_as_error(failure))
        return value

    def agree(self, fn: Callable):
        """``fn()`` run on every rank; if it raises an RnnkitError on any, every rank raises the first
        failing rank's error (naming the rank), so that none goes on alone into a collective."""
        try:
            value, failure = fn(), None
        except RnnkitError as exc:
            if self.size == 1:
                raise
            value, failure = None, _as_message(exc)
        failures = self.allgather(failure)
        for rank, failure in enumerate(failures):
            if failure:
                failure["message"] = f"rank {rank} of {self.size}: {failure['message']}" if rank else \
                    failure["message"]
                raise _agreed(_as_error(failure))
        return value

    def allgather_into(self, data: np.ndarray, out: np.ndarray, counts: list[int]) -> None:
        """Every rank's 1-D ``data`` (``counts[r]`` values from rank r) into ``out``, in rank order."""
        out[...] = data

    def abort(self, code: int = 1) -> None:
        """Stop every rank at once (a rank failed where the others cannot know it)."""


SINGLE = World()


class MPIWorld(World):
    """The ranks of an MPI communicator (``MPI.COMM_WORLD``)."""

    def __init__(self, comm):
        from mpi4py import MPI
        self.comm, self.mpi = comm, MPI
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        self.comm.Allreduce(self.mpi.IN_PLACE, buffer, op=self.mpi.SUM)
        return buffer

    def broadcast_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name in sorted(arrays):
            self.comm.Bcast(arrays[name], root=0)

    def broadcast(self, obj):
        data = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8) if self.root else None
        length = np.array([len(data) if self.root else 0], dtype=np.int64)
        self.comm.Bcast(length, root=0)
        data = np.array(data) if self.root else np.empty(int(length[0]), dtype=np.uint8)
        self.comm.Bcast(data, root=0)
        return json.loads(data.tobytes())

    def allgather(self, obj) -> list:
        data = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)
        lengths = np.zeros(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([len(data)], dtype=np.int64), lengths)
        gathered = np.empty(int(lengths.sum()), dtype=np.uint8)
        self.comm.Allgatherv(np.array(data), [gathered, lengths])
        ends = np.cumsum(lengths)
        return [json.loads(gathered[e - n:e].tobytes()) for e, n in zip(ends, lengths)]

    def allgather_into(self, data: np.ndarray, out: np.ndarray, counts: list[int]) -> None:
        self.comm.Allgatherv(data, [out, counts])

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(code)


def launched_by_mpi(environ=os.environ) -> bool:
    """Whether an MPI launcher started this process (it sets one of ``LAUNCHER_VARIABLES``)."""
    return any(name in environ for name in LAUNCHER_VARIABLES)


def launch_rank(environ=os.environ) -> int:
    """This process's rank as its MPI launcher set it (0 when there is none), known before MPI starts."""
    for name in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
        if environ.get(name, "").isdigit():
            return int(environ[name])
    return 0


def detect(insist: bool = False, environ=os.environ) -> World:
    """The world this process trains in: MPI's when an MPI launcher started it (or when ``insist``),
    else one process alone. RnnkitError if MPI is wanted and mpi4py is missing."""
    if not (insist or launched_by_mpi(environ)):
        return SINGLE
    try:
        from mpi4py import MPI
    except ImportError:
        why = "--distributed was given" if insist else "an MPI launcher started this process"
        raise RnnkitError(f"--distributed: {why} but mpi4py is not installed: {INSTALL}") from None
    world = MPIWorld(MPI.COMM_WORLD)
    return world if world.size > 1 else SINGLE


def share(n: int, rank: int, size: int) -> slice:
    """Rank ``rank``'s share of ``n`` rows: consecutive, sizes differing by at most one (the first
    ``n % size`` ranks take one more)."""
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def same_everywhere(world: World, digest: str, what: str, advice: str) -> None:
    """RnnkitError on every rank alike (so none is left alone in a collective) unless every rank's
    ``digest`` equals rank 0's; the message names the ranks that differ, ``what`` and the ``advice``."""
    digests = world.allgather(digest)
    differ = [rank for rank, d in enumerate(digests) if d != digests[0]]
    if differ:
        raise _agreed(RnnkitError(f"rank(s) {', '.join(map(str, differ))} of {world.size} {what} than rank 0: "
                                  f"{advice}"))


def copy_files(world: World, source, target, names) -> None:
    """Rank 0's files ``names`` of the directory ``source`` (those that exist there) written into every
    other rank's directory ``target``: what a rank that cannot see rank 0's run directory must read."""
    if world.size == 1:
        return
    listed = world.broadcast([n for n in names if (Path(source) / n).is_file()] if world.root else None)
    blobs = [(Path(source) / n).read_bytes() if world.root else b"" for n in listed]
    sizes = world.broadcast([len(b) for b in blobs] if world.root else None)
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8).copy() if world.root else \
        np.empty(sum(sizes), dtype=np.uint8)
    world.broadcast_arrays({"files": data})
    if not world.root:
        offset = 0
        for name, size in zip(listed, sizes):
            atomic_write_bytes(Path(target) / name, data[offset:offset + size].tobytes())
            offset += size


def mean_gradients(world: World, grads: dict[str, np.ndarray], loss: float, weight: int,
                   tail: list[float]) -> tuple[float, int, np.ndarray]:
    """One Allreduce turns each rank's mean-loss gradients ``grads`` (of its ``weight`` = n_r items) into
    the global mean g = (1/N) Σ_r n_r g_r, in place on every rank; also sums ``tail`` (a few numbers
    that travel with it). Returns (the global mean loss, N, the summed tail)."""
    names = list(grads)
    dtype = grads[names[0]].dtype if names else np.float64
    buffer = np.concatenate([grads[k].ravel() * weight for k in names]
                            + [np.array([loss * weight, weight, *tail], dtype=dtype)])
    world.allreduce_sum(buffer)
    total = buffer[-len(tail) - 1]
    offset = 0
    for k in names:  # g = Σ_r n_r g_r / N, written back into the gradient arrays
        g = grads[k]
        np.divide(buffer[offset:offset + g.size].reshape(g.shape), total, out=g)
        offset += g.size
    return float(buffer[-len(tail) - 2] / total), int(round(float(total))), buffer[len(buffer) - len(tail):]


def concat_shares(world: World, array: np.ndarray, axis: int) -> np.ndarray:
    """Every rank's ``array`` (its share of the rows along ``axis``) joined in rank order, on every rank."""
    if world.size == 1:
        return array
    moved = np.ascontiguousarray(np.moveaxis(array, axis, 0))
    shapes = world.allgather(list(moved.shape))
    flat = np.empty(sum(int(np.prod(s)) for s in shapes), dtype=array.dtype)
    world.allgather_into(moved.ravel(), flat, [int(np.prod(s)) for s in shapes])
    parts, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        parts.append(flat[offset:offset + n].reshape(shape))
        offset += n
    return np.moveaxis(np.concatenate(parts), 0, axis)


@contextmanager
def no_rank_alone(world: World):
    """Around work that ranks do together: an error that was not raised on every rank alike (by
    :meth:`World.agree`, :meth:`World.on_root`, or a divergence seen in the reduced loss) stops every
    rank with MPI_Abort, naming this rank, instead of leaving the others waiting in a collective."""
    try:
        yield
    except BaseException as exc:
        if world.size > 1 and not (getattr(exc, "agreed", False) or isinstance(exc, errors.DivergenceError)):
            print(f"rnnkit: rank {world.rank} of {world.size} failed alone, stopping every rank: "
                  f"{type(exc).__name__}: {exc}"[:600], file=sys.stderr, flush=True)
            world.abort(2 if isinstance(exc, RnnkitError) else 1)
        raise


def _agreed(exc: RnnkitError) -> RnnkitError:
    exc.agreed = True  # raised on every rank alike: nothing to stop
    return exc


def _as_message(exc: RnnkitError) -> dict:
    return {"type": type(exc).__name__, "message": str(exc)}


def _as_error(message: dict) -> RnnkitError:
    """The error a rank raised, rebuilt from its JSON message (an RnnkitError or one of its subclasses)."""
    kind = getattr(errors, str(message.get("type")), RnnkitError)
    kind = kind if isinstance(kind, type) and issubclass(kind, RnnkitError) else RnnkitError
    try:
        return kind(message["message"])
    except TypeError:  # an error class with more required arguments
        return RnnkitError(message["message"])
