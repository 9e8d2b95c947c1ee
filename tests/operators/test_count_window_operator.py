"""stream.count_window(...): the oracle through the streamz node, records vs DataFrames,
optional time, datetimes, dead letters."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_sessions import count_oracle
from streamz import Stream

import streamnb as sn
from streamnb.operators.base import propagate_watermark

STATS = ("count", "sum", "mean", "min", "max", "var", "first", "last")


def run_counts(data, n, batch=None, time="ts", **kwargs):
    src = sn.from_records(data, time=time, batch=batch)
    node = src.count_window(n, agg={"v": list(STATS)}, **kwargs)
    out = node.sink_to_list()
    src.run()
    return (pd.concat(out, ignore_index=True) if out else pd.DataFrame()), node


def same(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == pytest.approx(want, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 40).map(lambda x: x / 2),
            st.integers(0, 2),
            st.one_of(st.integers(-5, 5).map(float), st.just(math.nan)),
        ),
        min_size=1,
        max_size=50,
    ),
    n=st.sampled_from([1, 2, 5]),
    batch=st.sampled_from([None, 1, 3, 1000]),
    as_frame=st.booleans(),
)
def test_matches_the_oracle_for_records_and_frames_in_any_batches(events, n, batch, as_frame):
    want = count_oracle(events, n)
    records = [{"ts": t, "k": f"k{k}", "v": None if math.isnan(v) else v} for t, k, v in events]
    panes, node = run_counts(pd.DataFrame(records) if as_frame else records, n, batch, key="k")
    got = {(r["k"], r["window"]): r for r in panes.to_dict("records")}
    assert len(got) == len(panes) == len(want)
    for p in want:
        q = got[(f"k{p['key']}", p["window"])]
        for col in ("window_start", "window_end", "count", "pane", *(f"v_{s}" for s in STATS)):
            assert same(q[col], p[col]), (p["key"], p["window"], col)
    c = node.counters
    assert c["in"] == panes["count"].sum() + c["dead_letters"] == len(events)
    assert c["late"] == 0 and node.open_windows == 0


RECORDS = [{"ts": float(t), "k": "ab"[t % 2], "v": float(t)} for t in range(7)]


@pytest.mark.parametrize("batch", [None, 1, 2, 7])
def test_records_and_frames_give_identical_panes(batch):
    want, _ = run_counts(RECORDS, 3, key="k")
    assert want[["k", "window", "count", "v_sum"]].values.tolist() == [
        ["a", 0, 3, 6.0],  # 0 2 4
        ["b", 0, 3, 9.0],  # 1 3 5
        ["a", 1, 1, 6.0],  # 6, fired at the end
    ]
    for data in (RECORDS, pd.DataFrame(RECORDS)):
        got, _ = run_counts(data, 3, batch, key="k")
        pd.testing.assert_frame_equal(got, want)


def test_time_is_optional():
    no_time = [{"k": r["k"], "v": r["v"]} for r in RECORDS]
    for data in (no_time, pd.DataFrame(no_time)):
        panes, node = run_counts(data, 2, time=None, key="k")
        assert node.time is None
        assert panes["window_start"].isna().all() and panes["window_end"].isna().all()
        assert panes["v_first"].tolist() == [0.0, 1.0, 4.0, 5.0]  # by arrival
        assert panes["count"].sum() == 7
    # a source with a time column: inherited unless time=None
    panes, node = run_counts(RECORDS, 4)
    assert node.time == "ts" and panes["window_end"].tolist() == [3.0, 6.0]
    src = sn.from_records(RECORDS, time="ts")
    assert src.count_window(4, time=None).time is None


@pytest.mark.parametrize("as_iso", [False, True])
def test_datetimes_come_back_as_datetimes(as_iso):
    base = pd.Timestamp("2026-11-03 10:00:00")

    def stamp(t):
        ts = base + pd.Timedelta(seconds=t)
        return ts.isoformat() if as_iso else ts

    data = [dict(r, ts=stamp(r["ts"])) for r in RECORDS]
    for records in (data, pd.DataFrame(data)):
        panes, _ = run_counts(records, 3, key="k")
        assert pd.api.types.is_datetime64_dtype(panes["window_start"])
        assert panes["window_end"].tolist() == [base + pd.Timedelta(seconds=s) for s in (4, 5, 6)]


def test_bad_input_goes_to_dead_letters():
    s = Stream()
    node = s.count_window(2, key="k", time="ts", agg={"v": "sum"})
    out = node.sink_to_list()
    s.emit({"ts": 1.0, "k": "a", "v": 1.0})
    s.emit({"ts": 2.0, "k": "a", "v": "lots"})
    s.emit({"ts": "when?", "k": "a", "v": 1.0})
    s.emit(pd.DataFrame({"ts": [3.0, 4.0], "k": ["a", None], "v": [2.0, 3.0]}))
    propagate_watermark(s, math.inf)
    assert [(d["position"], d["reason"]) for d in node.dead_letters.recent] == [
        (1, "non-numeric value 'lots' in field 'v'"),
        (2, "unreadable event time 'when?' in field 'ts'"),
    ]
    panes = pd.concat(out)
    assert panes[["k", "count", "v_sum"]].values.tolist() == [["a", 2, 3.0], [None, 1, 3.0]]
    assert node.counters["in"] == 5 == panes["count"].sum() + node.counters["dead_letters"]


def test_settings_are_checked_and_the_node_describes_itself():
    with pytest.raises(ValueError, match="positive whole number"):
        Stream().count_window(0)
    node = Stream().count_window(100, key="user")
    assert node.time is None and node.n == 100
    assert repr(node).startswith("<count_window n=100 key=['user']")
    assert isinstance(node, sn.CountWindow) and isinstance(node, sn.Window)
