"""The event-time plane: every event at (processing time, event time), the watermark, the
windows — a picture of what a window operator is doing, for teaching.

``w.plot.timeline()`` on a window node draws, live:

* each event as a point at (when it arrived, its event time), coloured **on time**, **late**
  (accepted into a window that had already fired: a late pane) or **dropped** (too late even
  for the allowed lateness: it went to ``w.late``);
* the watermark as a line: the event time up to which the operator believes it has seen
  everything, as processing time passes;
* each window ``[start, end)`` as a band from the moment it opened to the moment it fired,
  light while open, grey once fired.

Events that arrive in order sit on a diagonal; delayed ones fall below it. A window fires when
the watermark line crosses its top edge. ``w.plot.timeline_explorer()`` replays what was
recorded with another watermark delay (a slider), to see how the delay trades latency for
completeness. Times are seconds since the first arrival (x) and since the first event (y).

>>> import streamnb as sn
>>> clock = sn.ManualClock(start=0)
>>> src = sn.from_records([{"ts": t, "v": 1} for t in (0.2, 1.1, 0.5, 2.4, 0.1)],
...                       time="ts", clock=clock)
>>> w = src.window("1s", agg={"v": "sum"}, lateness="1s")
>>> view = w.plot.timeline().streamnb
>>> for _ in range(5):
...     _ = src.step(); _ = clock.advance(1)
>>> view.events()["status"].tolist()
['on_time', 'on_time', 'late', 'on_time', 'dropped']
>>> classify(np.array([0.2, 1.1, 0.5, 2.4, 0.1]), size=1, delay=1.5, lateness=1).tolist()
['on_time', 'on_time', 'on_time', 'on_time', 'on_time']
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd

from streamnb.plots.governor import RenderGovernor

__all__ = ["TimelineRecorder", "classify", "timeline", "timeline_explorer"]

COLORS = {"on_time": "#1f77b4", "late": "#ff7f0e", "dropped": "#d62728"}
BANDS = {"open": "#cfe3f7", "fired": "#d0d0d0"}


def classify(
    times: np.ndarray, size: float, delay: float, lateness: float, w0: float = -math.inf
) -> np.ndarray:
    """Status of each event (arrival order) under tumbling windows, by the time contract.

    ``dropped`` if its window's end + lateness <= the watermark before it, ``late`` if its
    window's end <= that watermark (accepted into a fired window), ``on_time`` otherwise.
    """
    times = np.asarray(times, dtype=float)
    if not len(times):
        return np.zeros(0, dtype=object)
    w_after = np.maximum(np.maximum.accumulate(times) - delay, w0)
    w_before = np.concatenate([[w0], w_after[:-1]])
    end = (np.floor(times / size) + 1) * size
    status = np.full(len(times), "on_time", dtype=object)
    status[end <= w_before] = "late"
    status[end + lateness <= w_before] = "dropped"
    return status


class TimelineRecorder:
    """Observes a window node: arrivals, event times, statuses, watermark, window bands."""

    def __init__(self, window: Any, length: int = 5000, max_fps: float = 10.0) -> None:
        self.window = window
        self.size = window.size
        self.delay = window.state.delay
        self.lateness = window.state.lateness
        self.length = length
        self._arrival: deque[float] = deque(maxlen=length)
        self._time: deque[float] = deque(maxlen=length)
        self._status: deque[str] = deque(maxlen=length)
        self._wm: deque[tuple[float, float]] = deque(maxlen=length)
        self._bands: dict[float, list[float]] = {}  # start -> [opened, fired or nan]
        self.origin: tuple[float, float] | None = None  # (first arrival, first event time)
        self.pipe = hv.streams.Pipe(data={})
        self.governor = RenderGovernor(self._render, max_fps=max_fps)
        window.add_observer(self.observe)

    # ------------------------------------------------------------ recording
    def observe(self, arrival: float, times: np.ndarray, w_before: float, w_after: float) -> None:
        """Called by the window for every input with the usable events' times (seconds)."""
        if not len(times):
            return
        if self.origin is None:
            self.origin = (arrival, float(times[0]))
        status = classify(times, self.size, self.delay, self.lateness, w_before)
        self._arrival.extend([arrival] * len(times))
        self._time.extend(times.tolist())
        self._status.extend(status.tolist())
        if math.isfinite(w_after):
            self._wm.append((arrival, w_after))
        starts = np.floor(times[status != "dropped"] / self.size) * self.size
        for start in np.unique(starts).tolist():
            self._bands.setdefault(start, [arrival, math.nan])
        for start, band in self._bands.items():
            if math.isnan(band[1]) and start + self.size <= w_after:
                band[1] = arrival
        if len(self._bands) > self.length:  # keep the most recent windows
            for start in sorted(self._bands)[: len(self._bands) - self.length]:
                del self._bands[start]
        self.governor.request()

    # -------------------------------------------------------------- frames
    def events(self) -> pd.DataFrame:
        """Recorded events: ``arrival``, ``event_time`` (absolute seconds) and ``status``."""
        return pd.DataFrame(
            {
                "arrival": np.fromiter(self._arrival, float),
                "event_time": np.fromiter(self._time, float),
                "status": list(self._status),
            }
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        ox, oy = self.origin or (0.0, 0.0)
        ev = self.events()
        points = pd.DataFrame(
            {
                "processing_time": ev["arrival"] - ox,
                "event_time": ev["event_time"] - oy,
                "status": ev["status"],
            }
        )
        wm = pd.DataFrame(list(self._wm), columns=["processing_time", "watermark"])
        wm["processing_time"] -= ox
        wm["watermark"] -= oy
        now = max(self._arrival) if self._arrival else ox
        rows = []
        for start, (opened, fired) in self._bands.items():
            closed = not math.isnan(fired)
            x1 = (fired if closed else now) - ox
            rows.append(
                (opened - ox, start - oy, x1, start + self.size - oy, "fired" if closed else "open")
            )
        bands = pd.DataFrame(rows, columns=["x0", "y0", "x1", "y1", "state"])
        return {"points": points, "watermark": wm, "bands": bands}

    def _render(self) -> None:
        self.pipe.send(self.frames())

    def flush(self) -> None:
        self.governor.flush()


def _draw(frames: dict[str, pd.DataFrame], title: str, width: int, height: int) -> hv.Overlay:
    if not frames:
        frames = {
            "points": pd.DataFrame({"processing_time": [], "event_time": [], "status": []}).astype(
                {"processing_time": float, "event_time": float}
            ),
            "watermark": pd.DataFrame({"processing_time": [], "watermark": []}, dtype=float),
            "bands": pd.DataFrame({"x0": [], "y0": [], "x1": [], "y1": [], "state": []}).astype(
                {c: float for c in ("x0", "y0", "x1", "y1")}
            ),
        }
    bands = hv.Rectangles(frames["bands"], kdims=["x0", "y0", "x1", "y1"], vdims=["state"]).opts(
        color=hv.dim("state").categorize(BANDS, default="#eeeeee"),
        line_color="#999999",
        alpha=0.5,
    )
    wm = hv.Curve(frames["watermark"], "processing_time", "watermark", label="watermark").opts(
        color="black", line_width=2
    )
    pts = hv.Scatter(frames["points"], "processing_time", ["event_time", "status"]).opts(
        color=hv.dim("status").categorize(COLORS, default="grey"), size=5, tools=["hover"]
    )
    return (bands * wm * pts).opts(
        hv.opts.Overlay(
            title=title,
            width=width,
            height=height,
            xlabel="processing time (s since first arrival)",
            ylabel="event time (s since first event)",
        )
    )


def timeline(window: Any, length: int = 5000, max_fps: float = 10.0, **opts: Any) -> hv.DynamicMap:
    """The live event-time plane of a window node (see the module docstring)."""
    if not hasattr(window, "add_observer"):
        raise TypeError("plot.timeline() draws a window node: call it on stream.window(...)")
    rec = TimelineRecorder(window, length=length, max_fps=max_fps)
    window._timeline = rec
    title = opts.pop("title", f"event time vs processing time · {window.name}")
    width, height = opts.pop("width", 700), opts.pop("height", 350)
    dmap = hv.DynamicMap(lambda data: _draw(data, title, width, height), streams=[rec.pipe])
    dmap.streamnb = rec
    return dmap


def timeline_explorer(
    window: Any, delays: tuple[float, float] = (0.0, 5.0), step: float = 0.25
) -> hv.DynamicMap:
    """Replay what a window recorded under another watermark delay (a slider).

    Returns a DynamicMap with a ``delay`` dimension: HoloViews shows it with a slider. For each
    delay it recomputes, from the recorded arrivals, which events would be on time, late or
    dropped, and where the watermark would have been.
    """
    rec = getattr(window, "_timeline", None)
    if rec is None:
        raise ValueError("record the stream first: call w.plot.timeline() before running it")

    def frame(delay: float) -> hv.Overlay:
        ev = rec.events()
        ox, oy = rec.origin or (0.0, 0.0)
        status = classify(ev["event_time"].to_numpy(), rec.size, delay, rec.lateness)
        counts = pd.Series(status).value_counts().reindex(list(COLORS), fill_value=0)
        points = pd.DataFrame(
            {
                "processing_time": ev["arrival"] - ox,
                "event_time": ev["event_time"] - oy,
                "status": status,
            }
        )
        wm = pd.DataFrame(
            {
                "processing_time": ev["arrival"] - ox,
                "watermark": np.maximum.accumulate(ev["event_time"].to_numpy()) - delay - oy,
            }
        )
        label = " · ".join(f"{k}: {v}" for k, v in counts.items())
        empty_bands = pd.DataFrame({"x0": [], "y0": [], "x1": [], "y1": [], "state": []})
        return _draw(
            {"points": points, "watermark": wm, "bands": empty_bands},
            f"watermark delay {delay:g} s — {label}",
            700,
            350,
        )

    dim = hv.Dimension("delay", range=delays, step=step, default=rec.delay, unit="s")
    return hv.DynamicMap(frame, kdims=[dim])
