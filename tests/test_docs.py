"""The README's Python examples and the example scripts run as written."""
from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write run directories under ./runs
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:  # later blocks use names from earlier ones, as a reader would
        exec(compile(block, "README.md", "exec"), namespace)


def test_numpy_demo_reproduces_the_notes(capsys):
    runpy.run_path(str(ROOT / "examples" / "numpy_demo.py"), run_name="__main__")
    assert "reproduces the notes' demo" in capsys.readouterr().out


@pytest.mark.parametrize("index", [1, 3])
def test_echo_reaches_full_accuracy(index):
    echo = runpy.run_path(str(ROOT / "examples" / "echo.py"))
    assert echo["main"](["--index", str(index)]) == 1.0
