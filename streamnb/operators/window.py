"""``stream.window(size, ...)``: keyed tumbling and sliding event-time windows as a streamz node."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.operators._batch import (
    fresh_frame,
    from_batch,
    from_record,
    upstream_attr,
)
from streamnb.operators.base import StreamnbNode
from streamnb.state.aggregates import normalise_agg
from streamnb.state.clock import Clock, SystemClock
from streamnb.state.fixed import DROPPED, LATE_ACCEPTED, ON_TIME, FixedWindows
from streamnb.state.keys import KeyEncoder
from streamnb.state.timeparse import parse_duration, seconds_to_times
from streamnb.state.tumbling import PANE_ON_TIME, TumblingWindows

__all__ = ["Window"]

INHERIT = "<inherit>"
_MISSING = object()


@Stream.register_api(attribute_name="window")
class Window(StreamnbNode):
    """Tumbling or sliding event-time windows per key, with watermark, allowed lateness,
    early panes and ``.late``.

    Emits one ``pandas.DataFrame`` per input that fired windows: the key column(s),
    ``window_start``, ``window_end``, ``count``, one ``{column}_{agg}`` per aggregate and
    ``pane`` (``"early"``, ``"on_time"`` or ``"late"``). Windows are ``[k*every, k*every +
    size)``; an event belongs to every window holding it, and goes to ``.late`` only when
    every one of them is past its lateness (the rules: :mod:`streamnb.state.fixed`).
    Unusable input goes to ``.dead_letters`` with its reason.

    Counters (``.counters``): ``in`` events received; ``on_time``, ``late_accepted`` (added
    only to windows the watermark had passed, kept by ``lateness``), ``dropped`` (sent to
    ``.late``), ``filtered`` (in no window: ``every > size`` leaves gaps) and
    ``dead_letters`` partition them; ``late`` is ``dropped + late_accepted``; ``panes`` counts
    the rows emitted and ``windows`` the ``on_time`` panes. For tumbling windows every event
    is in the last pane of exactly one window, so ``in == sum of the last panes' counts +
    dropped + dead_letters + filtered``.

    Parameters
    ----------
    size
        Window length: seconds or a string such as ``"1s"``, ``"5min"``.
    key
        Column name(s) to window by, or ``None`` for one global window per interval.
    time
        Event-time column. By default the time column of the source upstream;
        ``None`` windows by processing time (arrival, read from ``clock``).
    agg
        ``{"price": ["mean", "max"], "volume": "sum"}``; aggregates: count, sum, mean, min,
        max, first, last, std, var.
    watermark
        Bounded out-of-orderness: the watermark trails the largest event time by this much.
    lateness
        Allowed lateness after the watermark passes a window's end.
    clock
        Processing time (default: the source's clock).
    idle
        Idle timeout: when no input has arrived for this long (processing time), the watermark
        advances with processing time, so the last windows of a quiet stream still fire.
    every
        Step between window starts (seconds or ``"250ms"``): windows of ``size`` every
        ``every`` (sliding). ``None`` or ``size``: tumbling. Larger than ``size``: windows
        with gaps between them; events in a gap are counted as ``filtered``.
    early
        Early panes (processing time): on the clock's ticks (``src.tick()``, or a live
        source's), at most once per ``early``, every open window that has not fired and took
        events since its last early pane emits an ``early`` pane (all its events so far).
        The first tick with such windows emits at once; the next not before ``early`` later.

    Examples
    --------
    >>> import streamnb as sn
    >>> src = sn.from_records([{"ts": 0.5, "k": "a", "v": 1}, {"ts": 1.5, "k": "a", "v": 2},
    ...                        {"ts": 0.7, "k": "a", "v": 5}], time="ts")
    >>> w = src.window("1s", key="k", agg={"v": "sum"})
    >>> out, late = w.sink_to_list(), w.late.sink_to_list()
    >>> _ = src.run()
    >>> panes = pd.concat(out)[["k", "window_start", "count", "v_sum", "pane"]]
    >>> print(panes.to_string(index=False))
    k  window_start  count  v_sum    pane
    a           0.0      1    1.0 on_time
    a           1.0      1    2.0 on_time
    >>> late
    [{'ts': 0.7, 'k': 'a', 'v': 5}]

    Sliding windows of 1 s every 0.5 s; an event is in two windows:

    >>> src = sn.from_records([{"ts": 0.2, "v": 1}, {"ts": 0.7, "v": 2}], time="ts")
    >>> out = src.window("1s", every="500ms", agg={"v": "sum"}).sink_to_list()
    >>> _ = src.run()
    >>> print(pd.concat(out)[["window_start", "window_end", "v_sum"]].to_string(index=False))
     window_start  window_end  v_sum
             -0.5         0.5    1.0
              0.0         1.0    3.0
              0.5         1.5    2.0
    """

    counter_names = (
        "in",
        "on_time",
        "late",
        "late_accepted",
        "dropped",
        "filtered",
        "dead_letters",
        "panes",
        "windows",
    )

    def __init__(
        self,
        upstream: Stream,
        size: float | str,
        key: str | Sequence[str] | None = None,
        time: str | None = INHERIT,
        agg: Mapping[str, str | Sequence[str]] | None = None,
        watermark: float | str = 0.0,
        lateness: float | str = 0.0,
        clock: Clock | None = None,
        idle: float | str | None = None,
        every: float | str | None = None,
        early: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("stream_name", f"window({size!r})")
        super().__init__(upstream, **kwargs)
        if time == INHERIT:
            time = upstream_attr(self, "time", default=INHERIT)
            if time == INHERIT:
                raise ValueError(
                    "window() needs time='<column>' (or time=None for processing time): "
                    "no source upstream names its time column"
                )
        self.time = time
        self.key_columns: list[str] = (
            [] if key is None else [key] if isinstance(key, str) else list(key)
        )
        self.aggs = normalise_agg(agg)
        self._agg_columns = tuple(self.aggs)
        self.clock = clock or upstream_attr(self, "clock") or SystemClock()
        self.size = parse_duration(size)
        self.every = self.size if every is None else parse_duration(every)
        settings = {"watermark": parse_duration(watermark), "lateness": parse_duration(lateness)}
        self.state: Any
        if self.every == self.size:
            self.state = TumblingWindows(self.size, self.aggs, **settings)
        else:
            self.state = FixedWindows(self.size, self.aggs, every=self.every, **settings)
        self.idle = None if idle is None else parse_duration(idle)
        if self.idle is not None and not self.idle > 0:
            raise ValueError(f"idle timeout must be positive, got {idle!r}")
        self.early = None if early is None else parse_duration(early)
        if self.early is not None and not self.early > 0:
            raise ValueError(f"early pane interval must be positive, got {early!r}")
        self._next_early = -math.inf  # processing time from which early panes may go out
        self._observers: list[Any] = []
        # window indices (time / every) must fit in int64: larger times are dead letters
        self._t_limit = 2.0**62 * min(self.every, 1.0)
        self._max_event = -math.inf  # largest event time seen (seconds)
        self._last_arrival: float | None = None  # processing time of the last input
        self.keys = KeyEncoder()
        self._code_of = self.keys.lookup  # a known key's code, or None
        self._str_keys: Any = None  # see _typed_str_keys
        self._str_keys_n = 0  # how many key values _str_keys holds
        self._key_columns_seen: dict[bytes, Any] = {}  # codes -> their key column (of _str_keys)
        self._keys_checked = 0  # how many key values were checked to be str
        self._all_str_keys = True
        self.late = Stream(stream_name=f"{self.name}.late")
        self._datetime: bool | None = None
        self._position = 0

    # ---------------------------------------------------------------- public
    @property
    def watermark(self) -> float | pd.Timestamp | None:
        """The current watermark, in the input's time type (``None`` before any event)."""
        w = self.state.watermark
        if not math.isfinite(w):
            return None if w < 0 else w
        return seconds_to_times(np.array([w]), bool(self._datetime))[0]

    @property
    def open_windows(self) -> int:
        return self.state.open_windows

    def add_observer(self, fn: Any) -> None:
        """Call ``fn(arrival, times, w_before, w_after)`` for every input: its processing
        time, the event times (seconds) of its usable events, and the watermark before and
        after it (teaching views such as ``plot.timeline()`` use this)."""
        self._observers.append(fn)

    def _observe(self, times: np.ndarray, w_before: float) -> None:
        arrival = self._last_arrival
        for fn in self._observers:
            fn(arrival, times, w_before, self.state.watermark)

    # ---------------------------------------------------------------- streamz
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        if type(x) is not dict or self.idle is not None or self._observers or self.time is None:
            return self._update_any(x)
        # a record, no processing time needed: the common case read inline (a float or int
        # time, at most one key column, float or int values); anything else goes to
        # _update_record (from_record says what is wrong) before anything is counted
        t = x.get(self.time)
        kind = type(t)
        if kind is int:
            t = float(t)
        elif kind is not float:
            return self._update_record(x, None)
        limit = self._t_limit
        if not -limit < t < limit:  # NaN, infinite or too large
            return self._update_record(x, None)
        key_columns = self.key_columns
        if len(key_columns) == 1:
            key = x.get(key_columns[0], _MISSING)
            if key is _MISSING:
                return self._update_record(x, None)
        elif key_columns:
            return self._update_record(x, None)
        values = {}
        for col in self._agg_columns:
            v = x.get(col)
            kind = type(v)
            if kind is float:
                values[col] = v
            elif kind is int:
                values[col] = float(v)
            else:
                return self._update_record(x, None)
        update_one = getattr(self.state, "update_one", None)
        if update_one is None:
            return self._update_record(x, None)
        self._position += 1
        c = self.counters
        c["in"] += 1
        if self._datetime is None:
            self._datetime = False
        if key_columns:
            code = self._code_of(key)  # (an unhashable key raises here, as it did)
            if code is None:
                code = self.keys.encode_one(key)
        else:
            code = 0
        if t > self._max_event:
            self._max_event = t
        status, panes = update_one(t, code, values)
        if status == ON_TIME:
            c["on_time"] += 1
        else:
            self._count_status(status, x)
        if panes is not None:
            return self._emit_panes(panes)
        return None

    def _update_any(self, x: Any) -> Any:
        """:meth:`update` for anything but the plain record it reads inline."""
        arrival = None
        if self.time is None or self.idle is not None or self._observers:
            arrival = self._last_arrival = self.clock.now()  # processing time matters
            if self.time is not None:
                arrival = None
        if isinstance(x, pd.DataFrame):
            return self._update_batch(x, arrival)
        return self._update_record(x, arrival)

    def on_tick(self, now: float) -> None:
        """Processing time passed: processing-time windows fire up to ``now``; with ``idle=``,
        a quiet input lets the watermark advance with processing time; with ``early=``,
        open windows that took events emit early panes (at most once per interval)."""
        if self.time is None:
            self._emit_outcome(self.state.advance_watermark(now), None, None)
        elif self.idle is not None and self._last_arrival is not None:
            quiet = now - self._last_arrival
            if quiet >= self.idle and math.isfinite(self._max_event):
                w = self._max_event + quiet - self.state.delay
                self._emit_outcome(self.state.advance_watermark(w), None, None)
        if self.early is not None and now >= self._next_early:
            early_panes = getattr(self.state, "early_panes", None)
            panes = early_panes() if early_panes is not None else None
            if panes is not None and len(panes["pane"]):
                self._next_early = now + self.early
                self._emit_panes(panes)
        super().on_tick(now)

    def on_watermark(self, watermark: float) -> None:
        self._emit_outcome(self.state.advance_watermark(watermark), None, None)
        super().on_watermark(watermark)

    # --------------------------------------------------------------- helpers
    def _update_batch(self, df: pd.DataFrame, arrival: float | None) -> Any:
        n = len(df)
        pos0 = self._position
        self._position += n
        self.counters["in"] += n
        if n == 0:
            return None
        cols = from_batch(
            df, self.time, self.key_columns, list(self.aggs), arrival, limit=self._t_limit
        )
        for row, reason in cols.bad:
            self._dead(df.iloc[row].to_dict(), reason, pos0 + row)
        good = cols.good
        if not good.all():
            if not good.any():
                return None
            df = df[good]
            cols.times = cols.times[good]
            cols.keys = [k[good] for k in cols.keys]
            cols.values = {c: v[good] for c, v in cols.values.items()}
        if self._datetime is None:
            self._datetime = cols.datetime
        if not cols.keys:
            codes = np.zeros(len(cols.times), dtype=np.int64)
        else:
            codes = self.keys.encode_column(cols.keys[0] if len(cols.keys) == 1 else cols.keys)
        if len(cols.times):
            self._max_event = max(self._max_event, float(cols.times.max()))
        w_before = self.state.watermark
        outcome = self.state.update(cols.times, codes, cols.values)
        if self._observers:
            self._observe(cols.times, w_before)
        dropped = np.flatnonzero(outcome.dropped)
        # the late rows, for whoever listens to .late (taking rows costs ~0.1 ms a batch)
        late_df = df.take(dropped) if len(dropped) and self.late.downstreams else None
        return self._emit_outcome(outcome, late_df, None)

    def _update_record(self, rec: Any, arrival: float | None) -> Any:
        pos = self._position
        self._position = pos + 1
        self.counters["in"] += 1
        try:
            t, key, values, is_dt = from_record(
                rec, self.time, self.key_columns, self.aggs, arrival
            )
            if t >= self._t_limit or t <= -self._t_limit:  # (NaN: count windows, no time)
                raise ValueError(f"event time {t!r} is out of range")
        except ValueError as exc:
            self._dead(rec, str(exc), pos)
            return None
        if self._datetime is None:
            self._datetime = is_dt
        if self.key_columns:
            code = self._code_of(key)
            if code is None:
                code = self.keys.encode_one(key)
        else:
            code = 0
        if t > self._max_event:
            self._max_event = t
        state = self.state
        observers = self._observers
        w_before = state.watermark if observers else None
        update_one = getattr(state, "update_one", None)
        if update_one is None:  # a window kind without a scalar path
            outcome = state.update(
                np.array([t]),
                np.array([code], dtype=np.int64),
                {c: np.array([v]) for c, v in values.items()},
            )
            if observers:
                self._observe(np.array([t]), w_before)
            return self._emit_outcome(outcome, None, rec if outcome.dropped[0] else None)
        status, panes = update_one(t, code, values)
        if observers:
            self._observe(np.array([t]), w_before)
        self._count_status(status, rec)
        if panes is not None:
            return self._emit_panes(panes)
        return None

    def _count_status(self, status: int, rec: Any) -> None:
        """Count one event's fate; a dropped one goes to ``.late``."""
        c = self.counters
        if status == ON_TIME:
            c["on_time"] += 1
        elif status == DROPPED:
            c["dropped"] += 1
            c["late"] += 1
            self.late.emit(rec)
        elif status == LATE_ACCEPTED:
            c["late_accepted"] += 1
            c["late"] += 1
        else:
            c["filtered"] += 1

    def _emit_outcome(self, outcome: Any, late_df: pd.DataFrame | None, late_rec: Any) -> Any:
        c = self.counters
        dropped = int(np.count_nonzero(outcome.dropped))
        c["on_time"] += outcome.on_time
        c["late_accepted"] += outcome.late_accepted
        c["dropped"] += dropped
        c["filtered"] += outcome.filtered
        c["late"] += dropped + outcome.late_accepted
        if late_df is not None:
            self.late.emit(late_df)
        elif late_rec is not None:
            self.late.emit(late_rec)
        if outcome.n_panes:
            return self._emit_panes(outcome.panes)
        return None

    def _emit_panes(self, cols: dict[str, np.ndarray]) -> Any:
        panes = self._panes_frame(cols)
        c = self.counters
        c["panes"] += len(panes)
        c["windows"] += int(np.count_nonzero(cols["pane"] == PANE_ON_TIME))
        c["out"] = c["panes"]
        return self._emit(panes)

    def _panes_frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        data: dict[str, Any] = {}
        codes = cols["__code"]
        if self.key_columns:
            typed = self._typed_str_keys(len(codes)) if len(self.key_columns) == 1 else None
            if typed is not None:
                data[self.key_columns[0]] = self._key_column(typed, codes)
            elif len(self.key_columns) == 1:
                decoded = self.keys.decode(codes)
                data[self.key_columns[0]] = pd.Series(decoded).infer_objects().to_numpy()
            else:
                decoded = self.keys.decode(codes)
                for i, name in enumerate(self.key_columns):
                    data[name] = pd.Series([k[i] for k in decoded]).infer_objects().to_numpy()
        as_dt = bool(self._datetime)
        data["window_start"] = seconds_to_times(cols["window_start"], as_dt)
        data["window_end"] = seconds_to_times(cols["window_end"], as_dt)
        for name, values in cols.items():
            if name not in ("__code", "window_start", "window_end"):
                data[name] = values
        if isinstance(self.state, FixedWindows):
            # every array of FixedWindows' panes is fresh: the frame may own it as it is
            data["pane"] = _typed_kinds(cols["pane"]).copy()
            return fresh_frame(data, len(codes))
        data["pane"] = _typed_kinds(cols["pane"])
        return pd.DataFrame(data)  # copies every column: no frame shares a cached array

    def output_schema(self) -> dict[str, str]:
        """Column dtypes of the panes this node emits (so views can be typed before data).

        >>> import streamnb as sn
        >>> w = sn.market(seed=0).window("1s", key="symbol", agg={"price": "mean"})
        >>> w.output_schema()["window_end"], w.output_schema()["price_mean"]
        ('datetime64[ns]', 'float64')
        """
        is_dt = self._datetime
        if is_dt is None:
            hint = upstream_attr(self, "time_is_datetime")
            is_dt = bool(hint()) if callable(hint) else False
        times = "datetime64[ns]" if is_dt else "float64"
        schema = dict.fromkeys(self.key_columns, "object")
        schema.update(window_start=times, window_end=times, count="int64")
        for col, names in self.aggs.items():
            schema.update({f"{col}_{agg}": "float64" for agg in names})
        schema["pane"] = "object"
        return schema

    def _key_column(self, typed: Any, codes: np.ndarray) -> Any:
        """``typed.take(codes)``: the key column of a pane frame. Windows fire with the same
        keys in the same order again and again, so the columns of recent code sequences are
        kept (arrow arrays cannot change: each frame gets its own shallow copy)."""
        if len(codes) > 4096:
            return typed.take(codes)
        seen = self._key_columns_seen
        key = codes.tobytes()
        column = seen.get(key)
        if column is None:
            if len(seen) >= 64:
                seen.clear()
            column = seen[key] = typed.take(codes)
        return column.copy()

    def _typed_str_keys(self, n_rows: int) -> Any:
        """Every key value as one array of the str dtype pandas infers for them, to ``take``
        a key column of ``n_rows`` from; ``None`` unless every key is a ``str``.

        A column inferred from ``str`` values has that dtype whichever of them it holds, so
        taking from this array gives the column that inferring would. The array is rebuilt
        when keys appear, but not while many keys keep appearing (a rebuild would then cost
        more than inferring the column).
        """
        values = self.keys.values
        n = len(values)
        grew = n != self._keys_checked
        if grew:
            new = values[self._keys_checked :]
            self._all_str_keys = self._all_str_keys and all(type(v) is str for v in new)
            self._keys_checked = n
        if not self._all_str_keys:
            return None
        if self._str_keys_n != n:
            if grew and self._str_keys_n and n > 4 * n_rows + 1024:
                return None
            self._str_keys = pd.Series(np.array(values, dtype=object)).array
            self._key_columns_seen.clear()
            self._str_keys_n = n
        return self._str_keys

    def __repr__(self) -> str:
        return (
            f"<window size={self.size}s key={self.key_columns} "
            f"watermark={self.watermark} counters={self.counters}>"
        )


_KINDS_CACHE: dict[tuple[str, int], Any] = {}


def _typed_kinds(kinds: np.ndarray) -> Any:
    """The ``pane`` column (an object array of str) as the array pandas infers from it.

    Inferring a str column costs ~0.1 ms a frame; a frame's panes are nearly always of one
    kind, so those columns are inferred once per (kind, length) and reused.

    >>> _typed_kinds(np.array(["on_time", "on_time"], dtype=object)).tolist()
    ['on_time', 'on_time']
    """
    n = len(kinds)
    if not n:
        return kinds
    first = kinds[0]
    if n == 1 or (kinds == first).all():
        typed = _KINDS_CACHE.get((first, n))
        if typed is None:
            if len(_KINDS_CACHE) > 512:
                _KINDS_CACHE.clear()
            typed = _KINDS_CACHE[(first, n)] = pd.Series(kinds).array
        return typed
    return pd.Series(kinds).array
