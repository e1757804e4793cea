"""The command: a bad or busy port is one clear error, 0.0.0.0 warns, and the server answers."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from rnnkit.cli.main import main
from rnnkit.serve.server import warning_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder, port: int, *extra: str) -> subprocess.Popen:
    """``rnnkit serve FOLDER --port PORT`` in a child process, once it listens (its first line read)."""
    pytest.importorskip("uvicorn", reason="rnnkit serve needs the serve extra: pip install 'rnnkit[serve]'")
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(folder), "--port", str(port), "--quiet",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert f":{port}" in line, line + proc.stderr.read()
    for _ in range(100):  # the socket is bound before the line is printed; wait for the application
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=1)
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("rnnkit serve did not answer")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("port", ["0", "65536"])
def test_a_bad_port_is_refused_by_name(tmp_path, capsys, port):
    assert main(["serve", str(tmp_path), "--port", port]) == 2
    assert "--port: expected a port number from 1 to 65535" in capsys.readouterr().err


def test_a_port_in_use_is_one_clear_error(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--port {port}: the port is in use" in err and "Traceback" not in err


def test_a_missing_folder_is_refused(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nowhere"), "--port", "8765"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_only_this_machine_by_default_and_a_warning_for_everywhere():
    assert warning_for("127.0.0.1") is None
    assert "every machine" in warning_for("0.0.0.0")


def test_the_server_serves_and_stops(runs):
    port = free_port()
    proc = start(runs, port)
    try:
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "rnnkit serve" in page
    finally:
        stop(proc)


def test_without_the_serve_extra_it_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if uvicorn were not installed
    assert main(["serve", str(tmp_path), "--port", "8765"]) == 2
    assert "pip install \"rnnkit[serve]\"" in capsys.readouterr().err
