"""A tiny trained charlm run, shared by the serve tests (a few steps, 8 hidden units)."""
from __future__ import annotations

import shutil

import pytest

from rnnkit.cli.main import main

TINY = ["--hidden", "8", "--layers", "1", "--embed", "4", "--batch-size", "4", "--bptt", "8", "--quiet"]


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A folder ``runs`` holding one finished charlm run ``charlm`` (6 steps)."""
    d = tmp_path_factory.mktemp("serve")
    (d / "corpus.txt").write_text("to be or not to be, that is the question.\n" * 30)
    assert main(["train", "charlm", str(d / "corpus.txt"), *TINY, "--max-steps", "6",
                 "--out", str(d / "runs" / "charlm")]) == 0
    return d / "runs"


@pytest.fixture
def runs(trained, tmp_path):
    """A private copy of the trained folder, free to be damaged by a test."""
    copy = tmp_path / "runs"
    shutil.copytree(trained, copy)
    return copy
