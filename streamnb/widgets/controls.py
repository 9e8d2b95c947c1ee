"""``sn.controls(src)``: play, pause, step, speed and live counters for a source.

The counters add up every streamnb node downstream of the source: events in, windows
emitted, late events, dead letters (the source's and every operator's) and errors. In a
Jupyter kernel they refresh on the kernel's event loop a few times a second.

>>> import streamnb as sn
>>> feed = sn.market(seed=0, start="2026-01-02 09:30")
>>> w = feed.window("1s", key="symbol", agg={"price": "mean"})
>>> ui = sn.controls(feed)
>>> ui.step_button.click()                 # one tick of the feed, as one batch
>>> ui.totals()["events"] > 0, feed.counters["emitted"]
(True, 1)
>>> ui.close()
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from streamz import Stream
from tornado.ioloop import PeriodicCallback

from streamnb.sources.base import EventSource, kernel_loop

__all__ = ["Controls", "controls", "downstream_nodes", "graph_totals"]


def downstream_nodes(node: Stream) -> list[Stream]:
    """Every node below ``node`` (breadth first, each once)."""
    seen: dict[int, Stream] = {}
    todo = list(node.downstreams)
    while todo:
        n = todo.pop(0)
        if id(n) in seen:
            continue
        seen[id(n)] = n
        todo.extend(n.downstreams)
    return list(seen.values())


def graph_totals(source: EventSource) -> dict[str, int]:
    """Counters of a source and every streamnb node below it, added up.

    ``events`` in, ``windows`` emitted (on-time panes), ``late`` events, ``dead_letters``
    (source and operators) and ``errors`` (exceptions raised downstream, caught at the source).
    """
    nodes = downstream_nodes(source)
    windows = late = dead = 0
    for n in nodes:
        c = getattr(n, "counters", None) or {}
        windows += c.get("windows", 0)
        late += c.get("late", 0)
        letters = getattr(n, "dead_letters", None)
        dead += getattr(letters, "count", 0)
    return {
        "events": source.counters["events"],
        "windows": windows,
        "late": late,
        "dead_letters": source.dead_letters.count + dead,
        "errors": source.counters["errors"],
    }


class Controls(widgets.VBox):
    """An ipywidgets box driving one source; see :func:`controls`."""

    def __init__(self, source: EventSource, refresh: float = 0.25) -> None:
        self.source = source
        self.play_button = widgets.Button(
            description="play", icon="play", tooltip="stream live", layout={"width": "90px"}
        )
        self.pause_button = widgets.Button(
            description="pause", icon="pause", tooltip="hold the stream", layout={"width": "90px"}
        )
        self.step_button = widgets.Button(
            description="step",
            icon="step-forward",
            tooltip="emit one tick (one batch) and hold",
            layout={"width": "90px"},
        )
        live_speed = source.speed is not None
        self.speed_slider = widgets.FloatLogSlider(
            value=source.speed or 1.0,
            base=10,
            min=-1,
            max=2,
            step=0.05,
            description="speed" if live_speed else "speed (max)",
            disabled=not live_speed,
            readout_format=".2g",
            tooltip="feed time per second of wall time",
        )
        self.status = widgets.HTML()
        self.counters_html = widgets.HTML()
        self.play_button.on_click(lambda _: self.play())
        self.pause_button.on_click(lambda _: self.pause())
        self.step_button.on_click(lambda _: self.step())
        self.speed_slider.observe(self._on_speed, names="value")
        buttons = widgets.HBox([self.play_button, self.pause_button, self.step_button])
        super().__init__(
            [widgets.HBox([buttons, self.speed_slider]), self.status, self.counters_html]
        )
        self._timer: PeriodicCallback | None = None
        if kernel_loop() is not None and refresh > 0:
            self._timer = PeriodicCallback(self.refresh, refresh * 1000)
            self._timer.start()
        self.refresh()

    # ------------------------------------------------------------- actions
    def play(self) -> None:
        """Stream live (start, or resume after pause)."""
        src = self.source
        if src.stopped:
            src.start()
        src.resume()
        self.refresh()

    def pause(self) -> None:
        self.source.pause()
        self.refresh()

    def step(self) -> None:
        """Hold the live stream and emit exactly one item (one batch, or one record)."""
        self.source.pause()
        self.source.step()
        self.refresh()

    def _on_speed(self, change: dict[str, Any]) -> None:
        self.source.speed = float(change["new"])

    # ------------------------------------------------------------ display
    def totals(self) -> dict[str, int]:
        return graph_totals(self.source)

    def refresh(self) -> None:
        """Redraw the status line and counters from the graph's live counters."""
        src = self.source
        state = (
            "finished"
            if src.finished
            else "paused"
            if src.paused
            else "stopped"
            if src.stopped
            else "running"
        )
        self.play_button.disabled = src.finished or (state == "running")
        self.pause_button.disabled = state != "running"
        self.step_button.disabled = src.finished
        self.status.value = f"<b>{type(src).__name__}</b> · {state}"
        t = self.totals()
        cells = "".join(
            f"<td style='padding:0 1em 0 0'><b>{v:,}</b> {k.replace('_', ' ')}</td>"
            for k, v in t.items()
        )
        self.counters_html.value = f"<table class='streamnb-counters'><tr>{cells}</tr></table>"

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        super().close()


def controls(source: EventSource, refresh: float = 0.25) -> Controls:
    """Play / pause / step / speed widgets and live counters for ``source``.

    Parameters
    ----------
    source
        Any streamnb source (``sn.market``, ``sn.from_records``, ``sn.replay``...).
    refresh
        Seconds between counter refreshes when a kernel event loop runs (0: only on clicks).
    """
    if not isinstance(source, EventSource):
        raise TypeError(
            f"controls() drives a streamnb source (sn.market, sn.from_records, sn.replay), "
            f"not {type(source).__name__}"
        )
    return Controls(source, refresh=refresh)
