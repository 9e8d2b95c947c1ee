"""Event times and durations as float epoch seconds.

The time contract (DESIGN.md): numbers are epoch seconds; datetimes and ISO strings are
accepted; naive datetimes are UTC. Durations are seconds or pandas-style strings.

>>> parse_duration("250ms")
0.25
>>> to_seconds("1970-01-01T00:01:00")
60.0
>>> column_to_seconds(pd.Series(["1970-01-01 00:00:02", "oops", 3.5]))[0].tolist()
[2.0, nan, 3.5]
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from numbers import Real

import numpy as np
import pandas as pd

__all__ = [
    "column_to_seconds",
    "is_datetime_like",
    "parse_duration",
    "seconds_to_times",
    "to_seconds",
]

_EPOCH = pd.Timestamp(0, tz="UTC")


def parse_duration(value: float | str | _dt.timedelta | pd.Timedelta | None) -> float:
    """Seconds in a duration given as a number, a ``"5min"``-style string or a timedelta.

    >>> parse_duration(2), parse_duration("1s"), parse_duration("1.5min"), parse_duration(None)
    (2.0, 1.0, 90.0, 0.0)
    >>> parse_duration("2d"), parse_duration("1H")
    (172800.0, 3600.0)
    """
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise TypeError(f"a duration cannot be a bool: {value!r}")
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (_dt.timedelta, pd.Timedelta, np.timedelta64)):
        return pd.Timedelta(value).total_seconds()
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return pd.Timedelta(_canonical_units(text)).total_seconds()
        except ValueError as exc:
            raise ValueError(
                f"cannot read duration {value!r}; "
                "use seconds or a string like '1s', '250ms', '5min'"
            ) from exc
    raise TypeError(f"cannot read duration {value!r} of type {type(value).__name__}")


_UNIT_CASE = re.compile(r"(?<=[\d.\s])(d|H|T|S|L|U|N)(?![a-zA-Z])")
_UNIT_FIX = {"d": "D", "H": "h", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns"}


def _canonical_units(text: str) -> str:
    """``"2d"`` / ``"1H"`` (spellings pandas deprecates) as ``"2D"`` / ``"1h"``.

    >>> _canonical_units("2d"), _canonical_units("1H30min"), _canonical_units("1day")
    ('2D', '1h30min', '1day')
    """
    return _UNIT_CASE.sub(lambda m: _UNIT_FIX[m.group(1)], text)


def is_datetime_like(value: object) -> bool:
    """True for datetimes, numpy datetime64 and ISO strings (not for plain numbers)."""
    if isinstance(value, (_dt.datetime, np.datetime64, _dt.date)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return True
    return False


def to_seconds(value: object) -> float:
    """One event time as float epoch seconds; raises ``ValueError`` when it cannot be read.

    >>> to_seconds(12), to_seconds("12.5"), to_seconds(pd.Timestamp("1970-01-01 00:00:03"))
    (12.0, 12.5, 3.0)
    >>> to_seconds(pd.NaT)
    Traceback (most recent call last):
    ...
    ValueError: event time is NaT
    """
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("event time is NaN")
        return value
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"event time {value!r} is not a time")
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        raise ValueError("event time is NaT")
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, pd.Timestamp):
        if value is pd.NaT:
            raise ValueError("event time is NaT")
        ts = value if value.tzinfo else value.tz_localize("UTC")
        return (ts - _EPOCH).total_seconds()
    if isinstance(value, (_dt.datetime, np.datetime64, _dt.date)):
        return to_seconds(pd.Timestamp(value))
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"cannot read event time {value!r}") from exc
        return to_seconds(ts)
    raise ValueError(f"cannot read event time {value!r} of type {type(value).__name__}")


def column_to_seconds(column: pd.Series) -> tuple[np.ndarray, bool]:
    """A column of event times as float64 epoch seconds (NaN where unreadable).

    Returns ``(seconds, is_datetime)``; ``is_datetime`` says whether the column held datetimes
    (so outputs can be shown as datetimes again).
    """
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.full(len(column), np.nan), False
    if pd.api.types.is_numeric_dtype(dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan).copy(), False
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _datetimes_to_seconds(column), True
    # object or string: numbers, ISO strings, Timestamps, junk, all mixed
    numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    numeric = numeric.copy()
    bools = column.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    numeric[bools] = np.nan
    rest = np.isnan(numeric) & ~bools & column.notna().to_numpy()
    if not rest.any():
        return numeric, False
    parsed = pd.to_datetime(column[rest], errors="coerce", utc=True, format="ISO8601")
    numeric[rest] = _datetimes_to_seconds(parsed)
    return numeric, True


def _datetimes_to_seconds(column: pd.Series) -> np.ndarray:
    col = column
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = col.dt.as_unit("ns").to_numpy(dtype="int64", na_value=np.iinfo("int64").min)
    out = nanos / 1e9
    out[nanos == np.iinfo("int64").min] = np.nan
    return out


def seconds_to_times(seconds: np.ndarray, as_datetime: bool) -> np.ndarray | pd.DatetimeIndex:
    """Float epoch seconds back to datetimes (naive UTC) when the input held datetimes.

    >>> seconds_to_times(np.array([0.0, 1.5]), True)[1]
    Timestamp('1970-01-01 00:00:01.500000')
    """
    if not as_datetime:
        return seconds
    # float64 epoch seconds resolve ~0.2 µs today: round to whole microseconds, so a
    # datetime that went in (pandas' usual µs resolution) comes back exactly
    nanos = np.round(np.asarray(seconds, dtype="float64") * 1e6).astype("int64") * 1000
    return pd.DatetimeIndex(nanos.astype("datetime64[ns]"))
