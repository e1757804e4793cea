"""The command line's contract, for every subcommand and every numeric option, found by walking the parsers.

Each numeric option is given NaN, inf, -1 and 0. The outcome must be exit code 2 with a message
naming the option, or success (for ``train``: a run that loads). An option added later is covered
without anyone listing it here. Sizes are tiny and budgets one step, so the walk takes seconds.
"""
from __future__ import annotations

import argparse
import shutil
from dataclasses import fields

import pytest

import rnnkit as rk
from rnnkit.cli import options
from rnnkit.cli.main import build_parser, main
from rnnkit.errors import RnnkitError
from rnnkit.tasks import TASKS

TINY = ["--hidden", "4", "--embed", "4", "--batch-size", "4", "--max-steps", "1", "--quiet"]
VALUES = ("nan", "inf", "-1", "0")
# every zero is a real run for these; the other tasks' zeros are checked one by one as far as Config.check(),
# then all together in one real run (test_every_zero_a_task_accepts_gives_a_usable_run): seconds, not minutes
TRAINED_FOR_REAL = ("charlm", "echo")


def leaves(parser: argparse.ArgumentParser, path=()):
    """(command path, parser) of every parser that takes options, e.g. (("train", "charlm"), p)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path:
        yield path, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from leaves(sub, path + (name,))


def numeric_options(parser: argparse.ArgumentParser) -> list[str]:
    return [a.option_strings[-1] for a in parser._actions
            if a.option_strings and a.type in (options.finite_float, options.count)]


INTEGER_OPTIONS = {a.option_strings[-1] for _, p in leaves(build_parser()) for a in p._actions
                   if a.option_strings and a.type is options.count}
CASES = [(path, opt, value) for path, p in leaves(build_parser()) for opt in numeric_options(p) for value in VALUES]


def test_every_number_option_is_checked_when_parsed():
    """No option anywhere is left with a bare ``float`` or ``int`` type, and the walk finds them all."""
    for path, p in leaves(build_parser()):
        bare = [a.dest for a in p._actions if a.type in (float, int)]
        assert not bare, (path, bare)
    assert {"--lr", "--temperature", "--length-penalty", "--steps", "--recurrent-scale"} <= \
        {opt for _, opt, _ in CASES}
    assert {path for path, _, _ in CASES} >= {("train", t) for t in TASKS} | {("sample",), ("forecast",)}


PARSER = build_parser()


@pytest.fixture
def one_parser(monkeypatch):
    """main() with the parser built once (building it is most of the cost of a refused option)."""
    import rnnkit.cli.main as cli_main
    monkeypatch.setattr(cli_main, "build_parser", lambda: PARSER)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny data and one tiny run of each kind the commands need."""
    d = tmp_path_factory.mktemp("contract")
    text = d / "text.txt"
    text.write_text("to be or not to be, that is the question.\n" * 30)
    pairs = d / "pairs.tsv"
    pairs.write_text("".join(f"a{i % 5} b{i % 3}\tx{i % 3} y{i % 5}\n" for i in range(40)))
    runs = {}
    for name, argv in {"charlm": [str(text), "--bptt", "8"], "echo": [], "forecast": [],
                       "translate": [str(pairs)]}.items():
        runs[name] = str(d / name)
        assert main(["train", name, *argv, *TINY, "--out", runs[name]]) == 0
    return d, text, runs


def base_argv(path: tuple, world, tmp_path) -> list[str] | None:
    d, text, runs = world
    if path[0] == "train" and len(path) == 1:
        copy = tmp_path / "resumed"
        shutil.copytree(runs["charlm"], copy)
        return ["train", "--resume", str(copy), "--max-steps", "2", "--quiet"]
    if path[0] == "train":
        data = {"charlm": [str(text), "--bptt", "8"], "translate": [str(d / "pairs.tsv")]}.get(path[1], [])
        return ["train", path[1], *data, *TINY, "--out", str(tmp_path / "run")]
    return {
        "sample": ["sample", runs["charlm"], "--length", "5"],
        "score": ["score", runs["charlm"], "to be"],
        "evaluate": ["evaluate", runs["charlm"], str(text)],
        "predict": ["predict", runs["echo"], "1 2 3 4 5"],
        "info": ["info", runs["charlm"]],
        "inspect": ["inspect", runs["charlm"], "--text", "to be", "--out", str(tmp_path / "inspect")],
        "export": ["export", runs["charlm"], str(tmp_path / "model.safetensors")],
        "plot": ["plot", runs["charlm"], "--out", str(tmp_path / "plots")],
        "translate": ["translate", runs["translate"], "a1 b2", "--max-length", "4"],
        "forecast": ["forecast", runs["forecast"], "--steps", "2"],
        "serve": ["serve", str(d)],  # every --port of the walk (NaN, inf, -1, 0) is refused before serving
        "gradflow": ["gradflow", "--cell", "rnn", "--hidden", "4", "--T", "5", "--batch", "2", "--input-size", "3",
                     "--out", str(tmp_path / "gradflow")],
        ("experiment", "lag"): ["experiment", "lag", "--lags", "2", "--cells", "rnn", "--steps", "1", "--hidden",
                                "4", "--batch-size", "4", "--out", str(tmp_path / "lag")],
    }.get(path[0] if len(path) == 1 else path)


def config_check(argv: list[str]) -> None:
    """What ``rnnkit train TASK`` does before reading data: parse, build the task's Config, check it."""
    args = build_parser().parse_args(argv)
    task = TASKS[args.task]
    names = {f.name for f in fields(task.Config)}
    task.Config(**{k: v for k, v in vars(args).items() if k in names}).check()


@pytest.mark.parametrize("path,option,value", CASES, ids=lambda x: "-".join(x) if isinstance(x, tuple) else x)
def test_a_numeric_option_is_refused_by_name_or_works(path, option, value, world, tmp_path, capsys, one_parser):
    argv = base_argv(path, world, tmp_path)
    assert argv is not None, f"the contract test has no example command line for {' '.join(path)}"
    argv = argv + [option, value]
    if path[0] == "train" and len(path) == 2 and path[1] not in TRAINED_FOR_REAL and value == "0":
        try:
            config_check(argv)
        except RnnkitError as exc:
            assert option in str(exc)
        return
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert option in err, err
    elif path[0] == "train":
        rk.load(str(tmp_path / ("resumed" if len(path) == 1 else "run")))
    if value in ("nan", "inf") or (value == "-1" and option in INTEGER_OPTIONS):
        assert code == 2 and "argument " + option in err  # refused when parsed, before anything ran
    if code == 2 and path[0] == "train" and len(path) == 2:
        assert not (tmp_path / "run").exists()  # nothing half-made


OUTPUTS = [(path, a.option_strings[-1] if a.option_strings else a.metavar)
           for path, p in leaves(build_parser()) for a in p._actions if a.type in (options.output_path, options.output_dir)]


def test_the_walk_finds_every_output():
    assert {(path[0], name) for path, name in OUTPUTS} >= {("export", "OUT"), ("plot", "--out"), ("inspect", "--out"),
                                                           ("gradflow", "--out"), ("experiment", "--out")}


def snapshot(run: str) -> dict:
    from pathlib import Path
    return {p.name: p.read_bytes() for p in Path(run).iterdir() if p.is_file()}


@pytest.mark.parametrize("path,name", OUTPUTS, ids=lambda x: "-".join(x) if isinstance(x, tuple) else x)
@pytest.mark.parametrize("target", ["best.safetensors", "config.json", "sub/x.onnx", "."])
def test_no_command_but_train_writes_into_a_run(path, name, target, world, tmp_path, capsys, one_parser):
    """`rnnkit export R R/best.safetensors` and the like are refused before anything is read or written."""
    run = world[2]["charlm"]
    argv = base_argv(path, world, tmp_path)
    assert argv is not None, f"the contract test has no example command line for {' '.join(path)}"
    inside = f"{run}/{target}"
    if name.startswith("-"):
        argv = argv + [name, inside]
    else:  # a positional output: the last argument of the example
        argv = argv[:-1] + [inside]
    before = snapshot(run)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {name}: " in err and "is inside the run directory" in err, err
    assert snapshot(run) == before


@pytest.mark.parametrize("task", sorted(set(TASKS) - set(TRAINED_FOR_REAL)))
def test_every_zero_a_task_accepts_gives_a_usable_run(task, world, tmp_path, capsys, one_parser):
    """The zeros that pass a task's checks one by one (see above), all at once in one real, tiny run."""
    path = ("train", task)
    argv = base_argv(path, world, tmp_path)
    parser = dict(leaves(build_parser()))[path]
    accepted = []
    for option in set(numeric_options(parser)) - {"--val-fraction"}:  # 0 leaves no validation data
        try:
            config_check(argv + [option, "0"])
            accepted.append(option)
        except RnnkitError:
            pass
    assert {"--clip", "--dropout", "--weight-decay", "--seed"} <= set(accepted)
    assert main(argv + [x for option in sorted(accepted) for x in (option, "0")]) == 0, capsys.readouterr().err
    rk.load(str(tmp_path / "run"))
