"""``stream.session(gap, ...)``: keyed event-time session windows as a streamz node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamz import Stream

from streamnb.operators._inherit import inherited_time
from streamnb.operators.window import INHERIT, Window
from streamnb.state.aggregates import normalise_agg
from streamnb.state.clock import Clock
from streamnb.state.sessions import SessionWindows
from streamnb.state.timeparse import parse_duration

__all__ = ["Session"]


@Stream.register_api(attribute_name="session")
class Session(Window):
    """Session windows per key: a key's events closer than ``gap`` share a session.

    A session spans ``[first event, last event + gap)`` and closes when the watermark passes
    its end; an out-of-order event can bridge two sessions into one. Emits one
    ``pandas.DataFrame`` per input that fired sessions, with the columns of
    :class:`~streamnb.operators.window.Window`: the key column(s), ``window_start``,
    ``window_end``, ``count``, ``{column}_{agg}`` and ``pane``. An event is too late (it goes
    to ``.late``) when ``time + gap + lateness <= watermark``; a session that fired and then
    takes an event re-emits a ``late`` pane holding all its events. The exact rules are in
    :mod:`streamnb.state.sessions`. Unusable input goes to ``.dead_letters`` with its reason.

    Parameters
    ----------
    gap
        Inactivity gap: seconds or a string such as ``"30s"``, ``"30min"``.
    key
        Column name(s) to sessionise by, or ``None`` for one stream of sessions.
    time
        Event-time column. By default the time column of the source upstream;
        ``None`` uses processing time (arrival, read from ``clock``).
    agg
        ``{"price": ["mean", "max"], "volume": "sum"}``; aggregates: count, sum, mean, min,
        max, first, last, std, var.
    watermark
        Bounded out-of-orderness: the watermark trails the largest event time by this much.
    lateness
        Allowed lateness after the watermark passes a session's end.

    Examples
    --------
    >>> import pandas as pd
    >>> import streamnb as sn
    >>> src = sn.from_records([
    ...     {"ts": 0, "user": "a", "clicks": 1}, {"ts": 8, "user": "a", "clicks": 2},
    ...     {"ts": 2, "user": "b", "clicks": 7}, {"ts": 4, "user": "a", "clicks": 3},
    ...     {"ts": 30, "user": "b", "clicks": 1}, {"ts": 1, "user": "a", "clicks": 5},
    ... ], time="ts")
    >>> s = src.session(5, key="user", agg={"clicks": "sum"}, watermark=10)
    >>> out, late = s.sink_to_list(), s.late.sink_to_list()
    >>> _ = src.run()
    >>> print(pd.concat(out).to_string(index=False))  # ts=4 bridged [0, 5) and [8, 13)
    user  window_start  window_end  count  clicks_sum    pane
       a           0.0        13.0      3         6.0 on_time
       b           2.0         7.0      1         7.0 on_time
       b          30.0        35.0      1         1.0 on_time
    >>> late  # 1 + 5 <= 30 - 10: too late
    [{'ts': 1, 'user': 'a', 'clicks': 5}]
    """

    def __init__(
        self,
        upstream: Stream,
        gap: float | str,
        key: str | Sequence[str] | None = None,
        time: str | None = INHERIT,
        agg: Mapping[str, str | Sequence[str]] | None = None,
        watermark: float | str = 0.0,
        lateness: float | str = 0.0,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        state = SessionWindows(  # checks the settings before anything is wired
            parse_duration(gap),
            normalise_agg(agg),
            watermark=parse_duration(watermark),
            lateness=parse_duration(lateness),
        )
        kwargs.setdefault("stream_name", f"session({gap!r})")
        if time == INHERIT:
            time = inherited_time(upstream, default=INHERIT)
            if time == INHERIT:
                raise ValueError(
                    "session() needs time='<column>' (or time=None for processing time): "
                    "no source upstream names its time column"
                )
        super().__init__(
            upstream,
            gap,
            key=key,
            time=time,
            agg=agg,
            watermark=watermark,
            lateness=lateness,
            clock=clock,
            **kwargs,
        )
        self.gap = state.gap
        self.state = state

    def __repr__(self) -> str:
        return (
            f"<session gap={self.gap}s key={self.key_columns} "
            f"watermark={self.watermark} counters={self.counters}>"
        )
