"""train.distributed in one process: shares, the weighted mean of gradients, detection, agreement."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnkit.errors import DataError, RnnkitError
from rnnkit.train import distributed
from rnnkit.train.distributed import SINGLE, World, concat_shares, detect, launch_rank, mean_gradients, share


@pytest.mark.parametrize("n,size", [(5, 2), (5, 3), (7, 7), (64, 3), (3, 1)])
def test_shares_cover_the_rows_once_in_order_and_differ_by_at_most_one(n, size):
    shares = [share(n, r, size) for r in range(size)]
    rows = np.concatenate([np.arange(n)[s] for s in shares])
    assert rows.tolist() == list(range(n))
    lengths = [s.stop - s.start for s in shares]
    assert max(lengths) - min(lengths) <= 1 and min(lengths) >= 1


class OtherRank(World):
    """A world of two in one process: the other rank's buffer is added by the Allreduce."""

    size = 2

    def __init__(self, other: np.ndarray):
        self.other = other

    def allreduce_sum(self, buffer):
        buffer += self.other
        return buffer


def test_one_allreduce_gives_the_global_mean_of_uneven_shares():
    rng = np.random.default_rng(0)
    per_item = rng.standard_normal((7, 3, 2))          # ∇ℓ_i of 7 items, a (3, 2) parameter
    losses = rng.random(7)
    mine, theirs = slice(0, 4), slice(4, 7)            # 4 items here, 3 on the other rank
    other = np.concatenate([per_item[theirs].sum(0).ravel(), [losses[theirs].sum(), 3, 3, 0.0]])
    grads = {"w": per_item[mine].mean(0)}
    loss, n, tail = mean_gradients(OtherRank(other), grads, losses[mine].mean(), 4, [4, 1.5])
    np.testing.assert_allclose(grads["w"], per_item.mean(0), rtol=1e-14)
    assert n == 7 and loss == pytest.approx(losses.mean(), rel=1e-14)
    assert tail.tolist() == [7, 1.5]


def test_one_process_changes_nothing():
    g = {"a": np.arange(6.0).reshape(2, 3), "b": np.ones(2)}
    before = {k: v.copy() for k, v in g.items()}
    loss, n, tail = mean_gradients(SINGLE, g, 0.25, 10, [10, 2.0, 0.0])
    assert loss == 0.25 and n == 10 and tail.tolist() == [10, 2.0, 0.0]
    for k in g:
        np.testing.assert_allclose(g[k], before[k], rtol=1e-15)
    x = np.ones((2, 3, 4))
    assert concat_shares(SINGLE, x, axis=1) is x


def test_detection_follows_the_launcher_and_insisting_without_mpi4py_is_a_clear_error(monkeypatch):
    assert detect(environ={}) is SINGLE
    assert launch_rank({"OMPI_COMM_WORLD_RANK": "3"}) == 3 and launch_rank({}) == 0
    monkeypatch.setitem(sys.modules, "mpi4py", None)   # as if it were not installed
    with pytest.raises(RnnkitError, match=r"--distributed: --distributed was given but mpi4py is not installed"):
        detect(insist=True, environ={})
    with pytest.raises(RnnkitError, match=r"an MPI launcher started this process but mpi4py"):
        detect(environ={"OMPI_COMM_WORLD_SIZE": "2"})


def test_agreement_and_root_errors_keep_their_kind():
    def bad():
        raise DataError("x.txt: line 3: bad")
    with pytest.raises(DataError, match="line 3"):
        SINGLE.agree(bad)
    with pytest.raises(DataError, match="line 3"):
        SINGLE.on_root(bad)
    assert SINGLE.on_root(lambda: [1, "a"]) == [1, "a"]
    assert isinstance(distributed._as_error({"type": "DivergenceError", "message": "m"}), RnnkitError)
    assert type(distributed._as_error({"type": "NotAnError", "message": "m"})) is RnnkitError
