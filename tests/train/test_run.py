"""Run directories: commits through the manifest, crash recovery at every point, checksums on load."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.errors import RunError
from rnnkit.nn.layers import Linear
from rnnkit.train import run as run_module
from rnnkit.train.checkpoint import tensors_bytes
from rnnkit.train.run import Run

OLD = {"a.bin": b"old a", "b.bin": b"old b"}
NEW = {"a.bin": b"new a", "b.bin": b"new b"}


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even the cleanup of the failed operation)."""


def crash_after(monkeypatch, calls: int):
    """Make the ``calls``-th os.replace (of any atomic write or rename) never happen, nor anything after it."""
    real, count = run_module.os.replace, {"n": 0}

    def replace(src, dst):
        count["n"] += 1
        if count["n"] >= calls:
            raise Crash
        real(src, dst)

    monkeypatch.setattr(run_module.os, "replace", replace)
    return real


def contents(run: Run) -> dict[str, bytes]:
    return {name: run.file(name).read_bytes() for name in OLD}


def test_commit_writes_files_and_checksums(tmp_path):
    run = Run.create(tmp_path)
    run.commit(NEW, step=3)
    assert contents(run) == NEW
    manifest = json.loads(run.file("manifest.json").read_text())
    assert manifest["step"] == 3 and manifest["files"]["a.bin"]["bytes"] == 5
    assert run.verified("a.bin") == run.file("a.bin")
    assert not list(tmp_path.glob("*.next"))


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5])
def test_a_crash_anywhere_in_a_commit_leaves_the_old_or_the_new_files_whole(tmp_path, monkeypatch, crash_at):
    # the os.replace calls of a commit of two files: 1, 2 = the .next files, 3 = the manifest (the
    # commit point), 4, 5 = renaming the .next files over the old ones
    run = Run.create(tmp_path)
    run.commit(OLD, step=1)
    real = crash_after(monkeypatch, crash_at)
    with pytest.raises(Crash):
        run.commit(NEW, step=2)
    monkeypatch.setattr(run_module.os, "replace", real)
    committed = crash_at > 3
    # a reader during the crash sees a consistent, verified set
    assert {name: run.verified(name).read_bytes() for name in OLD} == (NEW if committed else OLD)
    run.recover()
    assert contents(run) == (NEW if committed else OLD)
    assert not list(tmp_path.glob("*.next")) and not list(tmp_path.glob(".*.tmp"))
    assert json.loads(run.file("manifest.json").read_text())["step"] == (2 if committed else 1)


def test_recover_removes_leftover_temporary_files(tmp_path):
    run = Run.create(tmp_path)
    run.commit(OLD)
    (tmp_path / ".a.bin.x1y2.tmp").write_bytes(b"half")
    (tmp_path / "b.bin.next").write_bytes(b"never committed")
    run.recover()
    assert contents(run) == OLD and sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin", "manifest.json"]


def test_loading_a_modified_model_file_names_it(tmp_path):
    run = Run.create(tmp_path)
    model = Linear(3, 2, seed=0)
    run.save_model("best.safetensors", model, step=4)
    other = Linear(3, 2, seed=1)
    run.load_model("best.safetensors", other)
    np.testing.assert_array_equal(other.params["weight"], model.params["weight"])
    data = bytearray(run.file("best.safetensors").read_bytes())
    data[-3] ^= 0x40
    run.file("best.safetensors").write_bytes(bytes(data))
    with pytest.raises(RunError, match=r"best.safetensors: checksum mismatch"):
        run.load_model("best.safetensors", other)
    run.file("best.safetensors").unlink()
    with pytest.raises(RunError, match=r"best.safetensors: file not found \(listed in manifest.json\)"):
        run.load_model("best.safetensors", other)


def test_the_preferred_weights_are_the_best_else_the_last(tmp_path):
    run = Run.create(tmp_path)
    assert run.preferred_weights() is None                     # no checkpoint yet
    run.save_model("last.safetensors", Linear(3, 2, seed=0))
    assert run.preferred_weights() == "last"                   # before the first evaluation
    run.save_model("best.safetensors", Linear(3, 2, seed=0))
    assert run.preferred_weights() == "best"


def test_an_unrecorded_model_file_is_refused_once_there_is_a_manifest(tmp_path):
    run = Run.create(tmp_path)
    run.commit({"state.json": b"{}"})
    run.file("last.safetensors").write_bytes(tensors_bytes({"weight": np.zeros((2, 3), np.float32)}))
    with pytest.raises(RunError, match="last.safetensors: not recorded in manifest.json"):
        run.load_tensors("last.safetensors")



@pytest.mark.parametrize("name", ["best.safetensors", "last.safetensors", "state.safetensors", "state.json"])
def test_weights_without_a_manifest_are_a_damaged_run_until_reverified(tmp_path, name):
    """Deleting manifest.json must not switch the checksums off (issue 13, class 7)."""
    run = Run.create(tmp_path)
    weights = tensors_bytes({"weight": np.zeros((2, 3), np.float32)})
    run.commit({"best.safetensors": weights, "last.safetensors": weights, "state.safetensors": weights,
                "state.json": b'{"train": {"step": 4}}'}, step=4)
    run.file("manifest.json").unlink()
    with pytest.raises(RunError, match=rf"the run is damaged: it has {name} but no manifest.json.*"
                                       rf"rnnkit train --resume {tmp_path} --reverify"):
        run.verified(name)
    run.reverify()
    assert run.verified(name) == run.file(name) and run.manifest()["step"] == 4


def test_bad_manifest_and_jsonl_name_the_file(tmp_path):
    run = Run.create(tmp_path)
    run.file("manifest.json").write_text('{"files": {"a": {"sha256": 1}}}')
    with pytest.raises(RunError, match="manifest.json: expected"):
        run.verified("a")
    run.file("metrics.jsonl").write_text('{"step": 1}\n{"step": 2\n')
    with pytest.raises(RunError, match=r"metrics.jsonl:2: not valid JSON"):
        run.metrics()
    run.file("steps.jsonl").write_text('{"step": 1}\n[3]\n')
    with pytest.raises(RunError, match=r"steps.jsonl:2: expected a JSON object"):
        run.read_jsonl("steps.jsonl")


def test_jsonl_append_and_truncate(tmp_path):
    run = Run.create(tmp_path)
    run.append_jsonl("steps.jsonl", [{"step": 1}, {"step": 2}])
    run.append_jsonl("steps.jsonl", [{"step": 3}])
    assert [r["step"] for r in run.read_jsonl("steps.jsonl")] == [1, 2, 3]
    assert [r["step"] for r in run.truncate_jsonl("steps.jsonl", 2)] == [1, 2]
    assert run.file("steps.jsonl").read_text() == '{"step": 1}\n{"step": 2}\n'
