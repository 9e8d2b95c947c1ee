"""sn.interact: a slider re-windows a live feed; every event is processed exactly once."""

from __future__ import annotations

import holoviews as hv
import pytest
from bokeh.models import ColumnDataSource

import streamnb as sn

hv.extension("bokeh")


def test_many_slider_changes_keep_exactly_once_processing():
    feed = sn.market(seed=3, start=0.0, batch=200)
    received: list[int] = []  # rows each branch saw, in order of branches
    windows: list[sn.Window] = []

    def build(src, size):
        received.append(0)
        idx = len(received) - 1
        w = src.window(f"{size}s", key="symbol", agg={"price": "mean"})
        windows.append(w)

        def count(df, idx=idx):
            received[idx] += len(df)
            return df

        src_tap = src.map(count)
        w.late.sink(lambda _: None)
        return src_tap

    ui = sn.interact(feed, build, size=(1, 10))
    emitted = 0
    for step in range(40):
        feed.step()
        if step % 2:
            ui.controls["size"].value = 1 + (step % 9)
    emitted = feed.counters["events"]
    assert ui.rebuilds >= 15
    assert sum(received) == emitted  # each event reached exactly one branch
    assert len(feed.downstreams) == 2  # the live branch only: its window and its tap
    for old in windows[:-1]:  # torn-down windows saw nothing after their teardown
        assert not old.upstreams


def test_the_plot_switches_to_the_new_branch_in_place():
    feed = sn.market(seed=1, start=0.0, batch=200)

    def build(src, size):
        return src.window(size, key="symbol", agg={"price": "mean"})

    ui = sn.interact(
        feed,
        build,
        size=["1s", "4s"],
        plot=dict(kind="line", x="window_end", y="price_mean", by="symbol", max_fps=1e9),
    )
    plot = hv.renderer("bokeh").get_plot(ui.plot)

    def widths():
        frame = ui.plot.streamnb.frame()
        return set((frame["window_end"] - frame["window_start"]).dt.total_seconds())

    for _ in range(200):
        feed.step()
    assert widths() == {1.0}
    ui.controls["size"].value = "4s"
    for _ in range(200):
        feed.step()
    assert widths() == {4.0}  # only the new branch's windows are shown
    rows = sum(len(c.data["window_end"]) for c in plot.state.select({"type": ColumnDataSource}))
    assert rows == len(ui.plot.streamnb.frame())


def test_build_must_return_a_stream():
    feed = sn.market(seed=1, start=0.0)
    with pytest.raises(TypeError, match="must return the last node"):
        sn.interact(feed, lambda src, k: None, k=(1, 3))
    assert not feed.downstreams  # nothing half-built stays attached
    with pytest.raises(ValueError, match="cannot make a control"):
        sn.interact(feed, lambda src, k: src, k=object())
