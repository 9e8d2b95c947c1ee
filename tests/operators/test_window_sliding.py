"""``window(size, every=...)`` as a node: records and batches agree, for any batch sizes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import fixed_oracle, last_panes

import streamnb as sn

records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "ts": st.integers(0, 80).map(lambda x: x / 4),
            "k": st.sampled_from(["a", "b", "c"]),
            "v": st.integers(-5, 5),
        }
    ),
    min_size=1,
    max_size=50,
)


def run(records, batch, **kw):
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window(key="k", agg={"v": ["sum", "max", "mean"]}, **kw)
    out, late = w.sink_to_list(), w.late.sink_to_list()
    src.run()
    panes = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    late_ts = [t for item in late for t in (item["ts"].tolist() if batch else [item["ts"]])]
    return panes, late_ts, w


def last(panes):
    if not len(panes):
        return {}
    rows = panes.drop_duplicates(["k", "window_start"], keep="last")
    return {
        (r.k, r.window_start): (r.window_end, r.count, r.v_sum, r.v_max, r.pane)
        for r in rows.itertuples()
    }


@settings(max_examples=120, deadline=None)
@given(
    records=records_strategy,
    shape=st.sampled_from([(1.0, 0.25), (2.0, 0.75), (1.0, 1.0), (0.5, 1.5)]),
    delay=st.sampled_from([0.0, 1.0]),
    lateness=st.sampled_from([0.0, 2.0]),
    batch=st.integers(1, 20),
)
def test_records_and_batches_agree_with_the_oracle(records, shape, delay, lateness, batch):
    size, every = shape
    kw = {"size": size, "every": every, "watermark": delay, "lateness": lateness}
    rec_panes, rec_late, w_rec = run(records, None, **kw)
    bat_panes, bat_late, w_bat = run(records, batch, **kw)
    assert rec_late == bat_late
    assert last(rec_panes) == last(bat_panes)
    events = [(r["ts"], r["k"], float(r["v"])) for r in records]
    want_late, want_filtered, want_panes = fixed_oracle(events, size, every, delay, lateness)
    assert rec_late == [records[i]["ts"] for i in want_late]
    want = last_panes(want_panes)
    got = last(rec_panes)
    assert got.keys() == want.keys()
    for key, p in want.items():
        assert got[key][1:2] + got[key][4:] == (p["count"], p["pane"])
        assert got[key][2] == p["v_sum"]
    for w in (w_rec, w_bat):
        c = w.counters
        assert c["filtered"] == len(want_filtered)
        assert c["dropped"] == len(want_late)
        assert c["in"] == c["on_time"] + c["late_accepted"] + c["dropped"] + c["filtered"]
        assert w.open_windows == 0


def test_sliding_windows_by_key_with_a_quarter_step():
    src = sn.from_records(
        [{"ts": t / 10, "k": "ab"[t % 2], "v": 1} for t in range(20)], time="ts", batch=7
    )
    w = src.window("1s", every="250ms", key="k", agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    panes = pd.concat(out, ignore_index=True)
    full = panes[(panes["window_start"] >= 0) & (panes["window_end"] <= 2)]
    assert full["count"].tolist() == [5] * 10  # 5 per key in every full 1 s window
    assert sorted(set(panes["window_start"])) == [k / 4 for k in range(-3, 8)]
    assert w.counters["on_time"] == 20 and w.counters["windows"] == len(panes)


def test_gaps_count_as_filtered_and_conserve_events():
    records = [{"ts": t / 2, "v": 1.0} for t in range(12)]  # 0, 0.5, ..., 5.5
    src = sn.from_records(records, time="ts")
    w = src.window("1s", every="2s", agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    panes = pd.concat(out, ignore_index=True)
    assert panes["window_start"].tolist() == [0.0, 2.0, 4.0]
    assert panes["count"].tolist() == [2, 2, 2]
    c = w.counters
    assert c["filtered"] == 6 and c["in"] == panes["count"].sum() + c["filtered"]


@pytest.mark.parametrize("every", [0, -1, "0s"])
def test_bad_every_is_refused(every):
    with pytest.raises(ValueError, match="'every' must be positive"):
        sn.from_records([], time="ts").window("1s", every=every)


def test_every_equal_to_size_is_tumbling():
    w = sn.from_records([], time="ts").window("1s", every=1)
    assert type(w.state).__name__ == "TumblingWindows" and math.isclose(w.every, 1.0)


@pytest.mark.parametrize("batch", [None, 3])
def test_sliding_windows_over_datetimes_come_back_as_datetimes(batch):
    base = pd.Timestamp("2026-11-25 09:00:00")
    records = [
        {"ts": (base + pd.Timedelta(seconds=s)).isoformat(), "k": k, "v": 1}
        for s, k in [(0.1, "x"), (0.6, "y"), (1.2, "x"), (2.7, "x")]
    ]
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window("1s", every="500ms", key=["k"], agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    panes = pd.concat(out, ignore_index=True)
    assert str(panes["window_start"].dtype) == "datetime64[ns]"
    x = panes[panes["k"] == "x"]
    starts = (x["window_start"] - base).dt.total_seconds().tolist()
    assert starts == [-0.5, 0.0, 0.5, 1.0, 2.0, 2.5]
    assert x["count"].tolist() == [1, 1, 1, 1, 1, 1]
    assert w.watermark == np.inf  # the end of the stream


def test_processing_time_sliding_windows_and_early_panes():
    clock = sn.ManualClock(start=100.0)
    src = sn.from_records([{"v": 1.0}] * 4, clock=clock)
    w = src.window("2s", every="1s", time=None, agg={"v": "sum"}, early="1s")
    out = w.sink_to_list()
    src.step()  # arrives at 100: windows [99, 101) and [100, 102)
    src.tick()
    assert [df["pane"].tolist() for df in out] == [["early", "early"]]
    clock.advance(1.0)
    src.step()  # 101: fires [99, 101); adds to [100, 102) and [101, 103)
    assert out[-1]["pane"].tolist() == ["on_time"] and out[-1]["count"].tolist() == [1]
    src.tick()  # 1 s since the early panes: the two open windows that took the event
    assert out[-1]["pane"].tolist() == ["early", "early"]
    assert out[-1]["count"].tolist() == [2, 1]
