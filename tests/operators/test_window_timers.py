"""Processing time in windows: processing-time windows and idle timeouts, on a ManualClock."""

from __future__ import annotations

import pandas as pd
import pytest

import streamnb as sn


def test_processing_time_windows_group_by_arrival_and_fire_on_ticks():
    clock = sn.ManualClock(start=100.0)
    # event times are scrambled on purpose: processing-time windows ignore them
    src = sn.from_records(
        [{"ts": t, "v": 1.0} for t in (5.0, 1.0, 9.0, 2.0, 7.0)], time="ts", clock=clock
    )
    w = src.window("1s", time=None, agg={"v": "sum"})
    panes = w.sink_to_list()
    src.step()  # arrives at 100.0
    clock.advance(0.5)
    src.step()  # 100.5
    clock.advance(0.6)
    src.step()  # 101.1: the watermark (processing time) passed 101: window [100, 101) fires
    assert [p["count"].tolist() for p in panes] == [[2]]
    src.step()  # 101.1
    src.tick()  # nothing new: [101, 102) is still open at 101.1
    assert len(panes) == 1
    clock.advance(1.0)
    src.tick()  # 102.1: no event needed, the tick fires [101, 102)
    assert [p["window_start"].tolist() for p in panes] == [[100.0], [101.0]]
    assert panes[1]["count"].tolist() == [2]
    src.run()  # the last record, then the end of the stream fires what is open
    assert sum(int(p["count"].sum()) for p in panes) == 5


def test_idle_timeout_lets_a_quiet_stream_fire_its_last_windows():
    clock = sn.ManualClock(start=0.0)
    src = sn.market(seed=2, start=1_000.0, clock=clock, batch=200)
    w = src.window("1s", key="symbol", agg={"price": "mean"}, watermark="2s", idle="5s")
    panes = w.sink_to_list()
    for _ in range(100):  # 5 s of feed time
        src.step()
    before = pd.concat(panes)["window_end"].max()
    last_event = w._max_event
    clock.advance(4.9)
    src.tick()  # quiet for 4.9 s < idle: the watermark stays
    assert w.state.watermark == pytest.approx(last_event - 2.0)
    clock.advance(0.2)
    src.tick()  # quiet for 5.1 s: W = last event + 5.1 - 2 > last event: all windows fire
    assert w.state.watermark == pytest.approx(last_event + 5.1 - 2.0)
    fired = pd.concat(panes)
    assert fired["window_end"].max() > before
    assert w.open_windows == 0 and w.counters["windows"] == len(fired)


def test_without_idle_a_quiet_stream_waits_for_data():
    clock = sn.ManualClock(start=0.0)
    src = sn.market(seed=2, start=1_000.0, clock=clock, batch=200)
    w = src.window("1s", key="symbol", agg={"price": "mean"}, watermark="2s")
    src.step()
    w_before = w.state.watermark
    clock.advance(3600)
    src.tick()
    assert w.state.watermark == w_before and w.open_windows > 0


def test_bad_idle_is_refused():
    with pytest.raises(ValueError, match="idle timeout must be positive"):
        sn.from_records([], time="ts").window("1s", idle=0)
