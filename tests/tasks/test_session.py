"""The training Session every task runs in: nothing half-made, one process per run, resume rules, data."""
from __future__ import annotations

import json
import math
import os
import shutil
import typing
from dataclasses import fields
from pathlib import Path

import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.errors import RnnkitError, RunError
from rnnkit.tasks import TASKS, charlm
from rnnkit.tasks.session import RESUMABLE, Session
from rnnkit.train.config import flag
from rnnkit.train.lock import RunLock

TEXT = "to be or not to be, that is the question.\n" * 30
TINY = ["--hidden", "4", "--layers", "1", "--embed", "4", "--batch-size", "4", "--bptt", "8", "--quiet"]


class Entered(Exception):
    pass


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_trains_and_resumes_through_the_session(name, monkeypatch):
    """So the lock, the resume rules and the no-half-made-run rule hold for every task."""
    seen = []

    def enter(self):
        seen.append((self.task, self.resume, self.changes))
        raise Entered

    monkeypatch.setattr(Session, "__enter__", enter)
    task = TASKS[name]
    with pytest.raises(Entered):
        task.train(task.Config())
    with pytest.raises(Entered):
        task.train(None, resume="R", changes={"max_steps": 3})
    assert seen == [(name, None, {}), (name, "R", {"max_steps": 3})]


def float_fields(config_cls):
    hints = typing.get_type_hints(config_cls)
    return [f.name for f in fields(config_cls) if float in (typing.get_args(hints[f.name]) or (hints[f.name],))]


@pytest.mark.parametrize("name,field", [(n, f) for n in sorted(TASKS) for f in float_fields(TASKS[n].Config)])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_options_are_refused_before_anything_is_written(name, field, value, tmp_path):
    task, out = TASKS[name], tmp_path / "run"
    with pytest.raises(RnnkitError, match=f"{flag(field)}: expected a finite number"):
        task.train(task.Config(**{field: value, "out": str(out)}))
    assert not out.exists()


def test_lr_gamma_inf_is_refused_when_parsed(tmp_path, capsys):  # the example of issue 13
    assert main(["train", "charlm", "--lr-gamma", "inf", "--out", str(tmp_path / "run")]) == 2
    assert "argument --lr-gamma: expected a finite number, given 'inf'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A corpus and a run of 2 steps trained on it, once for the module (tests get a copy of the run)."""
    d = tmp_path_factory.mktemp("session")
    (d / "corpus.txt").write_text(TEXT)
    assert train_tiny(d / "corpus.txt", d / "run", "--max-steps", "2") == 0
    return d


@pytest.fixture
def corpus(shared):
    return shared / "corpus.txt"


def train_tiny(corpus, out, *extra) -> int:
    return main(["train", "charlm", str(corpus), *TINY, "--out", str(out), *extra])


@pytest.mark.parametrize("name", ["charlm", "echo"])
def test_a_failure_before_the_first_checkpoint_leaves_no_directory(name, tmp_path, monkeypatch):
    import rnnkit.train.trainer as trainer

    def broken(config):
        raise RuntimeError("broken optimizer")

    monkeypatch.setattr(trainer, "make_optimizer", broken)
    task, out = TASKS[name], tmp_path / "run"
    config = task.Config(hidden=4, embed=4, batch_size=4, max_steps=1, quiet=True, out=str(out))
    with pytest.raises(RuntimeError):
        task.train(config)
    assert not out.exists()
    monkeypatch.undo()
    task.train(task.Config(hidden=4, embed=4, batch_size=4, max_steps=1, quiet=True, out=str(out)))  # --out free
    assert (out / "manifest.json").is_file()


def test_a_locked_run_is_refused_by_name_for_resume_and_for_a_new_run(run, corpus, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for target, argv in ((run, ["train", "--resume", str(run), "--max-steps", "3"]),
                         (empty, ["train", "charlm", str(corpus), *TINY, "--max-steps", "1", "--out", str(empty)])):
        with RunLock(target):
            capsys.readouterr()
            assert main(argv) == 2
            assert f"is in use by process {os.getpid()}" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--max-steps", "3", "--quiet"]) == 0  # released


@pytest.fixture
def run(shared, tmp_path):
    shutil.copytree(shared / "run", tmp_path / "run")
    return tmp_path / "run"


def steps_of(run) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "steps.jsonl").read_text().splitlines()]


def test_resume_applies_a_new_budget_and_keeps_it(run):
    assert main(["train", "charlm", "--resume", str(run), "--max-steps", "5"]) == 0
    assert steps_of(run) == [1, 2, 3, 4, 5]
    assert json.loads((run / "config.json").read_text())["config"]["max_steps"] == 5
    rk.load(str(run))


def test_resume_without_a_task_takes_the_budget_options(run):  # `rnnkit train --resume R --time-limit 5`
    assert main(["train", "--resume", str(run), "--time-limit", "60", "--max-steps", "3"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert (config["time_limit"], config["max_steps"]) == (60.0, 3) and steps_of(run)[-1] == 3


@pytest.mark.parametrize("option,value", [("--patience", "2"), ("--eval-every", "1"), ("--checkpoint-every", "1"),
                                          ("--on-nan", "stop"), ("--max-rollbacks", "1"), ("--epochs", "9"),
                                          ("--quiet", None)])
def test_every_resumable_option_is_applied(run, option, value):
    assert {flag(k) for k in RESUMABLE} >= {option}
    argv = ["train", "--resume", str(run), "--max-steps", "3", option] + ([value] if value else [])
    assert main(argv) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    key = option[2:].replace("-", "_")
    assert str(config[key]).lower() == (value or "true")


@pytest.mark.parametrize("argv,named", [
    (["--hidden", "8"], "--hidden"), (["--lr", "0.1"], "--lr"), (["--cell", "gru"], "--cell"),
    (["--seed", "3"], "--seed"), (["--bptt", "4"], "--bptt"), (["--level", "word"], "--level"),
    (["--dropout", "0.5"], "--dropout"), (["OTHER"], "DATA"), (["--out", "elsewhere"], "--out"),
])
def test_resume_refuses_any_other_changed_option_by_name(run, tmp_path, argv, named, capsys):
    other = tmp_path / "other.txt"
    other.write_text(TEXT)
    argv = [str(other) if a == "OTHER" else a for a in argv]
    before = (run / "config.json").read_bytes()
    assert main(["train", "charlm", *argv, "--resume", str(run), "--max-steps", "4"]) == 2
    err = capsys.readouterr().err
    assert f"{named}: a resumed run keeps its" in err and "--max-steps" in err
    assert (run / "config.json").read_bytes() == before and steps_of(run) == [1, 2]
    RunLock(run).acquire().release()  # a refused resume leaves the run unlocked


def test_the_same_values_as_the_run_are_not_a_change(run, corpus):
    assert main(["train", "charlm", str(corpus), "--hidden", "4", "--resume", str(run), "--max-steps", "3",
                 "--quiet"]) == 0


def test_resuming_a_finished_run_says_so(run, capsys):
    assert main(["train", "--resume", str(run)]) == 2
    assert "has already finished at step 2: its budget is spent" in capsys.readouterr().err
    assert steps_of(run) == [1, 2]


def test_resume_works_from_another_directory(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "big.txt").write_text(TEXT)
    monkeypatch.chdir(tmp_path / "a")
    assert main(["train", "charlm", "big.txt", *TINY, "--max-steps", "2", "--out", "run"]) == 0
    monkeypatch.chdir(tmp_path / "b")
    assert main(["train", "--resume", "../a/run", "--max-steps", "3", "--quiet"]) == 0
    assert steps_of(tmp_path / "a" / "run")[-1] == 3


@pytest.mark.parametrize("change,message", [
    (lambda p: p.write_text(TEXT + "more\n"), "the data has changed since the run started"),
    (lambda p: p.write_text(TEXT.replace("be", "BE")), "the data has changed since the run started"),
    (lambda p: p.unlink(), "file not found: the run was trained on it"),
])
def test_resume_refuses_changed_or_missing_data(tmp_path, change, message, capsys):
    corpus, run = tmp_path / "corpus.txt", tmp_path / "run"
    corpus.write_text(TEXT)
    assert train_tiny(corpus, run, "--max-steps", "2") == 0
    change(corpus)
    assert main(["train", "--resume", str(run), "--max-steps", "3"]) == 2
    err = capsys.readouterr().err
    assert str(corpus) in err and message in err


def test_the_python_call_resumes_with_changes(run):
    summary = charlm.train(None, resume=str(run), changes={"max_steps": 3})
    assert summary["steps"] == 3
    with pytest.raises(RnnkitError, match="--hidden: a resumed run keeps its settings"):
        charlm.train(None, resume=str(run), changes={"max_steps": 4, "hidden": 9})
    with pytest.raises(RnnkitError, match="changes: max_step: not options of this task"):
        charlm.train(None, resume=str(run), changes={"max_step": 4})


def test_an_existing_file_as_out_is_refused(corpus, tmp_path, capsys):
    (tmp_path / "f").write_text("mine")
    assert train_tiny(corpus, tmp_path / "f", "--max-steps", "1") == 2
    assert "--out:" in capsys.readouterr().err and (tmp_path / "f").read_text() == "mine"


def test_a_run_is_never_created_inside_another(run, corpus, capsys):
    assert train_tiny(corpus, run / "sub", "--max-steps", "1") == 2
    assert "inside the run directory" in capsys.readouterr().err and not (run / "sub").exists()
    shutil.rmtree(run)
    assert not Path(run).exists()
    with pytest.raises(RunError):
        charlm.train(None, resume=str(run))


def test_two_processes_on_one_run_the_second_is_refused_and_kill_9_frees_it(run, tmp_path, capsys):
    """The issue's example: two `rnnkit train --resume R` at once left steps.jsonl out of order."""
    import signal
    import subprocess
    import sys
    import time
    first = subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "--resume", str(run), "--max-steps",
                              "1000000", "--checkpoint-every", "5", "--quiet"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while (run / ".lock").read_text().strip() != str(first.pid) or "step" not in json.loads(
                (run / "manifest.json").read_text()) or json.loads((run / "manifest.json").read_text())["step"] < 10:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--max-steps", "3"]) == 2
        assert f"is in use by process {first.pid}" in capsys.readouterr().err
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    step = json.loads((run / "manifest.json").read_text())["step"]
    assert main(["train", "--resume", str(run), "--max-steps", str(step + 2), "--quiet"]) == 0
    assert steps_of(run) == list(range(1, step + 3))  # in order, one line per step


def test_a_directory_filled_by_someone_else_meanwhile_is_refused_and_left_alone(corpus, tmp_path, monkeypatch):
    import rnnkit.tasks.session as session
    out, calls = tmp_path / "out", []
    original = session._check_new_dir

    def racing(path):
        calls.append(path)
        if len(calls) == 2:  # between the first check and the lock, another program writes a file
            (path / "theirs.txt").write_text("keep me")
        original(path)

    monkeypatch.setattr(session, "_check_new_dir", racing)
    with pytest.raises(RunError, match="already exists and is not empty"):
        charlm.train(charlm.Config(data=[str(corpus)], hidden=4, layers=1, embed=4, batch_size=4, bptt=8,
                                   max_steps=1, quiet=True, out=str(out)))
    assert (out / "theirs.txt").read_text() == "keep me"
    RunLock(out).acquire().release()
