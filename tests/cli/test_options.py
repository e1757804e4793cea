"""The value types every subcommand shares (cli/options.py): any text gives a valid value or a clear refusal."""
from __future__ import annotations

import argparse
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.cli.main import build_parser
from rnnkit.cli.options import count, finite_float, harden, output_dir, output_path

NUMBERS = st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers().map(str),
                    st.sampled_from(["nan", "-inf", "Infinity", "1e999", "-0", " 3 ", "0x10", "1_000"]))


@pytest.mark.parametrize("parse, refusal, valid", [
    (finite_float, "expected a", lambda v: isinstance(v, float) and math.isfinite(v)),
    (count, "expected an integer", lambda v: isinstance(v, int) and v >= 0),
], ids=["finite_float", "count"])
@settings(max_examples=300, deadline=None)
@given(text=NUMBERS)
def test_number_types_give_a_valid_value_or_say_why(parse, refusal, valid, text):
    """finite_float: a finite float; count: an integer at least 0; or a refusal quoting the text."""
    try:
        value = parse(text)
    except argparse.ArgumentTypeError as exc:
        assert repr(text) in str(exc) and str(exc).startswith(refusal)
    else:
        assert valid(value)


def test_harden_reaches_every_parser_and_leaves_other_types_alone():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers().add_parser("x").add_subparsers().add_parser("y")
    sub.add_argument("--a", type=float)
    sub.add_argument("--b", type=int, nargs="+")
    sub.add_argument("--c", type=str)
    sub.add_argument("--out", metavar="DIR")
    sub.add_argument("out2", metavar="OUT")
    harden(parser)
    types = {a.dest: a.type for a in sub._actions}
    assert (types["a"], types["b"], types["c"], types["out"]) == (finite_float, count, str, output_dir)
    assert types["out2"] is None  # only an argument whose destination is `out` is an output


@pytest.mark.parametrize("make", [output_path, output_dir])
def test_outputs_outside_runs_pass_and_a_file_is_not_a_directory(tmp_path, make):
    assert make(str(tmp_path / "new")) == str(tmp_path / "new")
    (tmp_path / "file").write_text("x")
    if make is output_dir:
        with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a directory"):
            make(str(tmp_path / "file"))
    else:
        assert make(str(tmp_path / "file")) == str(tmp_path / "file")


def test_the_rnnkit_parser_is_hardened():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["sample", "R", "--temperature", "nan"])
