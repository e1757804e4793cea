"""A run id becomes a path inside a served folder, or is refused: '..', links out, encoded slashes."""
from __future__ import annotations

import pytest

from rnnkit.errors import RnnkitError
from rnnkit.serve.folders import Folders, PathRefused


def test_a_run_inside_is_resolved(runs):
    assert Folders([runs]).resolve("0/charlm") == (runs / "charlm").resolve()


@pytest.mark.parametrize("run_id", ["", "charlm", "1/charlm", "-1/charlm", "0/../runs/charlm", "0/..", "0/charlm/..",
                                    "0//charlm", "0/./charlm", "/etc/passwd", "0/charlm\\..\\..", "0/charlm\0",
                                    "0/nothing", "0/charlm/vocab.json", "x" * 5000])
def test_anything_else_is_refused(runs, run_id):
    with pytest.raises(PathRefused):
        Folders([runs]).resolve(run_id)


def test_a_link_out_of_the_folder_is_refused(runs, tmp_path):
    outside = tmp_path / "outside"
    (runs / "charlm").rename(outside)
    (runs / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathRefused, match="outside the served folder"):
        Folders([runs]).resolve("0/linked")


def test_a_link_within_the_folder_is_followed(runs):
    (runs / "alias").symlink_to(runs / "charlm", target_is_directory=True)
    assert Folders([runs]).resolve("0/alias") == (runs / "charlm").resolve()


def test_a_folder_must_exist(tmp_path):
    with pytest.raises(RnnkitError, match="FOLDER: .* is not a directory"):
        Folders([tmp_path / "missing"])
