"""The event-time plane: statuses by the time contract, watermark, window bands, explorer."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import ColumnDataSource

import streamnb as sn
from streamnb.plots.timeline import classify

hv.extension("bokeh")


def _stepped(delay="1s", lateness="0s", n=400):
    clock = sn.ManualClock(start=0.0)
    feed = sn.market(seed=9, start=0.0, clock=clock, disorder=0.2, max_delay="3s", batch=None)
    w = feed.window("1s", key="symbol", agg={"price": "mean"}, watermark=delay, lateness=lateness)
    dmap = w.plot.timeline(max_fps=1e9)
    for _ in range(n):
        feed.step()
        clock.advance(0.01)
    return feed, w, dmap


def test_statuses_follow_the_windows_own_counters():
    _feed, w, dmap = _stepped(delay="0.5s", lateness="0.5s", n=1500)
    ev = dmap.streamnb.events()
    counts = ev["status"].value_counts()
    assert len(ev) == w.counters["in"] == 1500
    assert counts.get("dropped", 0) == w.counters["dropped"] > 0
    assert counts.get("late", 0) == w.counters["late_accepted"] > 0
    assert counts.get("on_time", 0) == w.counters["on_time"]


def test_the_plane_renders_points_watermark_and_window_bands():
    _feed, _w, dmap = _stepped()
    plot = hv.renderer("bokeh").get_plot(dmap)
    dmap.streamnb.flush()
    sources = plot.state.select({"type": ColumnDataSource})
    by_columns = {tuple(sorted(c.data)): c for c in sources}
    points = next(c for cols, c in by_columns.items() if "status" in cols)
    bands = next(c for cols, c in by_columns.items() if "left" in cols)
    wm = next(c for cols, c in by_columns.items() if "watermark" in cols)
    assert len(points.data["status"]) == 400
    from streamnb.plots.timeline import BANDS

    assert set(bands.data["color"]) == {BANDS["open"], BANDS["fired"]}
    marks = np.asarray(wm.data["watermark"])
    assert len(marks) > 10 and np.all(np.diff(marks) >= 0)  # the watermark never goes back


def test_explorer_trades_latency_for_completeness():
    _feed, w, _dmap = _stepped(delay="0s")
    explorer = w.plot.timeline_explorer(delays=(0.0, 4.0), step=0.5)
    dropped = []
    for delay in (0.0, 1.0, 2.0, 3.5):
        frame = explorer[delay]
        scatter = frame.get(2)
        dropped.append(int((scatter.data["status"] == "dropped").sum()))
        assert f"watermark delay {delay:g} s" in frame.opts.get().kwargs["title"]
    assert dropped[0] == w.counters["dropped"]  # the recorded run, replayed as it was
    assert dropped == sorted(dropped, reverse=True) and dropped[-1] == 0


def test_classify_matches_the_tumbling_engine():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0, 50, 500)) + rng.exponential(0.3, 500) * (rng.random(500) < 0.3)
    times = times[rng.permutation(500)][:300]
    src = sn.from_records([{"ts": t} for t in times], time="ts")
    w = src.window("2s", watermark="0.5s", lateness="1s")
    src.run()
    status = classify(times, size=2.0, delay=0.5, lateness=1.0)
    assert (status == "dropped").sum() == w.counters["dropped"]
    assert (status == "late").sum() == w.counters["late_accepted"]


def test_timeline_needs_a_window():
    src = sn.from_records([{"ts": 1}], time="ts")
    with pytest.raises(TypeError, match="draws a window node"):
        src.plot.timeline()
    w = src.window("1s")
    with pytest.raises(ValueError, match="record the stream first"):
        w.plot.timeline_explorer()
