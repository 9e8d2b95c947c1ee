"""Live plots render in bokeh and their data sources follow the stream (no browser)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from bokeh.models import ColumnDataSource, DatetimeAxis

import streamnb as sn

hv.extension("bokeh")


def _sources(dmap):
    plot = hv.renderer("bokeh").get_plot(dmap)
    return plot, lambda: [c for c in plot.state.select({"type": ColumnDataSource})]


def _market_window(**kw):
    feed = sn.market(seed=42, n=4000, start="2026-01-02 09:30", batch=400, **kw)
    w = feed.window("1s", key="symbol", agg={"price": ["mean", "max"]}, watermark="2s")
    return feed, w


def test_line_by_symbol_renders_one_line_per_symbol_with_a_datetime_axis():
    feed, w = _market_window()
    dmap = w.plot.line(x="window_end", y="price_mean", by="symbol", length=100)
    plot, cds = _sources(dmap)
    assert isinstance(plot.state.xaxis[0], DatetimeAxis)  # typed before any data arrived
    feed.run()
    lengths = sorted(len(c.data["window_end"]) for c in cds())
    assert sum(lengths) == 100  # bounded by length
    assert len([n for n in lengths if n]) == len(feed.symbols)
    frame = dmap.streamnb.frame()
    assert frame.duplicated(["symbol", "window_start"]).sum() == 0


def test_plot_follows_the_stream_step_by_step():
    feed = sn.market(seed=1, start="2026-01-02 09:30")  # endless, stepped by hand
    w = feed.window("1s", key="symbol", agg={"price": "mean"})
    dmap = w.plot.line(x="window_end", y="price_mean", by="symbol", max_fps=1e9)
    _, cds = _sources(dmap)
    seen = []
    for _ in range(200):  # 10 s of feed time
        feed.step()
        seen.append(sum(len(c.data["window_end"]) for c in cds()))
    assert seen[-1] > seen[0]
    assert seen == sorted(seen)  # grows as windows fire
    assert seen[-1] == w.counters["windows"]


def test_table_shows_the_latest_rows_and_chosen_columns():
    feed, w = _market_window()
    tab = w.plot.table(columns=["symbol", "window_start", "count", "pane"], length=7)
    _, cds = _sources(tab)
    feed.run()
    (source,) = cds()
    assert list(source.data) == ["symbol", "window_start", "count", "pane"]
    assert len(source.data["count"]) == 7


def test_records_stream_plots_too_and_unknown_columns_are_named():
    src = sn.from_records([{"t": float(i), "v": i * 2.0} for i in range(50)], time="t")
    dmap = src.plot.scatter(x="t", y="v", max_fps=1e9)
    _, cds = _sources(dmap)
    src.run()
    assert np.array_equal(cds()[0].data["v"], np.arange(50) * 2.0)
    # a plot of a column the stream does not have: every item is dead-lettered at the source
    # with the reason, and the source goes on
    src2 = sn.from_records([{"t": 1.0, "v": 1.0}, {"t": 2.0, "v": 2.0}], time="t")
    bad = src2.plot.line(x="t", y="nope")
    hv.renderer("bokeh").get_plot(bad)
    src2.run()
    assert src2.dead_letters.count == 2 and src2.counters["events"] == 2
    reason = src2.dead_letters.recent[0]["reason"]
    assert "plot.line: column(s) ['nope'] not in the stream's data" in reason


def test_governor_bounds_renders_while_data_keeps_coming():
    clock = sn.ManualClock(start=0)
    src = sn.from_records(pd.DataFrame({"t": np.arange(1000.0), "v": 1.0}), time="t", batch=10)
    dmap = src.plot.line(x="t", y="v", clock=clock, max_fps=20)
    hv.renderer("bokeh").get_plot(dmap)
    src.run()  # 100 batches in the same (manual) instant
    view = dmap.streamnb
    assert view.counters["in"] == 1000
    assert view.counters["renders"] == 2  # the first batch, and the flush at the end
    assert len(view.frame()) == 1000


def test_plot_kind_and_arguments_are_checked():
    src = sn.from_records([], time="t")
    with pytest.raises(ValueError, match="unknown plot kind 'pie'"):
        src.plot(kind="pie", x="a", y="b")
    with pytest.raises(ValueError, match="needs x= and y="):
        src.plot.line(x="a")
