"""The top level of the command line: anticipated errors exit 2 with a message, bugs exit 1 with a traceback file."""
from __future__ import annotations

import os

import numpy as np
import pytest

from rnnkit.cli.main import main

TINY = ["--hidden", "4", "--layers", "1", "--embed", "4", "--batch-size", "4", "--bptt", "8", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("main")
    (d / "corpus.txt").write_text("to be or not to be, that is the question.\n" * 30)
    assert main(["train", "charlm", str(d / "corpus.txt"), *TINY, "--max-steps", "1", "--out", str(d / "run")]) == 0
    return str(d / "run")


@pytest.mark.parametrize("exc,code,message", [
    (ZeroDivisionError("division by zero"), 1, "internal error: ZeroDivisionError: division by zero"),
    (KeyError("x"), 1, "internal error: KeyError"),
    (MemoryError(), 2, "error: not enough memory"),
    (PermissionError(13, "Permission denied", "/x/y"), 2, "error: /x/y: Permission denied"),
    (OSError(28, "No space left on device"), 2, "error: No space left on device"),
])
def test_errors_are_one_line_with_the_right_exit_code(run_dir, monkeypatch, capsys, exc, code, message):
    def broken(args):
        raise exc

    import rnnkit.cli.main as cli_main
    parser = cli_main.build_parser()
    parser._subparsers._group_actions[0].choices["info"].set_defaults(func=broken)
    monkeypatch.setattr(cli_main, "build_parser", lambda: parser)
    assert main(["info", run_dir]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if code == 1:
        path = err.split("the full traceback is in ")[1].strip()
        saved = open(path).read()
        os.unlink(path)
        assert "Traceback (most recent call last)" in saved and "broken" in saved


@pytest.mark.parametrize("argv,message", [
    (["sample", "RUN", "--seed", "-1"], "argument --seed: expected an integer >= 0, given '-1'"),
    (["train", "charlm", "--seed", "-1"], "argument --seed: expected an integer >= 0"),
    (["score", "RUN", ""], "TEXT: '' is too short to score"),
    (["train", "echo", "--length", "1000000000"], "--length: expected at most 65536"),
    (["sample", "RUN", "--length", "-5"], "argument --length: expected an integer >= 0, given '-5'"),
    (["sample", "RUN", "--prime", "to", "--temperature", "0"], "--temperature: expected a positive number"),
    (["translate", "RUN", "x", "--length-penalty", "nan"], "argument --length-penalty: expected a finite number"),
])
def test_issue_13_examples_exit_2_with_a_message(run_dir, argv, message, capsys):
    assert main([run_dir if a == "RUN" else a for a in argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""  # sample prints no prime before refusing


def test_npz_with_zero_features_or_complex_values_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "zero.npz", X=np.zeros((10, 5, 0)), y=np.arange(10) % 2)
    np.savez(tmp_path / "complex.npz", X=np.ones((10, 5, 2)) * (1 + 1j), y=np.arange(10) % 2)
    (tmp_path / "text.npz").write_text("this is not an archive\n")
    for name, message in (("zero", "X: expected a numeric array of shape (N, T, D) with N, T, D >= 1"),
                          ("complex", "X: complex numbers"), ("text", "not an npz/zip file")):
        assert main(["train", "classify", str(tmp_path / f"{name}.npz"), "--out", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert f"{name}.npz: " in err and message in err, err
        assert not (tmp_path / name).exists()


@pytest.fixture
def damaged(run_dir, tmp_path):
    import shutil
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


@pytest.mark.parametrize("argv", [["info", "RUN"], ["sample", "RUN", "--length", "3"], ["score", "RUN", "to be"],
                                  ["export", "RUN", "OUT"], ["sample", "RUN", "--weights", "last"]])
def test_a_run_without_its_manifest_is_damaged_until_reverified(damaged, tmp_path, argv, capsys):
    (damaged / "manifest.json").unlink()
    argv = [str(damaged) if a == "RUN" else str(tmp_path / "m.safetensors") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    assert f"--resume {damaged} --reverify" in capsys.readouterr().err
    assert main(["train", "--resume", str(damaged), "--reverify", "--max-steps", "2", "--quiet"]) == 0
    assert main(argv) == 0


@pytest.mark.parametrize("key,value", [("hidden", 65536), ("layers", 64), ("hidden", 200)])
@pytest.mark.parametrize("command", [["info"], ["sample", "--length", "3"], ["train", "--max-steps", "9", "--resume"]])
def test_a_config_larger_than_its_weights_is_refused_before_building(damaged, key, value, command, capsys):
    import json
    info = json.loads((damaged / "config.json").read_text())
    info["config"][key] = value
    (damaged / "config.json").write_text(json.dumps(info))
    assert main(command + [str(damaged)]) == 2
    assert "the configuration and the weights disagree" in capsys.readouterr().err


SENTENCES = "".join(f"{'good fine' if i % 2 else 'bad poor'} film {i},{'pos' if i % 2 else 'neg'}\n" for i in range(40))
SERIES = "".join(f"2000-01-{d:02d},{d * 1.5}\n" for d in range(1, 29))


def cut(rows: str, bad: str) -> str:
    """``rows`` with the line ``bad`` after the first one (so at line 3 under a header)."""
    lines = rows.splitlines(keepends=True)
    return lines[0] + bad + "".join(lines[1:])


@pytest.mark.parametrize("task,files,extra,blame", [
    ("classify", {"data.csv": "text,label\n" + SENTENCES, "vec.txt": "good 0.1 0.2\nfilm nan 0.3\n"},
     ["--embeddings", "vec.txt", "--embed", "2"], "vec.txt, line 2: the vector of 'film' holds 'nan', not a finite"),
    ("classify", {"data.csv": "text,label\n" + cut(SENTENCES, '"unclosed,pos\n')}, [],
     "data.csv, line 3: a quoted field is not closed on its line"),
    ("forecast", {"data.csv": "time,value\n" + cut(SERIES, '2000-02-01,"4\n')}, [],
     "data.csv, line 3: a quoted field is not closed on its line"),
    ("forecast", {"data.csv": SERIES}, [], "data.csv, line 1: '2000-01-01,1.5' looks like data, not a header"),
])
def test_errors_name_the_file_and_line_that_hold_the_bad_value(tmp_path, monkeypatch, capsys, task, files, extra,
                                                               blame):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(["train", task, "data.csv", *extra, "--max-steps", "1", "--quiet", "--out", "run"]) == 2
    assert blame in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
