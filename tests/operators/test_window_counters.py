"""Counters and attributes of the window node; conservation of events for tumbling windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamnb as sn

COUNTERS = (
    "in",
    "on_time",
    "late",
    "late_accepted",
    "dropped",
    "filtered",
    "dead_letters",
    "panes",
    "windows",
)


def test_every_window_node_has_the_counters_and_a_watermark():
    src = sn.from_records([{"ts": 1.5, "v": 1}], time="ts")
    for w in (src.window("1s"), src.window("1s", every="250ms"), src.window("1s", early=1)):
        assert set(COUNTERS) <= set(w.counters)
        assert w.watermark is None
    src.run()
    assert w.watermark == np.inf  # the end of a finite stream


records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "ts": st.one_of(st.integers(0, 40).map(lambda x: x / 2), st.just("bad")),
            "k": st.sampled_from(["a", "b"]),
            "v": st.one_of(st.integers(-3, 3), st.just("x"), st.none()),
        }
    ),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(
    records=records_strategy,
    batch=st.one_of(st.none(), st.integers(1, 25)),
    delay=st.sampled_from([0.0, 1.5]),
    lateness=st.sampled_from([0.0, 2.0]),
)
def test_tumbling_windows_conserve_events(records, batch, delay, lateness):
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window("1s", key="k", agg={"v": "sum"}, watermark=delay, lateness=lateness)
    out = w.sink_to_list()
    src.run()
    c = w.counters
    in_panes = 0
    if out:
        panes = pd.concat(out, ignore_index=True)
        last = panes.drop_duplicates(["k", "window_start"], keep="last")
        in_panes = int(last["count"].sum())
        assert c["panes"] == len(panes)
        assert c["windows"] == int((panes["pane"] == "on_time").sum())
    # the source dead-letters unreadable times; the window gets the rest
    assert c["in"] == len(records) - src.counters["dead_letters"]
    assert c["in"] == in_panes + c["dropped"] + c["dead_letters"] + c["filtered"]
    assert (
        c["in"]
        == c["on_time"] + c["late_accepted"] + c["dropped"] + c["filtered"] + (c["dead_letters"])
    )
    assert c["late"] == c["dropped"] + c["late_accepted"]
    assert c["filtered"] == 0
    assert c["dead_letters"] == sum(r["v"] == "x" for r in records if r["ts"] != "bad")


@pytest.mark.parametrize("batch", [None, 3])
def test_late_accepted_and_dropped(batch):
    records = [{"ts": t, "v": 1} for t in (0.5, 5.5, 4.2, 0.7, 9.0, 1.0)]
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window("1s", agg={"v": "sum"}, watermark=0, lateness="3s")
    src.run()
    c = w.counters
    # W=5.5: 4.2 is late but kept ([4, 5) + 3 s > 5.5); 0.7 dropped; at W=9: 1.0 dropped
    assert (c["late_accepted"], c["dropped"], c["on_time"]) == (1, 2, 3)
    assert c["late"] == 3


@pytest.mark.parametrize("batch", [None, 2])
def test_infinite_or_huge_times_are_dead_letters(batch):
    records = [{"ts": 1.0, "v": 1}, {"ts": float("inf"), "v": 1}, {"ts": 1e300, "v": 1}]
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window("1s", agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    assert pd.concat(out)["count"].tolist() == [1]
    reasons = [d["reason"] for d in w.dead_letters.recent]
    assert [d["position"] for d in w.dead_letters.recent] == [1, 2]
    assert all("out of range" in r for r in reasons), reasons
    assert w.counters["dead_letters"] == 2 and w.counters["in"] == 3
