"""``sn.inject(src)``: send a hand-made event into a running graph, to see where it lands.

A learner picks a key, a value and an event-time offset relative to the newest event the
graph has seen (negative: an event from the past, i.e. late) and clicks **send**: the event
goes through the source's own emit path, so it is windowed, plotted, dead-lettered or sent to
``.late`` exactly like a real one. The log line says what the windows did with it.

>>> import streamnb as sn
>>> feed = sn.market(seed=0, start=1_000.0, batch=500)
>>> w = feed.window("1s", key="symbol", agg={"price": "mean"}, watermark="1s")
>>> for _ in range(40):
...     _ = feed.step()
>>> box = sn.inject(feed)
>>> box.offset.value = -5.0          # five seconds in the past: beyond the watermark
>>> box.send()["symbol"]
'ACME'
>>> w.counters["dropped"]
1
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import pandas as pd

from streamnb.sources.base import EventSource
from streamnb.widgets.controls import downstream_nodes

__all__ = ["Inject", "inject"]


def _latest_event_time(source: EventSource) -> float:
    """Newest event time (seconds) any window below ``source`` has seen; else the clock."""
    seen = [getattr(n, "_max_event", -math.inf) for n in downstream_nodes(source)]
    newest = max(seen, default=-math.inf)
    return newest if math.isfinite(newest) else source.clock.now()


class Inject(widgets.VBox):
    """Widgets to emit one hand-made event; see :func:`inject`."""

    def __init__(
        self,
        source: EventSource,
        key: str | None = None,
        value: str | None = None,
        keys: list[Any] | None = None,
    ) -> None:
        self.source = source
        symbols = list(getattr(source, "symbols", ()) or [])
        self.key_column = key or ("symbol" if symbols else "key")
        self.value_column = value or ("price" if symbols else "value")
        options = keys or symbols
        self.key_box: widgets.Widget = (
            widgets.Dropdown(options=options, value=options[0], description=self.key_column)
            if options
            else widgets.Text(value="a", description=self.key_column)
        )
        self.value_box = widgets.FloatText(value=100.0, description=self.value_column)
        self.offset = widgets.FloatSlider(
            value=-3.0,
            min=-30.0,
            max=5.0,
            step=0.5,
            description="event time",
            readout_format="+.1f",
            tooltip="seconds relative to the newest event seen (negative: in the past)",
        )
        self.send_button = widgets.Button(description="send event", icon="paper-plane")
        self.message = widgets.HTML()
        self.send_button.on_click(lambda _: self.send())
        super().__init__(
            [
                widgets.HBox([self.key_box, self.value_box]),
                widgets.HBox([self.offset, widgets.Label("s"), self.send_button]),
                self.message,
            ]
        )

    def record(self) -> dict[str, Any]:
        """The event the widgets describe now."""
        t = _latest_event_time(self.source) + float(self.offset.value)
        when: Any = t
        if self.source.time_is_datetime():
            when = pd.Timestamp(round(t * 1e6), unit="us")
        rec = {self.source.time or "ts": when, self.key_column: self.key_box.value}
        rec[self.value_column] = float(self.value_box.value)
        if self.key_column == "symbol" and self.value_column == "price":
            rec["volume"] = 1  # a market tick has a volume too
        return rec

    def send(self) -> dict[str, Any]:
        """Emit the event through the source (as live events are) and log what happened."""
        before = self._late_counts()
        rec = self.record()
        self.source._send(rec)
        after = self._late_counts()
        fate = (
            "dropped: too late even for the allowed lateness (see .late)"
            if after[0] > before[0]
            else "accepted late: its window had fired and re-emits a late pane"
            if after[1] > before[1]
            else "accepted on time"
        )
        self.message.value = f"sent <code>{rec}</code> → <b>{fate}</b>"
        return rec

    def _late_counts(self) -> tuple[int, int]:
        dropped = accepted = 0
        for n in downstream_nodes(self.source):
            c = getattr(n, "counters", None) or {}
            dropped += c.get("dropped", 0)
            accepted += c.get("late_accepted", 0)
        return dropped, accepted


def inject(
    source: EventSource,
    key: str | None = None,
    value: str | None = None,
    keys: list[Any] | None = None,
) -> Inject:
    """A widget that emits a hand-made event (key, value, event-time offset) into ``source``.

    Parameters
    ----------
    source
        The source to emit through (``sn.market`` picks ``symbol``/``price`` by default).
    key, value
        Column names of the key and the value; ``keys`` the choices for the key.
    """
    if not isinstance(source, EventSource):
        raise TypeError(f"inject() emits through a streamnb source, not {type(source).__name__}")
    return Inject(source, key=key, value=value, keys=keys)
