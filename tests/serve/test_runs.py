"""The runs list: every run with its status; a damaged run listed with its error, the rest still served."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from rnnkit.serve.folders import Folders
from rnnkit.serve.runs import list_runs, status


def test_a_finished_run_is_described(runs):
    [run] = list_runs(Folders([runs]))
    assert run["id"] == "0/charlm" and run["task"] == "charlm" and run["status"] == "finished"
    assert run["config"]["hidden"] == 8 and run["weights"] > 0 and run["steps"] == 6
    assert "best_val_loss" in run["best"] and run["error"] is None


def test_statuses(runs):
    path = runs / "charlm"
    summary = json.loads((path / "summary.json").read_text())
    assert status(path, {**summary, "stopped": "diverged"}) == "diverged"
    assert status(path, {**summary, "stopped": "interrupted"}) == "stopped"
    assert status(path, None) == "stopped"  # killed before its summary
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (path / ".lock").write_text(f"{sleeper.pid}\n")
        os.utime(path / "summary.json", (1, 1))  # the summary predates the lock: a resumed run at work
        assert status(path, summary) == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert status(path, summary) == "finished"  # the holder is gone


def test_a_damaged_run_is_listed_with_its_error(runs):
    (runs / "broken").mkdir()
    (runs / "broken" / "config.json").write_text("{not json")
    found = {r["name"]: r for r in list_runs(Folders([runs]))}
    assert found["charlm"]["error"] is None and found["charlm"]["status"] == "finished"
    assert "config.json" in found["broken"]["error"] and found["broken"]["status"] is None


def test_an_empty_folder_has_no_runs(tmp_path):
    assert list_runs(Folders([tmp_path])) == []
