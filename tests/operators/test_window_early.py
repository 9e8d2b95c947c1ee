"""Early panes: processing-time ticks emit partial results of open windows."""

from __future__ import annotations

import pandas as pd
import pytest

import streamnb as sn


def make(records, **kw):
    clock = sn.ManualClock(start=1000.0)
    src = sn.from_records(records, time="ts", clock=clock, batch=kw.pop("batch", None))
    w = src.window("10s", key="k", agg={"v": "sum"}, early="1s", **kw)
    return clock, src, w, w.sink_to_list()


def kinds(out):
    return [tuple(df["pane"]) for df in out]


def test_early_panes_at_most_once_per_interval_for_windows_that_took_events():
    records = [{"ts": t, "k": k, "v": 1} for t, k in [(1, "a"), (2, "b"), (3, "a"), (4, "a")]]
    clock, src, w, out = make(records)
    src.tick()  # nothing yet
    assert out == []
    src.step()
    src.step()
    src.tick()  # the first tick with news emits at once
    assert kinds(out) == [("early", "early")]
    assert out[0][["k", "count", "v_sum"]].values.tolist() == [["a", 1, 1.0], ["b", 1, 1.0]]
    src.step()  # a again
    clock.advance(0.5)
    src.tick()  # within the interval: nothing
    assert len(out) == 1
    clock.advance(0.5)
    src.tick()  # 1 s after the last early panes: only the window that took events
    assert kinds(out) == [("early", "early"), ("early",)]
    assert out[1][["k", "count", "v_sum"]].values.tolist() == [["a", 2, 2.0]]  # accumulating
    clock.advance(5)
    src.tick()  # no events since: nothing
    assert len(out) == 2
    src.run()  # the end of the stream fires the windows on time
    assert kinds(out)[-1] == ("on_time", "on_time")
    assert w.counters["panes"] == 5 and w.counters["windows"] == 2


def test_fired_windows_get_no_early_panes():
    records = [{"ts": 1, "k": "a", "v": 1}, {"ts": 25, "k": "a", "v": 1}]
    _clock, src, _w, out = make(records, batch=None)  # keep _w: streamz holds it weakly
    src.step()
    src.step()  # W = 25 fires [0, 10)
    assert kinds(out) == [("on_time",)]
    src.tick()  # only [20, 30) is open and new
    assert kinds(out)[-1] == ("early",)
    assert out[-1]["window_start"].tolist() == [20.0]


def test_early_panes_of_sliding_windows_and_batches():
    records = [{"ts": t / 2, "k": "a", "v": 1} for t in range(8)]  # 0 .. 3.5
    _clock, src, _w, out = make(records, batch=4, every="5s", watermark="100s")
    src.step()
    src.tick()
    panes = pd.concat(out)
    assert panes["pane"].unique().tolist() == ["early"]
    assert panes["window_start"].tolist() == [-5.0, 0.0]
    assert panes["count"].tolist() == [4, 4]


@pytest.mark.parametrize("early", [0, -1])
def test_bad_early_is_refused(early):
    with pytest.raises(ValueError, match="early pane interval must be positive"):
        sn.from_records([], time="ts").window("1s", early=early)
