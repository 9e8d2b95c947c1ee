"""Turning an incoming record or batch into clean columns, with dead letters for the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from streamnb.state.timeparse import column_to_seconds, is_datetime_like, to_seconds

__all__ = ["Columns", "from_batch", "from_record", "upstream_attr"]

_MISSING = object()


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
) -> Columns:
    """Vectorised: event times (or the arrival time), key columns and numeric columns.

    A row gets the reason of its first problem (time, then keys, then numbers, in order).
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
        out.times, out.datetime = column_to_seconds(df[time])
        bad = np.isnan(out.times)
        if bad.any():
            unexplained()
            col = df[time].to_numpy()
            for i in np.flatnonzero(bad):
                reasons[i] = (
                    f"missing event time in column {time!r}"
                    if pd.isna(col[i])
                    else f"unreadable event time {col[i]!r} in column {time!r}"
                )
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
    rec: Any, time: str | None, keys: Sequence[str], numeric: Sequence[str], arrival: float | None
) -> tuple[float, tuple | object, dict[str, float], bool]:
    """One record's time, key and numbers; raises ``ValueError`` with the reason if unusable."""
    if not isinstance(rec, dict):
        raise ValueError(f"expected a dict or a DataFrame, got {type(rec).__name__}")
    if time is None:
        t, is_dt = float(arrival), False
    else:
        raw = rec.get(time, _MISSING)
        if raw is _MISSING:
            raise ValueError(f"field {time!r} missing; fields are {list(rec)}")
        if raw is None or (isinstance(raw, float) and raw != raw):
            raise ValueError(f"missing event time in field {time!r}")
        try:
            t = to_seconds(raw)
        except ValueError:
            raise ValueError(f"unreadable event time {raw!r} in field {time!r}") from None
        is_dt = is_datetime_like(raw)
    key_vals = []
    for k in keys:
        if k not in rec:
            raise ValueError(f"key field {k!r} missing")
        key_vals.append(rec[k])
    values = {}
    for col in numeric:
        if col not in rec:
            raise ValueError(f"field {col!r} missing")
        v = rec[col]
        if v is None:
            values[col] = np.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            values[col] = float(v)
        else:
            try:
                values[col] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"non-numeric value {v!r} in field {col!r}") from None
    key = key_vals[0] if len(key_vals) == 1 else tuple(key_vals)
    return t, key, values, is_dt


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
