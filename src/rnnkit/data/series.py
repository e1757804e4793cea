"""Reading time series: a CSV with a time column and numeric columns, checked row by row.

Legend: N time steps (rows), C value columns.

A series file is comma-separated with a header line naming the columns (CSV quoting allowed).
The time column is ``time_col`` (a name or 0-based index; default the first column); the value
columns are the ``columns`` asked for (default every other column). Time stamps are

    YYYY-MM                    monthly           (steps counted in months)
    YYYY-MM-DD                 daily, or monthly when every row has the same day of the month
    YYYY-MM-DD[ T]HH:MM[:SS]   steps in seconds
    a number (1, 2.5, 1990)    steps in the numbers' own unit

and must increase row by row with a regular step (the most common difference between neighbours).
A row whose stamp skips one or more steps is refused (a missing time stamp) unless ``allow_gaps``,
and so is an empty or unreadable cell, a time that does not increase, or a value that is not a
finite number: the DataError names the file, the line and the column.

:class:`Clock` continues the time stamps past the end of the series (``rnnkit forecast``).
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from rnnkit.data.tables import csv_rows
from rnnkit.errors import DataError

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
KINDS = ("month", "date", "datetime", "number")


class Series(NamedTuple):
    """A regular time series read from one file."""

    times: list[str]          # (N,) the time stamps as written
    values: np.ndarray        # (N, C) float64, finite
    columns: list[str]        # (C,) names of the value columns
    clock: "Clock"            # how to continue the time stamps
    source: str


# -- time stamps -----------------------------------------------------------------------------------------


def _stamp_kind(text: str) -> str | None:
    if _MONTH.match(text):
        return "month"
    if _DATE.match(text):
        return "date"
    if _DATETIME.match(text):
        return "datetime"
    try:
        return "number" if np.isfinite(float(text)) else None
    except ValueError:
        return None


def _position(text: str, kind: str) -> float:
    """The stamp as a number on the kind's own axis (months, days, seconds or the number itself)."""
    if kind == "month":
        y, m = _MONTH.match(text).groups()
        if not 1 <= int(m) <= 12:
            raise ValueError(f"month {m} is not in 1..12")
        return 12 * int(y) + int(m) - 1
    if kind == "date":
        return date.fromisoformat(text).toordinal()
    if kind == "datetime":
        return (datetime.fromisoformat(text.replace(" ", "T")) - datetime(1970, 1, 1)).total_seconds()
    return float(text)


class Clock(NamedTuple):
    """Regular time stamps: ``kind``, the step between rows and the last position (see :func:`_position`)."""

    kind: str
    step: float
    last: float
    same_day: int | None = None    # "date" stamps one month apart keep this day of the month

    def following(self, n: int) -> list[str]:
        """The ``n`` time stamps after the last one."""
        return [self.stamp(self.last + k * self.step) for k in range(1, n + 1)]

    def stamp(self, position: float) -> str:
        if self.kind == "month" or self.same_day is not None:
            y, m = divmod(int(round(position)), 12)
            return f"{y:04d}-{m + 1:02d}" + (f"-{self.same_day:02d}" if self.same_day is not None else "")
        if self.kind == "date":
            return date.fromordinal(int(round(position))).isoformat()
        if self.kind == "datetime":
            return (datetime(1970, 1, 1) + timedelta(seconds=round(position))).isoformat(sep=" ")
        return str(int(position)) if float(position).is_integer() else f"{position:.12g}"

    def to_json(self) -> dict:
        return self._asdict()


def _monthly_dates(stamps: list[str]) -> int | None:
    """The common day of the month (1..28) of "date" stamps that all share it: they count in months."""
    days = {s[8:10] for s in stamps}
    if len(days) != 1 or len(stamps) < 2 or int(next(iter(days))) > 28:
        return None
    return int(next(iter(days)))


def _usual_step(steps: np.ndarray) -> float:
    """The most common difference between neighbours (the smallest of equally common ones)."""
    counts = Counter(steps.tolist())
    if not counts:
        return 1.0
    top = max(counts.values())
    return min(d for d, c in counts.items() if c == top)


def read_clock(stamps: list[str], lines: list[int], source: str, allow_gaps: bool = False) -> Clock:
    """Check that ``stamps`` are one kind, increase, and are regular; return their :class:`Clock`."""
    kind = _stamp_kind(stamps[0])
    positions = []
    for stamp, line in zip(stamps, lines):
        if _stamp_kind(stamp) != kind or kind is None:
            expected = f"a {kind} like the first row's {stamps[0]!r}" if kind \
                else "YYYY-MM, YYYY-MM-DD, a date and time or a number"
            raise DataError(f"{source}, line {line}: time stamp {stamp!r} is not {expected}")
        try:
            positions.append(_position(stamp, kind))
        except ValueError as exc:
            raise DataError(f"{source}, line {line}: time stamp {stamp!r} is not a valid {kind} ({exc})") from None
    same_day = _monthly_dates(stamps) if kind == "date" else None
    if same_day is not None:
        positions = [12 * int(s[:4]) + int(s[5:7]) - 1 for s in stamps]
    pos = np.array(positions, dtype=np.float64)
    steps = np.diff(pos)
    for i in np.flatnonzero(steps <= 0)[:1]:
        raise DataError(f"{source}, line {lines[i + 1]}: time stamp {stamps[i + 1]!r} does not come after "
                        f"{stamps[i]!r} (line {lines[i]}); sort the file by time")
    step = _usual_step(steps)
    gaps = np.flatnonzero(~np.isclose(steps, step, rtol=1e-9, atol=0.0))
    if gaps.size and not allow_gaps:
        i = gaps[0]
        missing = steps[i] / step - 1
        what = f"about {missing:.3g} time stamp(s) are missing" if missing > 0 else "the step is irregular"
        raise DataError(f"{source}, line {lines[i + 1]}: time stamp {stamps[i + 1]!r} follows {stamps[i]!r}: "
                        f"{what} (the usual step is {step:g}{' months' if kind == 'month' or same_day else ''}); "
                        f"fill the gaps, or pass --allow-gaps to treat the rows as consecutive steps")
    return Clock(kind, float(step), float(pos[-1]), same_day)


# -- the table -------------------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells stripped of spaces) of every non-blank line of a CSV file."""
    return [(n, [cell.strip() for cell in row]) for n, row in csv_rows(path)]


def _column(spec, names: list[str], option: str, path: Path) -> int:
    """The index of the column ``spec`` (a header name, or a 0-based index)."""
    spec = str(spec)
    if spec in names:
        return names.index(spec)
    try:
        i = int(spec)
    except ValueError:
        raise DataError(f"{path}: no column named {spec!r} ({option}); the columns are: "
                        f"{', '.join(map(repr, names))}") from None
    if not -len(names) <= i < len(names):
        raise DataError(f"{path}: {option} {i}: the file has {len(names)} columns ({', '.join(map(repr, names))})")
    return i % len(names)


def _is_finite_number(cell: str) -> bool:
    try:
        return bool(np.isfinite(float(cell)))
    except ValueError:
        return False


def _number(cell: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value):
        shown = "empty" if not cell else f"{cell!r}, not a finite number"
        raise DataError(f"{path}, line {line}, column {column!r}: the value is {shown}")
    return value


def read_series(path, columns: Sequence | None = None, time_col=None, allow_gaps: bool = False,
                min_rows: int = 2) -> Series:
    """The series of a CSV file: time stamps, the (N, C) values of ``columns`` and their clock.

    Raises DataError naming the file, line and column of the first bad cell.
    """
    path = Path(path)
    rows = _csv_rows(path)
    if not rows:
        raise DataError(f"{path}: no rows (only blank lines)")
    names = rows[0][1]
    if len(rows) > 1 and len(names) > 1 and all(_is_finite_number(c) for c in names[1:]):
        raise DataError(f"{path}, line {rows[0][0]}: {','.join(names)[:60]!r} looks like data, not a header; "
                        f"the first line must name the columns (e.g. time,value), or its row would be lost")
    if len(names) < 2:
        raise DataError(f"{path}: line {rows[0][0]}: expected a header naming a time column and at least one "
                        f"value column, found {len(names)} column(s)")
    ti = _column(0 if time_col is None else time_col, names, "--time-col", path)
    vis = [_column(c, names, "--target/--features", path) for c in columns] if columns \
        else [i for i in range(len(names)) if i != ti]
    if ti in vis:
        raise DataError(f"{path}: the time column {names[ti]!r} cannot also be a value column")
    body = rows[1:]
    if len(body) < min_rows:
        raise DataError(f"{path}: {len(body)} row(s) of data after the header; expected at least {min_rows}")
    stamps, lines, values = [], [], np.empty((len(body), len(vis)))
    for r, (line, cells) in enumerate(body):
        if len(cells) != len(names):
            raise DataError(f"{path}, line {line}: expected {len(names)} columns as in the header, found {len(cells)}")
        if not cells[ti]:
            raise DataError(f"{path}, line {line}, column {names[ti]!r}: the time stamp is missing (empty)")
        stamps.append(cells[ti])
        lines.append(line)
        for c, i in enumerate(vis):
            values[r, c] = _number(cells[i], path, line, names[i])
    clock = read_clock(stamps, lines, str(path), allow_gaps)
    return Series(stamps, values, [names[i] for i in vis], clock, str(path))
