"""Turning an incoming record or batch into clean columns, with dead letters for the rest."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from streamnb.state.timeparse import column_to_seconds, is_datetime_like, to_seconds

__all__ = [
    "EVENT_SECONDS",
    "Columns",
    "EventSeconds",
    "from_batch",
    "from_record",
    "mark_event_seconds",
    "upstream_attr",
]

_MISSING = object()
EVENT_SECONDS = "streamnb.event_seconds"  # the df.attrs key of an EventSeconds note


class EventSeconds:
    """A source's note on a batch: the event times of its rows, already read and checked.

    Put in ``df.attrs`` by :func:`mark_event_seconds`; a window reading the same column of
    the same frame then skips reading the times again (for datetime or ISO-string columns
    that is most of its cost). The note is bound to the frame object: a frame derived from it
    (filtered, reordered, copied) does not inherit it, since its rows may differ.
    """

    __slots__ = ("_frame", "column", "datetime", "seconds")

    def __init__(
        self, frame: pd.DataFrame, column: str, seconds: np.ndarray, datetime: bool
    ) -> None:
        self._frame = weakref.ref(frame)
        self.column = column
        self.seconds = seconds
        self.datetime = datetime

    def applies_to(self, df: pd.DataFrame, column: str) -> bool:
        return self._frame() is df and self.column == column and len(self.seconds) == len(df)

    def __copy__(self) -> None:
        return None  # pandas copies attrs into derived frames: they must read their own times

    def __deepcopy__(self, memo: dict) -> None:
        return None

    def __repr__(self) -> str:
        return f"<event seconds of column {self.column!r}, {len(self.seconds)} rows>"


def mark_event_seconds(
    df: pd.DataFrame, column: str, seconds: np.ndarray, datetime: bool
) -> pd.DataFrame:
    """For sources: note that ``df[column]`` holds the event times ``seconds`` (float epoch
    seconds, every one readable), so windows downstream need not read them again.

    >>> df = pd.DataFrame({"ts": ["1970-01-01T00:00:02"], "v": [1.0]})
    >>> df = mark_event_seconds(df, "ts", np.array([2.0]), datetime=True)
    >>> from_batch(df, "ts", [], ["v"], None).times.tolist()
    [2.0]
    >>> df.iloc[::-1].attrs[EVENT_SECONDS] is None  # derived frames read their own
    True
    """
    df.attrs[EVENT_SECONDS] = EventSeconds(df, column, seconds, datetime)
    return df


class Columns:
    """Clean columns of the usable events of one input, plus what was wrong with the rest."""

    __slots__ = ("bad", "datetime", "good", "keys", "n", "times", "values")

    def __init__(self, n: int) -> None:
        self.n = n
        self.times = np.zeros(0)
        self.keys: list[pd.Series] = []
        self.values: dict[str, np.ndarray] = {}
        self.good: np.ndarray = np.ones(n, dtype=bool)
        self.bad: list[tuple[int, str]] = []  # (row, reason)
        self.datetime = False


def from_batch(
    df: pd.DataFrame,
    time: str | None,
    keys: Sequence[str],
    numeric: Sequence[str],
    arrival: float | None,
    limit: float = np.inf,
) -> Columns:
    """Vectorised: event times (or the arrival time), key columns and numeric columns.

    A row gets the reason of its first problem (time, then keys, then numbers, in order).
    Event times must be below ``limit`` in magnitude (so never infinite).
    """
    n = len(df)
    out = Columns(n)
    reasons: np.ndarray | None = None  # one reason per row, allocated at the first problem

    def unexplained() -> np.ndarray:
        """Mask of the rows with no reason yet."""
        nonlocal reasons
        if reasons is None:
            reasons = np.full(n, None, dtype=object)
            return np.ones(n, dtype=bool)
        return reasons == None  # noqa: E711

    columns = df.columns
    if time is None:
        out.times = np.full(n, float(arrival))
    elif time not in columns:
        unexplained()
        reasons[:] = f"column {time!r} missing; columns are {list(columns)}"
        out.times = np.full(n, np.nan)
    else:
        note = df.attrs.get(EVENT_SECONDS) if df.attrs else None
        if note is not None and note.applies_to(df, time):  # read by the source already
            out.times, out.datetime = note.seconds, note.datetime
        else:
            out.times, out.datetime = column_to_seconds(df[time])
        bad = ~(np.abs(out.times) < limit)  # NaN, infinite or too large
        if bad.any():
            unexplained()
            col = df[time].to_numpy()
            for i in np.flatnonzero(bad):
                if pd.isna(col[i]):
                    reasons[i] = f"missing event time in column {time!r}"
                elif np.isnan(out.times[i]):
                    reasons[i] = f"unreadable event time {col[i]!r} in column {time!r}"
                else:
                    reasons[i] = f"event time {col[i]!r} in column {time!r} is out of range"
    for k in keys:
        if k not in columns:
            reasons_free = unexplained()
            reasons[reasons_free] = f"key column {k!r} missing"
        else:
            out.keys.append(df[k])
    for col in numeric:
        if col not in columns:
            reasons_free = unexplained()
            reasons[reasons_free] = f"column {col!r} missing"
            out.values[col] = np.full(n, np.nan)
            continue
        raw = df[col]
        dtype = raw.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":  # plain numpy: no NA to map
            out.values[col] = raw.to_numpy(dtype="float64")
            continue
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            out.values[col] = raw.to_numpy(dtype="float64", na_value=np.nan)
            continue
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        wrong = np.isnan(num) & raw.notna().to_numpy()
        if wrong.any():
            wrong &= unexplained()
            for i in np.flatnonzero(wrong):
                reasons[i] = f"non-numeric value {raw.iloc[i]!r} in column {col!r}"
        out.values[col] = num
    if reasons is not None:
        has_reason = reasons != None  # noqa: E711
        if has_reason.any():
            out.good = ~has_reason
            out.bad = [(int(i), reasons[i]) for i in np.flatnonzero(has_reason)]
    return out


def from_record(
    rec: Any, time: str | None, keys: Sequence[str], numeric: Iterable[str], arrival: float | None
) -> tuple[float, tuple | object, dict[str, float], bool]:
    """One record's time, key and numbers; raises ``ValueError`` with the reason if unusable.

    Plain ``float``/``int`` fields (the common case) are read without further checks.

    >>> from_record({"ts": 2, "k": "a", "v": 1}, "ts", ["k"], ["v"], None)
    (2.0, 'a', {'v': 1.0}, False)
    """
    if not isinstance(rec, dict):
        raise ValueError(f"expected a dict or a DataFrame, got {type(rec).__name__}")
    if time is None:
        t, is_dt = float(arrival), False
    else:
        raw = rec.get(time, _MISSING)
        kind = type(raw)
        if kind is float and raw == raw:
            t, is_dt = raw, False
        elif kind is int:
            t, is_dt = float(raw), False
        else:
            t, is_dt = _slow_time(rec, raw, time)
    if len(keys) == 1:
        k = keys[0]
        key = rec.get(k, _MISSING)
        if key is _MISSING:
            raise ValueError(f"key field {k!r} missing")
    else:
        key_vals = []
        for k in keys:
            if k not in rec:
                raise ValueError(f"key field {k!r} missing")
            key_vals.append(rec[k])
        key = key_vals[0] if len(key_vals) == 1 else tuple(key_vals)
    values = {}
    for col in numeric:
        v = rec.get(col, _MISSING)
        kind = type(v)
        if kind is float:
            values[col] = v
        elif kind is int:
            values[col] = float(v)
        elif v is _MISSING:
            raise ValueError(f"field {col!r} missing")
        elif v is None:
            values[col] = np.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values[col] = float(v)
        else:
            try:
                values[col] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"non-numeric value {v!r} in field {col!r}") from None
    return t, key, values, is_dt


def _slow_time(rec: dict, raw: Any, time: str) -> tuple[float, bool]:
    if raw is _MISSING:
        raise ValueError(f"field {time!r} missing; fields are {list(rec)}")
    if raw is None or (isinstance(raw, float) and raw != raw):
        raise ValueError(f"missing event time in field {time!r}")
    try:
        t = to_seconds(raw)
    except ValueError:
        raise ValueError(f"unreadable event time {raw!r} in field {time!r}") from None
    return t, is_datetime_like(raw)


def upstream_attr(node: Any, name: str, default: Any = None) -> Any:
    """The first ``name`` attribute found walking up the graph from ``node``."""
    seen, todo = set(), [node]
    while todo:
        n = todo.pop(0)
        if id(n) in seen:
            continue
        seen.add(id(n))
        value = getattr(n, name, _MISSING)
        if value is not _MISSING and n is not node:
            return value
        todo.extend(u for u in getattr(n, "upstreams", []) if u is not None)
    return default
