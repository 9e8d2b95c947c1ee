"""``stream.detect(rules, key=...)``: rule-based alerts per key, in event time.

Wraps :class:`~streamnb.state.detector.Detector` (the time contract is there): events are
held until the watermark passes them, then each rule sees each key's events in event-time
order, so records and batches give the same alerts. Late events (older than the watermark)
go to ``.late``; unusable input (unreadable time, missing or non-numeric fields) to
``.dead_letters``; a condition that raises (a callable, or ``'abc' > 3``) is handled by
``on_error`` as in :mod:`streamnb.operators.apply`.

Output: one ``pandas.DataFrame`` of alerts per input (or watermark) that raised any, records
in or batches in alike, with the columns ``rule``, the key column(s), the time column (the
alert's event time, in the input's time type), ``start`` (when the evidence began: episode
start, reference event, first step, last event before a silence), ``value`` (the triggering
value, NaN when there is none), ``message`` (for people) and ``positions`` (a tuple of the
positions, counted from 0 at this node, of the events involved). With ``mark=True`` the node
emits the events instead, in event-time order once released, with a ``rules`` column: the
rules that alerted at the event or are in alarm there (a threshold from the alert to the end
of its episode); the alerts then go to ``.alerts`` only (they go there in both modes).

Counters: ``in`` = ``released`` + ``pending`` + ``late`` + ``dead_letters`` + ``skipped``;
``alerts`` and ``errors``.

>>> import streamnb as sn
>>> rows = [{"ts": t, "patient": "p1", "hr": hr} for t, hr in enumerate([90, 125, 130, 128, 95])]
>>> src = sn.from_records(rows, time="ts")
>>> alerts = src.detect(sn.rules.threshold("hr", above=120, for_=2), key="patient")
>>> out = alerts.sink_to_list()
>>> _ = src.run()
>>> print(out[0][["rule", "patient", "ts", "start", "message"]].to_string(index=False))
            rule patient  ts  start                       message
hr > 120 for 2s      p1 3.0    1.0 hr above 120 for 2 s (max 130)
>>> out[0]["positions"].tolist(), alerts.counters["released"]
([(1, 3)], 5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.operators._batch import EVENT_SECONDS, from_batch, from_record, upstream_attr
from streamnb.operators._inherit import inherited_time
from streamnb.operators.apply import ON_ERROR
from streamnb.operators.base import NODE_ERRORS, StreamnbNode
from streamnb.operators.window import INHERIT
from streamnb.state.clock import Clock, SystemClock
from streamnb.state.detector import Detector, Outcome
from streamnb.state.keys import KeyEncoder
from streamnb.state.rules import Rule
from streamnb.state.timeparse import parse_duration, seconds_to_times

__all__ = ["Detect"]

_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_STR = pd.StringDtype(na_value=np.nan)  # the dtype pandas infers for str columns


class _Failed(Exception):
    """A condition failed on some rows: ``rows`` (relative) and one exception per row."""

    def __init__(self, rows: list[tuple[int, BaseException]]) -> None:
        super().__init__(f"{len(rows)} rows failed")
        self.rows = rows


@Stream.register_api(attribute_name="detect")
class Detect(StreamnbNode):
    """Apply detection rules per key in event time; emits alert DataFrames (see module).

    Parameters
    ----------
    rules
        A rule or a list of rules from ``sn.rules`` (``threshold``, ``change``, ``zscore``,
        ``sequence``, ``absence``, ``predicate``, ``any_of``, ``all_of``).
    key
        Column name(s) to detect per key (``"patient"``), or ``None`` for one global key.
    time
        Event-time column; by default the time column of the source upstream; ``None`` uses
        processing time (arrival, read from ``clock``).
    watermark
        Bounded out-of-orderness: events are held until the largest event time seen minus
        this has passed them, then processed in event-time order; older events are late.
        Set it to the largest delay the source has (``max_delay``).
    mark
        Emit every released event with a ``rules`` column instead of the alerts.
    on_error
        ``"dead_letter"`` (default), ``"skip"`` or ``"raise"`` for conditions that raise.
    clock
        Processing time for ``time=None`` (default: the source's clock).
    """

    counter_names = (
        "in",
        "out",
        "released",
        "late",
        "alerts",
        "dead_letters",
        "errors",
        "skipped",
    )

    def __init__(
        self,
        upstream: Stream,
        rules: Rule | Sequence[Rule],
        key: str | Sequence[str] | None = None,
        time: str | None = INHERIT,
        watermark: float | str = 0.0,
        mark: bool = False,
        on_error: str = "dead_letter",
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}; got {on_error!r}")
        detector = Detector(rules, watermark=parse_duration(watermark), track_matches=mark)
        if time == INHERIT:
            time = inherited_time(upstream, default=INHERIT)
            if time == INHERIT:
                raise ValueError(
                    "detect() needs time='<column>' (or time=None for processing time): "
                    "no source upstream names its time column"
                )
        names = ", ".join(r.name for r in detector.rules)
        kwargs.setdefault("stream_name", f"detect({names})")
        super().__init__(upstream, **kwargs)
        self.detector = detector
        self.time = time
        self.key_columns: list[str] = (
            [] if key is None else [key] if isinstance(key, str) else list(key)
        )
        self.mark = bool(mark)
        self.on_error = on_error
        self.clock = clock or upstream_attr(self, "clock") or SystemClock()
        self.keys = KeyEncoder()
        self.late = Stream(stream_name=f"{self.name}.late")
        self.alerts = Stream(stream_name=f"{self.name}.alerts")
        self._datetime: bool | None = None
        self._position = 0
        self._held: list[pd.DataFrame] = []  # mark=True: rows waiting for the watermark
        self._held_records: dict[int, dict[str, Any]] = {}
        self._str_keys = True  # every key value seen is a str
        self._keys_checked = 0

    # ----------------------------------------------------------------- public
    @property
    def rules(self) -> list[Rule]:
        return self.detector.rules

    @property
    def pending(self) -> int:
        """Events held until the watermark passes them."""
        return self.detector.pending

    @property
    def watermark(self) -> float | pd.Timestamp | None:
        """The current watermark, in the input's time type (``None`` before any event)."""
        w = self.detector.watermark
        if not math.isfinite(w):
            return None if w < 0 else w
        return seconds_to_times(np.array([w]), bool(self._datetime))[0]

    @property
    def time_column(self) -> str:
        return self.time if self.time is not None else "time"

    def output_schema(self) -> dict[str, str]:
        """Column dtypes of the alert frames (so live views are typed before data).

        >>> import streamnb as sn
        >>> det = sn.vitals(seed=0).detect(sn.rules.absence("10s"), key="patient")
        >>> det.output_schema()["ts"], det.output_schema()["message"]
        ('datetime64[ns]', 'object')
        """
        is_dt = self._datetime
        if is_dt is None:
            hint = upstream_attr(self, "time_is_datetime")
            is_dt = bool(hint()) if callable(hint) else False
        times = "datetime64[ns]" if is_dt else "float64"
        schema = {"rule": "object", **dict.fromkeys(self.key_columns, "object")}
        schema.update({self.time_column: times, "start": times, "value": "float64"})
        schema.update(message="object", positions="object")
        return schema

    # ---------------------------------------------------------------- streamz
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        arrival = self.clock.now() if self.time is None else None
        if isinstance(x, pd.DataFrame):
            return self._update_batch(x, arrival)
        return self._update_record(x, arrival)

    def on_watermark(self, watermark: float) -> None:
        self._emit_outcome(self.detector.advance_watermark(watermark))
        super().on_watermark(watermark)

    # --------------------------------------------------------------- helpers
    def _update_batch(self, df: pd.DataFrame, arrival: float | None) -> Any:
        n = len(df)
        pos0 = self._position
        self._position += n
        self.counters["in"] += n
        if not n:
            return None
        det = self.detector
        cols = self._columns(df, arrival)
        for row, reason in cols.bad:
            self._dead(df.iloc[row].to_dict(), reason, pos0 + row)
        positions = pos0 + np.arange(n)
        good = cols.good
        if not good.all():
            df, positions = df[good], positions[good]
            cols.times = cols.times[good]
            cols.keys = [k[good] for k in cols.keys]
            cols.values = {c: v[good] for c, v in cols.values.items()}
        if not len(df):
            return None
        conds, ok = self._conditions_batch(df, positions)
        if ok is not None:
            df, positions, conds = df[ok], positions[ok], conds[ok]
            cols.times = cols.times[ok]
            cols.keys = [k[ok] for k in cols.keys]
            cols.values = {c: v[ok] for c, v in cols.values.items()}
            if not len(df):
                return None
        if self._datetime is None:
            self._datetime = cols.datetime
        if not cols.keys:
            codes = np.zeros(len(df), dtype=np.int64)
        else:
            codes = self.keys.encode_column(cols.keys[0] if len(cols.keys) == 1 else cols.keys)
        outcome = det.update(cols.times, codes, positions, cols.values, conds)
        late = np.flatnonzero(outcome.late)
        if self.mark:  # keep the rows until released (late rows never are)
            keep = df.set_axis(pd.Index(positions), axis=0)
            self._held.append(keep[~outcome.late] if len(late) else keep)
        if len(late):
            self.late.emit(df.take(late))
        return self._emit_outcome(outcome)

    def _columns(self, df: pd.DataFrame, arrival: float | None) -> Any:
        """``from_batch``, with a fast path for a plain datetime64 time column with no NaT
        (unless the source already noted the batch's event times)."""
        det = self.detector
        noted = bool(df.attrs) and df.attrs.get(EVENT_SECONDS) is not None
        if self.time is not None and not noted and self.time in df.columns:
            raw = df[self.time].to_numpy()
            if raw.dtype.kind == "M" and not np.isnat(raw).any():
                cols = from_batch(df, None, self.key_columns, det.fields, 0.0)
                unit, _ = np.datetime_data(raw.dtype)
                cols.times = (
                    raw.view("int64") / _PER_SECOND[unit]
                    if unit in _PER_SECOND
                    else ((raw - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
                )
                cols.datetime = True
                return cols
        return from_batch(df, self.time, self.key_columns, det.fields, arrival)

    def _update_record(self, rec: Any, arrival: float | None) -> Any:
        pos = self._position
        self._position += 1
        self.counters["in"] += 1
        det = self.detector
        try:
            t, key, values, is_dt = from_record(
                rec, self.time, self.key_columns, det.fields, arrival
            )
        except ValueError as exc:
            self._dead(rec, str(exc), pos)
            return None
        conds = np.zeros((1, len(det.conditions)), dtype=bool)
        if det.conditions:
            missing = [c for c in det.columns if c not in rec]
            if missing:
                self._dead(rec, f"field {missing[0]!r} missing; fields are {list(rec)}", pos)
                return None
            columns = {c: [rec[c]] for c in det.columns}
            try:
                conds = det.evaluate(columns, lambda: pd.DataFrame([rec]), 1)
            except Exception as exc:
                self._failed(rec, exc, pos)
                return None
        if self._datetime is None:
            self._datetime = is_dt
        code = self.keys.encode_one(key) if self.key_columns else 0
        outcome = det.update(
            np.array([t]),
            np.array([code], dtype=np.int64),
            np.array([pos], dtype=np.int64),
            {c: np.array([v]) for c, v in values.items()},
            conds,
        )
        if outcome.late[0]:
            self.late.emit(rec)
        elif self.mark:  # kept until released
            self._held_records[pos] = rec
        return self._emit_outcome(outcome)

    def _conditions_batch(
        self, df: pd.DataFrame, positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The conditions of the rows of ``df``, and the mask of rows they worked on (``None``:
        all). A failing batch is bisected, so the failing rows are found in a few calls."""
        det = self.detector
        if not det.conditions:
            return np.zeros((len(df), 0), dtype=bool), None
        missing = [c for c in det.columns if c not in df.columns]
        if missing:
            reason = f"column {missing[0]!r} missing; columns are {list(df.columns)}"
            for i, rec in enumerate(df.to_dict("records")):
                self._dead(rec, reason, int(positions[i]))
            return np.zeros((len(df), len(det.conditions)), dtype=bool), np.zeros(len(df), bool)
        try:
            return det.evaluate(df, lambda: df, len(df)), None
        except Exception as exc:
            if self.on_error == "raise" and not isinstance(exc, KeyError):
                raise
        conds = np.zeros((len(df), len(det.conditions)), dtype=bool)
        ok = np.ones(len(df), dtype=bool)
        todo = [(0, len(df))]
        while todo:
            lo, hi = todo.pop()
            part = df.iloc[lo:hi]
            try:
                conds[lo:hi] = det.evaluate(part, lambda part=part: part, hi - lo)
            except Exception as exc:
                if hi - lo == 1:
                    ok[lo] = False
                    self._failed(part.iloc[0].to_dict(), exc, int(positions[lo]))
                else:
                    mid = (lo + hi) // 2
                    todo += [(mid, hi), (lo, mid)]
        return conds, ok

    def _failed(self, record: Any, exc: BaseException, pos: int) -> None:
        """A condition could not be evaluated on one event."""
        if isinstance(exc, KeyError):  # a missing column: the data's fault
            self._dead(record, str(exc.args[0]) if exc.args else repr(exc), pos)
            return
        self.counters["errors"] += 1
        NODE_ERRORS[self] = NODE_ERRORS.get(self, 0) + 1
        if self.on_error == "raise":
            raise exc
        if self.on_error == "dead_letter":
            self.counters["dead_letters"] += 1
            self.dead_letters.put(record, f"{type(exc).__name__} in {self.name}: {exc}", pos, exc)
        else:
            self.counters["skipped"] += 1

    def _emit_outcome(self, outcome: Outcome) -> Any:
        c = self.counters
        c["late"] += int(outcome.late.sum())
        c["released"] += outcome.n_released
        alerts = self._alerts_frame(outcome) if outcome.n_alerts else None
        if alerts is not None:
            c["alerts"] += len(alerts)
            self.alerts.emit(alerts)
        if self.mark:
            if len(outcome.released):
                events = self._marked_frame(outcome)
                c["out"] += len(events)
                return self._emit(events)
            return None
        if alerts is not None:
            c["out"] += len(alerts)
            return self._emit(alerts)
        return None

    def _keys_frame(self, codes: np.ndarray) -> dict[str, Any]:
        """Key columns of ``codes``: str keys as they are (pandas types them), others
        inferred (ints stay ints)."""
        if not self.key_columns:
            return {}
        decoded = self.keys.decode(codes)
        values = self.keys.values
        if self._keys_checked < len(values):
            fresh = values[self._keys_checked :]
            self._str_keys = self._str_keys and all(type(v) is str for v in fresh)
            self._keys_checked = len(values)
        if len(self.key_columns) == 1:
            if self._str_keys:
                return {self.key_columns[0]: pd.array(decoded, dtype=_STR)}
            return {self.key_columns[0]: pd.Series(decoded, dtype=object).infer_objects().array}
        return {
            name: pd.Series([k[i] for k in decoded], dtype=object).infer_objects().array
            for i, name in enumerate(self.key_columns)
        }

    def _times(self, seconds: np.ndarray) -> np.ndarray:
        """Float seconds in the input's time type: naive UTC datetimes (to the microsecond,
        the precision of float epoch seconds) when the input held datetimes."""
        if not self._datetime:
            return seconds
        return (np.round(seconds * 1e6).astype("int64") * 1000).view("datetime64[ns]")

    def _alerts_frame(self, outcome: Outcome) -> pd.DataFrame:
        a = outcome.alerts
        data: dict[str, Any] = {"rule": pd.array(a["rule"], dtype=_STR)}
        data.update(self._keys_frame(a["code"]))
        data[self.time_column] = self._times(a["time"])
        data["start"] = self._times(a["start"])
        data["value"] = a["value"]
        data["message"] = pd.array(np.array(a["message"], dtype=object), dtype=_STR)
        positions = np.empty(len(a["positions"]), dtype=object)
        positions[:] = a["positions"]
        data["positions"] = positions
        return pd.DataFrame(data, copy=False)

    def _marked_frame(self, outcome: Outcome) -> pd.DataFrame:
        order = outcome.released
        parts = []
        if self._held:
            held = pd.concat(self._held) if len(self._held) > 1 else self._held[0]
            hit = held.index.isin(order)
            parts.append(held[hit])
            self._held = [held[~hit]] if (~hit).any() else []
        records = [p for p in order.tolist() if p in self._held_records]
        if records:
            parts.append(
                pd.DataFrame.from_records(
                    [self._held_records.pop(p) for p in records], index=pd.Index(records)
                )
            )
        frame = pd.concat(parts) if len(parts) > 1 else parts[0]
        frame = frame.loc[order]
        names = [r.name for r in self.detector.rules]
        matched = outcome.matched
        bits = (matched * (1 << np.arange(matched.shape[1]))).sum(axis=1)
        labels = {
            b: tuple(name for j, name in enumerate(names) if b >> j & 1)
            for b in np.unique(bits).tolist()
        }
        rules = np.empty(len(bits), dtype=object)
        rules[:] = [labels[b] for b in bits.tolist()]
        return frame.assign(rules=rules)

    def __repr__(self) -> str:
        names = [r.name for r in self.detector.rules]
        return (
            f"<detect rules={names} key={self.key_columns} watermark={self.watermark} "
            f"pending={self.pending} counters={self.counters}>"
        )
