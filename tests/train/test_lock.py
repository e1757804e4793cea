"""The run lock: one writer per run, released by the kernel when its process dies, even by kill -9."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rnnkit.errors import RunError
from rnnkit.train.lock import RunLock, run_containing

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def test_a_second_lock_names_the_holder_and_a_released_lock_is_free(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunError, match=rf"run '{tmp_path}' is in use by process {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path):
        pass


def test_a_process_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from rnnkit.train.lock import RunLock\n"
        f"RunLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=f"in use by process {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process
        try:
            RunLock(tmp_path).acquire().release()
            break
        except RunError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_run_containing_finds_the_run_at_any_depth_and_through_links(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"task": "charlm", "config": {}}')
    (tmp_path / "link").symlink_to(run / "best.safetensors")
    assert run_containing(run) == run
    assert run_containing(run / "best.safetensors") == run
    assert run_containing(run / "a" / "b" / "c.png") == run
    assert run_containing(tmp_path / "link") == run
    assert run_containing(tmp_path / "elsewhere.onnx") is None
    (tmp_path / "config.json").write_text('{"not": "a run"}')
    assert run_containing(tmp_path / "x.onnx") is None
