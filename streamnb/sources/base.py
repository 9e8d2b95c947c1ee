"""``EventSource``: the base of every streamnb source.

A source hands out *items* (a record ``dict`` or a ``DataFrame`` batch) in arrival order.
It can be driven three ways, all emitting the same items in the same order:

* ``run()`` — synchronously to the end (finite sources), then the final watermark (+inf);
* ``step()`` — one emission at a time (a notebook "next" button, tests);
* ``start()`` — live on an event loop: the kernel's own loop in Jupyter, so plots and widgets
  update on the kernel's IOLoop thread; paced by the source's ``clock`` and ``speed``.

An exception raised downstream while an item is handled is caught here, counted, and sent to
``dead_letters`` with the item: a bad event never stops a source.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from itertools import repeat
from operator import call
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import infer_dtype
from streamz import Source
from streamz.orderedweakset import OrderedWeakrefSet
from tornado.ioloop import IOLoop

from streamnb.operators._batch import fresh_frame, mark_event_seconds
from streamnb.operators.base import DeadLetters, propagate_tick, propagate_watermark
from streamnb.state.clock import Clock, SystemClock
from streamnb.state.timeparse import column_to_seconds, to_seconds

__all__ = [
    "EventSource",
    "Unreadable",
    "all_sources",
    "is_missing",
    "kernel_loop",
    "not_a_record",
    "plain",
    "records_frame",
    "stop_all",
]

_SOURCES: weakref.WeakSet[EventSource] = weakref.WeakSet()


class Unreadable(NamedTuple):
    """An input item a reader could not turn into an event: what there was, and why."""

    record: Any
    reason: str


def plain(value: Any) -> Any:
    """``value`` as a plain Python object, for messages: no ``np.True_`` or ``np.float64(1.0)``.

    >>> plain(np.True_), plain(np.float64(1.5)), plain(np.datetime64("2026-01-01")), plain("x")
    (True, 1.5, '2026-01-01', 'x')
    """
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return str(value)  # .item() would give an int for nanosecond units
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_missing(value: Any) -> bool:
    """True for the values that mean "no value": None, NaN, NaT and ``pd.NA``.

    >>> [is_missing(v) for v in (None, float("nan"), pd.NaT, np.datetime64("NaT"), 0, "")]
    [True, True, True, True, False, False]
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, (np.datetime64, np.timedelta64)) and bool(np.isnat(value))


def kernel_loop() -> IOLoop | None:
    """The IOLoop of the asyncio loop running in this thread (a Jupyter kernel's), if any."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return IOLoop.current()


def all_sources() -> list[EventSource]:
    """Every streamnb source alive in this process."""
    return list(_SOURCES)


def stop_all() -> int:
    """Stop every running streamnb source; returns how many were running.

    >>> import streamnb as sn
    >>> src = sn.market(seed=0)
    >>> sn.stop_all() >= 0
    True
    """
    running = [s for s in _SOURCES if not s.stopped]
    for s in running:
        s.stop()
    return len(running)


class _Downstreams(OrderedWeakrefSet):
    """A source's downstream nodes: streamz' ordered weak set, iterated without the
    ``WeakSet`` iteration guard. streamz copies it into a list on every emit (~1 µs a
    record with the guard); iterating a snapshot of the weak references is as safe, since
    a node dying meanwhile cannot change the snapshot."""

    def __init__(self, values: Any = ()) -> None:
        super().__init__(values)
        self._refs = getattr(self.data, "_od", self.data)  # the weak references, in order

    def __iter__(self) -> Any:
        return iter([item for item in map(call, list(self._refs)) if item is not None])

    def __len__(self) -> int:
        return len(self._refs) - len(self._pending_removals)


class EventSource(Source):
    """Base class: subclasses implement ``_next_item()`` and, for pacing, ``_item_time()``.

    Parameters
    ----------
    time
        Name of the event-time column (validated here: rows whose time is missing or cannot
        be read go to ``dead_letters``); ``None`` for no event time.
    clock
        Processing time for pacing (``SystemClock`` by default; ``ManualClock`` in tests).
    speed
        ``None``: as fast as possible when live; a number paces by event time, ``speed``
        times faster than real time.
    interval
        Seconds between two live ticks.
    """

    def __init__(
        self,
        time: str | None = None,
        clock: Clock | None = None,
        speed: float | None = None,
        interval: float = 0.05,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        loop = kwargs.pop("loop", None) or kernel_loop()
        if loop is not None:
            kwargs["loop"] = loop
        super().__init__(stream_name=name, **kwargs)
        self.downstreams = _Downstreams(self.downstreams)
        self.time = time
        self.clock = clock or SystemClock()
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive or None, got {speed!r}")
        self.speed = speed
        self.interval = float(interval)
        self.paused = False
        self.exhausted = False
        self.finished = False
        self.dead_letters = DeadLetters(owner=name or type(self).__name__.lower())
        self.counters: dict[str, int] = {"emitted": 0, "events": 0, "errors": 0, "dead_letters": 0}
        self._position = 0  # events handed out or dead-lettered so far
        self._pace_origin: float | None = None  # event time that matches feed time 0
        self._feed_elapsed = 0.0  # processing time the source has been running, x speed
        self._task: asyncio.Future | None = None
        _SOURCES.add(self)

    # ------------------------------------------------------------ subclass API
    def _next_item(self) -> Any:
        """The next item to emit, or ``None`` when the source is exhausted."""
        raise NotImplementedError

    def _peek_time(self) -> float | None:
        """Event time (seconds) of the next item, for pacing; ``None`` if unknown."""
        return None

    def time_is_datetime(self) -> bool | None:
        """Whether event times are datetimes (``None``: not known before data arrives)."""
        return None

    # ----------------------------------------------------------------- driving
    def step(self) -> Any:
        """Emit exactly one item (a record or a batch) and return it; ``None`` at the end."""
        item = self._next_item()
        if item is None:
            self._finish()
            return None
        self._send(item)
        return item

    def tick(self) -> float:
        """Tell the graph the processing time (``clock.now()``): processing-time windows,
        idle timeouts and early panes react. Live sources tick every ``interval``; with a
        ``ManualClock``, advance it and call ``tick()``. Returns the time sent."""
        now = self.clock.now()
        propagate_tick(self, now)
        return now

    def run(self) -> EventSource:
        """Run a finite source to its end, synchronously, then send the final watermark."""
        if not self.finite:
            raise ValueError(f"{self!r} never ends; give it n=... or use start()/step()")
        next_item, send = self._next_item, self._send
        while (item := next_item()) is not None:
            send(item)
        self._finish()
        return self

    @property
    def finite(self) -> bool:
        return True

    def start(self) -> None:
        """Run live on the event loop (the kernel's in Jupyter) until stopped or exhausted."""
        if not self.stopped or self.finished:
            return
        self.stopped = False
        self.started = True
        self.paused = False
        self.loop.add_callback(self._live)

    def stop(self) -> None:
        self.stopped = True

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        if self.stopped:
            self.start()
        self.paused = False

    async def _live(self) -> None:
        last = self.clock.now()
        while not self.stopped and not self.finished:
            now = self.clock.now()
            if not self.paused:
                self._feed_elapsed += (now - last) * (self.speed or 1.0)
                self._emit_due()
                if not self.finished:
                    self.tick()
            last = now
            await asyncio.sleep(self.interval)
        self.stopped = True

    def _emit_due(self) -> None:
        """One live tick: emit what is due (everything for ``speed=None``, within a budget)."""
        deadline = self.clock.now() + self.interval if not self.clock.manual else None
        while True:
            if self.speed is not None:
                t = self._peek_time()
                if t is not None:
                    if self._pace_origin is None:
                        self._pace_origin = t - self._feed_elapsed
                    if t - self._pace_origin > self._feed_elapsed:
                        return
            item = self._next_item()
            if item is None:
                self._finish()
                return
            self._send(item)
            if deadline is not None and self.speed is None and self.clock.now() > deadline:
                return

    # ---------------------------------------------------------------- emitting
    def _send(self, item: Any) -> None:
        n = len(item) if isinstance(item, pd.DataFrame) else 1
        position = self._position
        self._position = position + n
        counters = self.counters
        counters["emitted"] += 1
        counters["events"] += n
        try:
            self._emit(item)
        except Exception as exc:  # a bad event never stops the source
            self._failed(item, exc, position)

    def _failed(self, item: Any, exc: Exception, position: int) -> None:
        """``item`` (at ``position``) raised ``exc`` downstream: count it, dead-letter it."""
        self.counters["errors"] += 1
        self.counters["dead_letters"] += 1
        self.dead_letters.put(item, f"{type(exc).__name__} downstream: {exc}", position, error=exc)

    def _dead(self, record: Any, reason: str, position: int | None = None) -> None:
        """Dead-letter ``record`` at ``position`` (by default the next one: the count goes on)."""
        if position is None:
            position = self._position
            self._position += 1
        self.counters["dead_letters"] += 1
        self.dead_letters.put(record, reason, position)

    def _finish(self) -> None:
        if not self.finished:
            self.exhausted = self.finished = True
            propagate_watermark(self, math.inf)

    # ------------------------------------------------------------ time checks
    def _check_record(self, rec: Any, position: int | None = None) -> bool:
        """True if ``rec`` has a usable event time; dead-letters it at ``position`` otherwise."""
        time = self.time
        if time is not None and type(rec) is dict:  # the common case: a float or int time
            t = rec.get(time)
            kind = type(t)
            if (kind is float and t == t) or kind is int:  # (not NaN; bool is not int)
                return True
        if not isinstance(rec, dict):
            self._dead(rec, not_a_record(rec), position)
            return False
        if self.time is None:
            return True
        if self.time not in rec:
            self._dead(rec, f"field {self.time!r} missing; fields are {list(rec)}", position)
            return False
        if is_missing(rec[self.time]):
            self._dead(rec, f"missing event time in field {self.time!r}", position)
            return False
        try:
            to_seconds(rec[self.time])
        except ValueError:
            raw = plain(rec[self.time])
            self._dead(rec, f"unreadable event time {raw!r} in field {self.time!r}", position)
            return False
        return True

    def _check_batch(
        self, df: pd.DataFrame, seconds: np.ndarray | None = None, is_datetime: bool = False
    ) -> pd.DataFrame:
        """The rows of ``df`` with a usable event time; dead-letters the others.

        ``df.index`` holds each row's position in the source's input: a dead letter carries
        its row's position, and the rows returned keep theirs. ``seconds`` (with
        ``is_datetime``): the times of a numeric time column, if the caller has them. When
        the times had to be parsed (datetimes, strings), the frame returned carries them as
        a note (:func:`mark_event_seconds`), so windows downstream do not parse them again.
        """
        if self.time is None or not len(df):
            return df
        if self.time not in df.columns:
            reason = f"column {self.time!r} missing; columns are {list(df.columns)}"
            for position, rec in zip(df.index, df.to_dict("records"), strict=True):
                self._dead(rec, reason, int(position))
            return df.iloc[0:0]
        parsed = False
        if seconds is None:
            column = df[self.time]
            seconds, is_datetime = column_to_seconds(column)
            kind = getattr(column.dtype, "kind", "O")
            parsed = kind not in "iuf"  # numbers are read at once again: no note
        bad = np.isnan(seconds)
        if not bad.any():
            return mark_event_seconds(df, self.time, seconds, is_datetime) if parsed else df
        for i in bad.nonzero()[0]:
            raw = plain(df[self.time].iloc[i])
            reason = (
                f"missing event time in column {self.time!r}"
                if pd.isna(raw)
                else f"unreadable event time {raw!r} in column {self.time!r}"
            )
            rec = df.iloc[i : i + 1].to_dict("records")[0]
            self._dead(rec, reason, int(df.index[i]))
        return df[~bad]  # (no note: whether the times are datetimes may differ for the rest)

    def _check_items(self, items: list[Any], start: int) -> pd.DataFrame:
        """Items at positions ``start``, ``start + 1``, ... as one checked frame of records.

        Non-records and ``Unreadable`` items are dead-lettered, in input order with the rest;
        the frame's index holds the rows' positions.
        """
        parts: list[pd.DataFrame] = []
        run: list[dict[str, Any]] = []
        run_start = start

        fast = _uniform_frame(items, start, self.time) if items else None
        if fast is not None:  # uniform records: no loop in Python
            return self._check_batch(*fast)

        def flush() -> None:
            if run:
                df, seconds = records_frame(run, run_start, self.time)
                good = self._check_batch(df, seconds)
                if len(good):
                    parts.append(good)
                run.clear()

        for position, item in enumerate(items, start):
            if isinstance(item, dict):
                if not run:
                    run_start = position
                run.append(item)
                continue
            flush()
            if isinstance(item, Unreadable):
                self._dead(item.record, item.reason, position)
            else:
                self._dead(item, not_a_record(item), position)
        flush()
        if not parts:
            return pd.DataFrame()
        return parts[0] if len(parts) == 1 else pd.concat(parts)

    def __repr__(self) -> str:
        state = (
            "finished"
            if self.finished
            else "paused"
            if self.paused
            else "stopped"
            if self.stopped
            else "running"
        )
        return f"<{type(self).__name__} {state} time={self.time!r} counters={self.counters}>"


def records_frame(
    records: list[dict[str, Any]], start: int = 0, time: str | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """``pd.DataFrame.from_records(records)`` indexed from ``start``, built column by
    column when it can be, and the event times of column ``time`` if they were numbers.

    When every record has the same str keys and each column holds only floats, only ints
    (within int64), only bools or only strs, each column is read in one pass at C speed
    (``from_records`` costs ~0.4 µs a record, several times the whole window); any other
    input goes to ``from_records``. The frame is the same either way.

    >>> df, seconds = records_frame([{"ts": 1.5, "k": "a"}, {"ts": 2.0, "k": "b"}], 10, "ts")
    >>> df.index.tolist(), df.dtypes.astype(str).tolist(), seconds.tolist()
    ([10, 11], ['float64', 'str'], [1.5, 2.0])
    >>> records_frame([{"ts": 1}, {"ts": 2, "v": 3.0}])[0].to_dict("list")  # ragged
    {'ts': [1, 2], 'v': [nan, 3.0]}
    """
    fast = _uniform_frame(records, start, time) if records else None
    if fast is not None:
        return fast
    df = pd.DataFrame.from_records(records)
    df.index = pd.RangeIndex(start, start + len(records))
    return df, None


def _uniform_frame(
    records: list[Any], start: int, time: str | None
) -> tuple[pd.DataFrame, np.ndarray | None] | None:
    """:func:`records_frame` for uniform records, or ``None`` (see :func:`_uniform_columns`)."""
    columns = _uniform_columns(records)
    if columns is None:
        return None
    n = len(records)
    df = fresh_frame(columns, n, pd.RangeIndex(start, start + n))
    raw = columns.get(time) if time is not None else None
    seconds = None
    if isinstance(raw, np.ndarray) and raw.dtype.kind in "if":
        seconds = raw if raw.dtype.kind == "f" else raw.astype(np.float64)
    return df, seconds


def _uniform_columns(records: list[Any]) -> dict[str, Any] | None:
    """The columns of ``records`` as arrays of the dtypes ``from_records`` would infer, or
    ``None`` unless every one is a dict with the first one's keys, all str, and every
    column is of one simple kind (floats, ints within int64, bools or strs, no missing
    values). Values are read as stored (``dict.get``), as ``from_records`` reads them."""
    first = records[0]
    if not isinstance(first, dict):
        return None
    keys = list(first)
    if not all(type(k) is str for k in keys):
        return None
    n = len(records)
    columns: dict[str, Any] = {}
    get = dict.get  # TypeError for anything but a dict; None for a missing key
    try:
        if sum(map(len, records)) != n * len(keys):
            return None  # some record has other keys (or misses some: None below)
        for k in keys:
            values = np.fromiter(map(get, records, repeat(k)), dtype=object, count=n)
            kind = infer_dtype(values, skipna=False)  # "mixed" with a None
            # numpy scalars change the dtype pandas infers (all float32: float32; any
            # unsigned: uint64): a Python float first means float64, and a sum of ints
            # stays a Python int only if no numpy int was added
            if kind == "floating" and type(values[0]) is float:
                columns[k] = values.astype(np.float64)
            elif kind == "integer" and _plain_ints(values):
                columns[k] = values.astype(np.int64)  # OverflowError beyond int64
            elif kind == "boolean":
                columns[k] = values.astype(bool)
            elif kind == "string":
                column = _str_column(pa.array(values, type=pa.large_string()))
                if column is None:
                    return None
                columns[k] = column
            else:
                return None
    except (TypeError, ValueError, OverflowError, pa.ArrowException):
        return None  # (from_records then says what is wrong, if anything)
    return columns


def _str_column(array: pa.Array) -> pd.api.extensions.ExtensionArray | None:
    """``array`` as the str column pandas infers for strs, if that is arrow-backed."""
    str_dtype = _str_dtype()
    if str_dtype is None:
        return None
    return pd.arrays.ArrowStringArray(pa.chunked_array([array]), dtype=str_dtype)


def _plain_ints(values: np.ndarray) -> bool:
    """Whether ``values`` (ints, says ``infer_dtype``) are all Python ints, no numpy ones."""
    with np.errstate(all="ignore"):
        return type(sum(values.tolist())) is int


_STR_DTYPE: list[Any] = []


def _str_dtype() -> pd.StringDtype | None:
    """The dtype pandas infers for str values, if it is arrow-backed (pandas 3's default)."""
    if not _STR_DTYPE:
        dtype = pd.Series(["x"]).dtype
        ok = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
        _STR_DTYPE.append(dtype if ok else None)
    return _STR_DTYPE[0]


def not_a_record(value: Any) -> str:
    """The reason for dead-lettering an item that is not a record."""
    return f"expected a record (dict), got {type(value).__name__}"
