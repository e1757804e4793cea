"""Time-series CSV reader: time stamps of every kind, their continuation, and errors that name line and column."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data.series import read_series
from rnnkit.errors import DataError
from tests.conftest import SHARED_DATA

SHARED = SHARED_DATA / "timeseries"


def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_monthly_series_with_quotes_and_crlf(tmp_path):
    path = write(tmp_path, '"Month","Passengers","Price"\r\n"1949-11",112,1.5\r\n"1949-12",118,2\r\n"1950-01",132,2.5')
    s = read_series(path)
    assert s.times == ["1949-11", "1949-12", "1950-01"] and s.columns == ["Passengers", "Price"]
    np.testing.assert_array_equal(s.values, [[112, 1.5], [118, 2], [132, 2.5]])
    assert s.clock.kind == "month" and s.clock.following(3) == ["1950-02", "1950-03", "1950-04"]
    only = read_series(path, columns=["Price"], time_col="Month")
    assert only.columns == ["Price"] and only.values[:, 0].tolist() == [1.5, 2, 2.5]


@pytest.mark.parametrize("stamps,following", [
    (["2020-02-27", "2020-02-28", "2020-02-29"], ["2020-03-01", "2020-03-02"]),          # daily, leap year
    (["2020-01-15", "2020-02-15", "2020-03-15"], ["2020-04-15", "2020-05-15"]),          # monthly dates
    (["2020-01-01", "2020-01-08", "2020-01-15"], ["2020-01-22", "2020-01-29"]),          # weekly
    (["2020-01-01 22:00", "2020-01-01 23:00", "2020-01-02 00:00"], ["2020-01-02 01:00:00", "2020-01-02 02:00:00"]),
    (["1990", "1995", "2000"], ["2005", "2010"]),
    (["0.5", "1.0", "1.5"], ["2", "2.5"]),
])
def test_time_stamps_continue_with_their_own_step(tmp_path, stamps, following):
    path = write(tmp_path, "t,y\n" + "".join(f"{t},{i}\n" for i, t in enumerate(stamps)))
    assert read_series(path).clock.following(2) == following


@pytest.mark.parametrize("text,message", [
    ("t,y\n2000-01,1\n2000-02,abc\n", "line 3, column 'y': the value is 'abc', not a finite number"),
    ("t,y,z\n2000-01,1,2\n2000-02,2,\n", "line 3, column 'z': the value is empty"),
    ("t,y\n2000-01,1\n2000-02,nan\n", "line 3, column 'y': the value is 'nan', not a finite number"),
    ("t,y\n2000-01,1\n,2\n", "line 3, column 't': the time stamp is missing"),
    ("t,y\n2000-01,1\n2000-03,2\n2000-04,3\n",
     "line 3: time stamp '2000-03' follows '2000-01': about 1 time stamp(s) are missing"),
    ("t,y\n2000-02,1\n2000-01,2\n2000-03,3\n",
     "line 3: time stamp '2000-01' does not come after '2000-02' (line 2); sort"),
    ("t,y\n2000-01,1\n2000-01,2\n", "does not come after"),
    ("t,y\n2000-01,1\n2000-13,2\n", "line 3: time stamp '2000-13' is not a valid month"),
    ("t,y\n2000-01,1\n2000-01-05,2\n", "line 3: time stamp '2000-01-05' is not a month like the first row's '2000-01'"),
    ("t,y\nMonday,1\nTuesday,2\n", "line 2: time stamp 'Monday' is not YYYY-MM, YYYY-MM-DD"),
    ("t,y\n2000-01,1\n2000-02,2,3\n", "line 3: expected 2 columns as in the header, found 3"),
    ("t,y\n2000-01,1\n", "1 row(s) of data after the header; expected at least 2"),
    ("y\n1\n2\n", "expected a header naming a time column and at least one value column"),
    ("\n\n", "no rows"),
])
def test_bad_series_name_the_line_and_column(tmp_path, text, message):
    with pytest.raises(DataError, match=None) as info:
        read_series(write(tmp_path, text))
    assert message in str(info.value) and "s.csv" in str(info.value)


def test_columns_by_name_or_index_and_their_errors(tmp_path):
    path = write(tmp_path, "when,a,b\n1,10,20\n2,11,21\n3,12,22\n")
    assert read_series(path, columns=["b", "1"]).values[0].tolist() == [20, 10]
    with pytest.raises(DataError, match="no column named 'c' .*the columns are: 'when', 'a', 'b'"):
        read_series(path, columns=["c"])
    with pytest.raises(DataError, match="the time column 'when' cannot also be a value column"):
        read_series(path, columns=["when"])
    with pytest.raises(DataError, match="--time-col 5: the file has 3 columns"):
        read_series(path, time_col="5")


def test_monthly_dates_count_months_and_find_gaps(tmp_path):
    path = write(tmp_path, "t,y\n2000-01-15,1\n2000-02-15,2\n2000-04-15,3\n2000-05-15,4\n")
    with pytest.raises(DataError, match="line 4: time stamp '2000-04-15' follows '2000-02-15': about 1 time"):
        read_series(path)
    assert read_series(path, allow_gaps=True).clock.following(1) == ["2000-06-15"]


def test_gaps_are_refused_unless_allowed(tmp_path):
    path = write(tmp_path, "t,y\n2000-01-01,1\n2000-01-02,2\n2000-01-04,3\n2000-01-05,4\n")
    with pytest.raises(DataError, match="--allow-gaps"):
        read_series(path)
    s = read_series(path, allow_gaps=True)
    assert s.clock.step == 1 and s.clock.following(1) == ["2000-01-06"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not present")
def test_shared_series():
    sun = read_series(SHARED / "monthly-sunspots.csv")
    assert sun.values.shape == (2820, 1) and sun.times[-1] == "1983-12" and sun.values.min() == 0
    with pytest.raises(DataError, match="line 1462: time stamp '1985-01-01' follows '1984-12-30'"):
        read_series(SHARED / "daily-min-temperatures.csv")  # the file drops 31 December of leap years
    assert read_series(SHARED / "daily-min-temperatures.csv", allow_gaps=True).values.shape == (3650, 1)


VALID = b'"Month","Passengers"\r\n"1949-01",112\r\n"1949-02",118\r\n"1949-03",132\r\n'


def _read_or_data_error(tmp_path_factory, data: bytes):
    path = tmp_path_factory.mktemp("series") / "x.csv"
    path.write_bytes(data)
    try:
        s = read_series(path)
    except DataError as exc:
        assert str(exc)
        return
    assert s.values.shape == (len(s.times), len(s.columns)) and np.all(np.isfinite(s.values))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_give_a_series_or_a_data_error(tmp_path_factory, data):
    _read_or_data_error(tmp_path_factory, data)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet='t,y\n"0123456789-: .eT', max_size=120))
def test_csv_like_text_gives_a_series_or_a_data_error(tmp_path_factory, text):
    _read_or_data_error(tmp_path_factory, ("t,y\n" + text).encode())


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(VALID)), flip=st.integers(0, len(VALID) - 1), byte=st.integers(0, 255))
def test_damaged_csv_gives_a_series_or_a_data_error(tmp_path_factory, cut, flip, byte):
    damaged = bytearray(VALID)
    damaged[flip] = byte
    _read_or_data_error(tmp_path_factory, bytes(damaged[:cut]))
