"""The command line, through main(argv): exit codes, output and errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rnnkit.cli.main import main

TEXT = "to be or not to be, that is the question.\n" * 80


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "corpus.txt"
    path.write_text(TEXT)
    return str(path)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, corpus):
    """One trained run for the module: the commands that read it must leave it as it is (test_cli_contract)."""
    out = str(tmp_path_factory.mktemp("cli") / "run")
    code = main(["train", "charlm", corpus, "--hidden", "32", "--layers", "1", "--embed", "8", "--batch-size", "4",
                 "--bptt", "16", "--max-steps", "25", "--lr", "0.01", "--out", out, "--quiet"])
    assert code == 0
    return out


def test_train_sample_score_info_evaluate(run_dir, corpus, capsys):
    capsys.readouterr()
    assert main(["sample", run_dir, "--length", "30", "--prime", "to be", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("to be") and len(out.rstrip("\n")) >= 30
    assert main(["score", run_dir, "to be or not", "--per-token"]) == 0
    assert "log P =" in capsys.readouterr().out
    assert main(["info", run_dir]) == 0
    assert "charlm" in capsys.readouterr().out
    assert main(["evaluate", run_dir, corpus, "--json"]) == 0
    assert '"perplexity"' in capsys.readouterr().out


def test_progress_and_summary_unless_quiet(tmp_path, corpus, capsys):
    main(["train", "charlm", corpus, "--hidden", "8", "--layers", "1", "--batch-size", "4", "--bptt", "16",
          "--max-steps", "3", "--out", str(tmp_path / "loud")])
    captured = capsys.readouterr()
    assert "best val loss" in captured.out and "step" in captured.err


@pytest.mark.parametrize("argv,message", [
    (["train", "charlm", "/nonexistent/file.txt", "--quiet"], "/nonexistent/file.txt: file not found"),
    (["train", "charlm", "--hidden", "0", "--quiet"], "--hidden: expected a positive integer, given 0"),
    (["sample", "/tmp"], "is not an rnnkit run directory"),
    (["predict", "RUN_DIR", "hello"], "'predict' does not apply to a 'charlm' run"),
    (["score", "RUN_DIR", "Zzz"], "not in the model's vocabulary"),
    (["sample", "RUN_DIR", "--top-p", "2"], "--top-p: expected a number in"),
    (["train"], "give a TASK"),
])
def test_bad_input_exits_2_with_a_message(argv, message, run_dir, capsys):
    argv = [run_dir if a == "RUN_DIR" else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_refuses_to_overwrite_a_run(run_dir, corpus, capsys):
    from pathlib import Path
    before = {p.name: p.read_bytes() for p in Path(run_dir).iterdir() if p.is_file()}
    assert main(["train", "charlm", corpus, "--out", run_dir, "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in Path(run_dir).iterdir() if p.is_file()} == before


def test_python_dash_m_works_like_the_command():
    result = subprocess.run([sys.executable, "-m", "rnnkit", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("rnnkit ")


def test_train_writes_its_training_curves(run_dir):
    from pathlib import Path
    rows = (Path(run_dir) / "curves_train.csv").read_text().splitlines()
    assert rows[0].startswith("run,step,") and len(rows) == 1 + 25  # one row per optimizer step
    assert (Path(run_dir) / "curves.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")  # matplotlib: a test extra


def test_a_resume_without_its_task_still_names_an_option_it_refuses(tmp_path, capsys):
    """``rnnkit train --resume R --hidden 32``: the run's task is found, so --hidden is refused by name
    (it was taken for a TASK: "invalid choice: '32'")."""
    from rnnkit.cli.main import main
    corpus, run = tmp_path / "t.txt", str(tmp_path / "run")
    corpus.write_text("to be or not to be, that is the question\n" * 20)
    assert main(["train", "charlm", str(corpus), "--hidden", "8", "--layers", "1", "--embed", "4", "--batch-size", "2",
                 "--bptt", "8", "--max-steps", "2", "--quiet", "--out", run]) == 0
    assert main(["train", "--resume", run, "--hidden", "32"]) == 2
    assert "--hidden: a resumed run keeps its settings (the run has 8, given 32)" in capsys.readouterr().err
    assert main(["train", "--resume", run, "--max-steps", "3", "--quiet"]) == 0
    assert main(["train", "--resume", str(tmp_path / "nowhere"), "--hidden", "32"]) == 2
