"""``stream.count_window(n, ...)``: every ``n`` events of a key form a window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from streamz import Stream

from streamnb.operators._inherit import inherited_time
from streamnb.operators.window import INHERIT, Window
from streamnb.state.aggregates import normalise_agg
from streamnb.state.clock import Clock
from streamnb.state.count import CountWindows

__all__ = ["CountWindow"]


@Stream.register_api(attribute_name="count_window")
class CountWindow(Window):
    """Count windows per key: every ``n`` events of a key, in arrival order, form a window.

    A window emits one ``on_time`` pane when its ``n``-th event arrives; when a finite source
    ends, the partial windows fire too (their ``count`` is below ``n``). Panes have the
    columns of :class:`~streamnb.operators.window.Window` plus ``window``, the per-key index
    of the window; ``window_start``/``window_end`` are the earliest and latest event time of
    its events (NaN without a time column). Nothing is ever late; first/last follow arrival.
    Unusable input goes to ``.dead_letters`` with its reason.

    Parameters
    ----------
    n
        Events per window.
    key
        Column name(s) to count by, or ``None`` for one global count.
    agg
        ``{"price": ["mean", "max"], "volume": "sum"}``; aggregates: count, sum, mean, min,
        max, first, last, std, var.
    time
        Event-time column, only for ``window_start``/``window_end``. By default the time
        column of the source upstream, if any; ``None`` for none.

    Examples
    --------
    >>> import streamnb as sn
    >>> src = sn.from_records([{"ts": t, "k": "ab"[t % 2], "v": t} for t in range(5)], time="ts")
    >>> cw = src.count_window(2, key="k", agg={"v": "sum"})
    >>> out = cw.sink_to_list()
    >>> _ = src.run()
    >>> print(pd.concat(out).to_string(index=False))  # the last one fired at the end
    k  window_start  window_end  window  count  v_sum    pane
    a           0.0         2.0       0      2    2.0 on_time
    b           1.0         3.0       0      2    4.0 on_time
    a           4.0         4.0       1      1    4.0 on_time
    """

    def __init__(
        self,
        upstream: Stream,
        n: int,
        key: str | Sequence[str] | None = None,
        agg: Mapping[str, str | Sequence[str]] | None = None,
        time: str | None = INHERIT,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        state = CountWindows(n, normalise_agg(agg))  # checks n before anything is wired
        kwargs.setdefault("stream_name", f"count_window({n!r})")
        if time == INHERIT:
            time = inherited_time(upstream, default=None)
        super().__init__(upstream, 1.0, key=key, time=time, agg=agg, clock=clock, **kwargs)
        self.n = state.n
        self.state = state

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        # no processing-time fallback: without a time column, windows have NaN bounds
        if isinstance(x, pd.DataFrame):
            return self._update_batch(x, math.nan)
        return self._update_record(x, math.nan)

    def output_schema(self) -> dict[str, str]:
        """Column dtypes of the panes this node emits.

        >>> import streamnb as sn
        >>> schema = sn.from_records([], time="ts").count_window(5, time=None).output_schema()
        >>> list(schema)
        ['window_start', 'window_end', 'window', 'count', 'pane']
        >>> schema["window_start"], schema["window"]
        ('float64', 'int64')
        """
        schema: dict[str, str] = {}
        for name, dtype in super().output_schema().items():
            schema[name] = "float64" if self.time is None and name.startswith("window") else dtype
            if name == "window_end":
                schema["window"] = "int64"
        return schema

    def __repr__(self) -> str:
        return f"<count_window n={self.n} key={self.key_columns} counters={self.counters}>"
