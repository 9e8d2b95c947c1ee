"""``stream.window(size, ...)``: keyed tumbling event-time windows as a streamz node."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.operators._batch import from_batch, from_record, upstream_attr
from streamnb.operators.base import StreamnbNode
from streamnb.state.aggregates import normalise_agg
from streamnb.state.clock import Clock, SystemClock
from streamnb.state.keys import KeyEncoder
from streamnb.state.timeparse import parse_duration, seconds_to_times
from streamnb.state.tumbling import TumblingWindows

__all__ = ["Window"]

INHERIT = "<inherit>"


@Stream.register_api(attribute_name="window")
class Window(StreamnbNode):
    """Tumbling event-time windows per key, with watermark, allowed lateness and ``.late``.

    Emits one ``pandas.DataFrame`` per input that fired windows: the key column(s),
    ``window_start``, ``window_end``, ``count``, one ``{column}_{agg}`` per aggregate and
    ``pane`` (``"on_time"`` or ``"late"``). Events too late even for ``lateness`` go to
    ``.late``; unusable input goes to ``.dead_letters`` with its reason.

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
    """

    counter_names = (
        "in",
        "on_time",
        "late",
        "late_accepted",
        "dropped",
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
        self.clock = clock or upstream_attr(self, "clock") or SystemClock()
        self.size = parse_duration(size)
        self.state = TumblingWindows(
            self.size,
            self.aggs,
            watermark=parse_duration(watermark),
            lateness=parse_duration(lateness),
        )
        self.idle = None if idle is None else parse_duration(idle)
        if self.idle is not None and not self.idle > 0:
            raise ValueError(f"idle timeout must be positive, got {idle!r}")
        self._max_event = -math.inf  # largest event time seen (seconds)
        self._last_arrival: float | None = None  # processing time of the last input
        self.keys = KeyEncoder()
        self._str_keys: Any = None  # see _typed_str_keys
        self._str_keys_n = 0  # how many key values _str_keys holds
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

    # ---------------------------------------------------------------- streamz
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        arrival = self._last_arrival = self.clock.now()
        if self.time is not None:
            arrival = None
        if isinstance(x, pd.DataFrame):
            return self._update_batch(x, arrival)
        return self._update_record(x, arrival)

    def on_tick(self, now: float) -> None:
        """Processing time passed: processing-time windows fire up to ``now``; with ``idle=``,
        a quiet input lets the watermark advance with processing time."""
        if self.time is None:
            self._emit_outcome(self.state.advance_watermark(now), None, None)
        elif self.idle is not None and self._last_arrival is not None:
            quiet = now - self._last_arrival
            if quiet >= self.idle and math.isfinite(self._max_event):
                w = self._max_event + quiet - self.state.delay
                self._emit_outcome(self.state.advance_watermark(w), None, None)
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
        cols = from_batch(df, self.time, self.key_columns, list(self.aggs), arrival)
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
        outcome = self.state.update(cols.times, codes, cols.values)
        dropped = np.flatnonzero(outcome.dropped)
        late_df = df.take(dropped) if len(dropped) else None
        return self._emit_outcome(outcome, late_df, None)

    def _update_record(self, rec: Any, arrival: float | None) -> Any:
        pos = self._position
        self._position += 1
        self.counters["in"] += 1
        try:
            t, key, values, is_dt = from_record(
                rec, self.time, self.key_columns, list(self.aggs), arrival
            )
        except ValueError as exc:
            self._dead(rec, str(exc), pos)
            return None
        if self._datetime is None:
            self._datetime = is_dt
        code = self.keys.encode_one(key) if self.key_columns else 0
        if t > self._max_event:
            self._max_event = t
        outcome = self.state.update(
            np.array([t]),
            np.array([code], dtype=np.int64),
            {c: np.array([v]) for c, v in values.items()},
        )
        return self._emit_outcome(outcome, None, rec if outcome.dropped[0] else None)

    def _emit_outcome(self, outcome: Any, late_df: pd.DataFrame | None, late_rec: Any) -> Any:
        c = self.counters
        dropped = int(outcome.dropped.sum())
        c["on_time"] += outcome.on_time
        c["late_accepted"] += outcome.late_accepted
        c["dropped"] += dropped
        c["late"] += dropped + outcome.late_accepted
        if late_df is not None:
            self.late.emit(late_df)
        elif late_rec is not None:
            self.late.emit(late_rec)
        if outcome.n_panes:
            panes = self._panes_frame(outcome.panes)
            c["panes"] += len(panes)
            c["windows"] += int(np.count_nonzero(outcome.panes["pane"] == "on_time"))
            self.counters["out"] = c["panes"]
            return self._emit(panes)
        return None

    def _panes_frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        data: dict[str, Any] = {}
        codes = cols["__code"]
        if self.key_columns:
            typed = self._typed_str_keys(len(codes)) if len(self.key_columns) == 1 else None
            if typed is not None:
                data[self.key_columns[0]] = typed.take(codes)
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
        return pd.DataFrame(data)

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
            self._str_keys_n = n
        return self._str_keys

    def __repr__(self) -> str:
        return (
            f"<window size={self.size}s key={self.key_columns} "
            f"watermark={self.watermark} counters={self.counters}>"
        )
