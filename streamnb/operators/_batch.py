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
    "fresh_frame",
    "from_batch",
    "from_record",
    "mark_event_seconds",
    "noted_seconds",
    "upstream_attr",
]

_MISSING = object()
EVENT_SECONDS = "streamnb.event_seconds"  # (the df.attrs key notes once used; none now)
_NOTES: dict[int, EventSeconds] = {}  # id(frame) -> the note on that frame


class EventSeconds:
    """A source's note on a batch: the event times of its rows, already read and checked.

    Made by :func:`mark_event_seconds` and found by :func:`noted_seconds`; a window reading
    the same column of the same frame then skips reading the times again (for datetime or
    ISO-string columns that is most of its cost). The note is bound to the frame object and
    to the column's values as they were: a frame derived from it (filtered, reordered,
    copied) has no note, and one whose time column was changed since (in place or
    replaced, say by a ``map`` between the source and the window) reads its own times.
    Notes are kept beside the frames, not in ``df.attrs``, which pandas deep-copies into
    every column and frame taken from a frame.
    """

    __slots__ = ("_frame", "_values", "column", "datetime", "seconds")

    def __init__(
        self, frame: pd.DataFrame, column: str, seconds: np.ndarray, datetime: bool
    ) -> None:
        key = id(frame)

        def forget(ref: weakref.ref) -> None:  # the frame is gone (holds no note: no cycle)
            note = _NOTES.get(key)
            if note is not None and note._frame is ref:
                del _NOTES[key]

        self._frame = weakref.ref(frame, forget)
        self.column = column
        self.seconds = seconds
        self.datetime = datetime
        # what the column held (no such column: the note can never apply)
        self._values = frame[column].array.copy() if column in frame.columns else None

    def applies_to(self, df: pd.DataFrame, column: str, values: pd.Series | None = None) -> bool:
        """Whether this note holds the times of ``df[column]`` (``values``, if read already)."""
        if self._frame() is not df or self.column != column or len(self.seconds) != len(df):
            return False
        if self._values is None:
            return False
        current = (df[column] if values is None else values).array
        try:
            return bool(current.equals(self._values))
        except (TypeError, ValueError):
            return False

    def __repr__(self) -> str:
        return f"<event seconds of column {self.column!r}, {len(self.seconds)} rows>"


def mark_event_seconds(
    df: pd.DataFrame, column: str, seconds: np.ndarray, datetime: bool
) -> pd.DataFrame:
    """For sources: note that ``df[column]`` holds the event times ``seconds`` (float epoch
    seconds, every one readable), so windows downstream need not read them again.

    Worth it when reading the times costs more than comparing the column with its values
    when noted (~10 µs for 10,000 rows): datetimes and strings, not plain numbers.

    >>> df = pd.DataFrame({"ts": ["1970-01-01T00:00:02"], "v": [1.0]})
    >>> df = mark_event_seconds(df, "ts", np.array([2.0]), datetime=True)
    >>> from_batch(df, "ts", [], ["v"], None).times.tolist()
    [2.0]
    >>> noted_seconds(df.iloc[::-1], "ts") is None  # derived frames read their own
    True
    >>> df.loc[0, "ts"] = "1970-01-01T00:00:05"  # so does a frame changed since
    >>> noted_seconds(df, "ts") is None, from_batch(df, "ts", [], ["v"], None).times.tolist()
    (True, [5.0])
    """
    _NOTES[id(df)] = EventSeconds(df, column, seconds, datetime)
    return df


def noted_seconds(
    df: pd.DataFrame, column: str, values: pd.Series | None = None
) -> EventSeconds | None:
    """The note of :func:`mark_event_seconds` on ``df[column]`` (``values``, if read
    already), if there is one and it still holds."""
    note = _NOTES.get(id(df)) if _NOTES else None
    if note is not None and note.applies_to(df, column, values):
        return note
    return None


_COLUMNS_CACHE: dict[tuple[str, ...], pd.Index] = {}
_FROM_ARRAYS = getattr(pd.DataFrame, "_from_arrays", None)


def fresh_frame(data: dict[str, Any], n: int, index: pd.Index | None = None) -> pd.DataFrame:
    """``pd.DataFrame(data, index=index, copy=False)`` (``index`` by default
    ``RangeIndex(n)``) for columns of ``n`` values each, in ~1/4 of the time: fresh 1-D
    numpy arrays or ExtensionArrays that nothing else holds, of the dtypes the frame
    should have, named by str. Object arrays take the public constructor, which infers
    their dtype.

    The public constructor checks and converts every column (~10 µs each; a pane frame
    has 8 or more); these need neither, so the frame is made from them as they are, with
    pandas' own ``DataFrame._from_arrays``. Should that method go away or refuse, the
    public constructor is used: the frame is the same.

    >>> fresh_frame({"k": pd.array(["a", "b"], dtype="str"), "v": np.arange(2.0)}, 2)
       k    v
    0  a  0.0
    1  b  1.0
    """
    objects = any(isinstance(v, np.ndarray) and v.dtype == object for v in data.values())
    if _FROM_ARRAYS is not None and not objects:  # (pandas infers the dtype of objects)
        names = tuple(data)
        columns = _COLUMNS_CACHE.get(names)
        if columns is None:
            if len(_COLUMNS_CACHE) > 256:
                _COLUMNS_CACHE.clear()
            columns = _COLUMNS_CACHE[names] = pd.Index(list(names))
        arrays = [v.to_numpy() if isinstance(v, pd.DatetimeIndex) else v for v in data.values()]
        try:
            return _FROM_ARRAYS(
                arrays,
                columns=columns,
                index=pd.RangeIndex(n) if index is None else index,
                verify_integrity=False,
            )
        except (TypeError, ValueError, AttributeError):
            pass
    return pd.DataFrame(data, index=index, copy=False)


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
        raw_times = df[time]
        note = noted_seconds(df, time, raw_times) if _NOTES else None
        if note is not None:  # read by the source already (a copy: consumers own theirs)
            out.times, out.datetime = note.seconds.copy(), note.datetime
        elif isinstance(raw_times.dtype, np.dtype) and raw_times.dtype.kind in "iuf":
            out.times = raw_times.to_numpy(dtype=np.float64, copy=True)  # plain numbers
        else:
            out.times, out.datetime = column_to_seconds(raw_times)
        times = out.times
        if len(times) and -limit < times.min() and times.max() < limit:  # (NaN fails)
            bad = None
        else:
            bad = ~(np.abs(times) < limit)  # NaN, infinite or too large
        if bad is not None and bad.any():
            unexplained()
            col = raw_times.to_numpy()
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
