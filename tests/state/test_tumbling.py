"""TumblingWindows against the brute-force oracle, batch equivalence and conservation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import last_panes, tumbling_oracle

from streamnb.state.aggregates import normalise_agg
from streamnb.state.tumbling import TumblingWindows

AGGS = normalise_agg({"v": ["sum", "min", "max", "mean", "var"]})

events_strategy = st.lists(
    st.tuples(
        st.integers(0, 60).map(lambda x: x / 2),  # times on a half-second grid: many ties
        st.integers(0, 3),
        st.integers(-5, 5).map(float),
    ),
    min_size=1,
    max_size=80,
)


def run_engine(events, size, delay, lateness, cuts):
    tw = TumblingWindows(size, AGGS, watermark=delay, lateness=lateness)
    t = np.array([e[0] for e in events])
    k = np.array([e[1] for e in events], dtype=np.int64)
    v = np.array([e[2] for e in events])
    late, panes = [], []
    bounds = [0, *sorted(set(cuts)), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        if lo >= hi:
            continue
        out = tw.update(t[lo:hi], k[lo:hi], {"v": v[lo:hi]})
        late.extend((np.flatnonzero(out.dropped) + lo).tolist())
        panes.extend(_rows(out.panes))
    panes.extend(_rows(tw.advance_watermark(math.inf).panes))
    return late, panes, tw


def _rows(cols):
    n = len(cols["__code"])
    return [{("key" if c == "__code" else c): cols[c][i] for c in cols} for i in range(n)]


def assert_same_last_panes(got, want):
    g, w = last_panes(got), last_panes(want)
    assert g.keys() == w.keys()
    for key, p in w.items():
        q = g[key]
        assert q["pane"] == p["pane"], key
        assert q["count"] == p["count"], key
        for col in ("v_sum", "v_min", "v_max", "v_mean"):
            assert q[col] == pytest.approx(p[col]), (key, col)
        if math.isnan(p["v_var"]):
            assert math.isnan(q["v_var"])
        else:
            assert q["v_var"] == pytest.approx(p["v_var"], abs=1e-9), key


@settings(max_examples=300, deadline=None)
@given(
    events=events_strategy,
    size=st.sampled_from([1.0, 2.5, 5.0]),
    delay=st.sampled_from([0.0, 1.0, 3.0]),
    lateness=st.sampled_from([0.0, 2.0, 10.0]),
    cuts=st.lists(st.integers(0, 80), max_size=6),
)
def test_matches_oracle_for_any_batching(events, size, delay, lateness, cuts):
    want_late, want_panes = tumbling_oracle(events, size, delay, lateness)
    got_late, got_panes, tw = run_engine(events, size, delay, lateness, cuts)
    assert got_late == want_late
    assert_same_last_panes(got_panes, want_panes)
    # conservation: every event is in exactly one final pane or late
    counted = sum(p["count"] for p in last_panes(got_panes).values())
    assert counted + len(got_late) == len(events)
    assert tw.open_windows == 0


@settings(max_examples=100, deadline=None)
@given(events=events_strategy, delay=st.sampled_from([0.0, 2.0]))
def test_record_at_a_time_emits_every_pane_the_oracle_does(events, delay):
    """One-event batches give not just the same last panes but the same pane sequence."""
    want_late, want_panes = tumbling_oracle(events, 2.0, delay, 4.0)
    got_late, got_panes, _ = run_engine(events, 2.0, delay, 4.0, list(range(len(events))))
    assert got_late == want_late
    assert [(p["key"], p["window_start"], p["pane"], p["count"]) for p in got_panes] == [
        (p["key"], p["window_start"], p["pane"], p["count"]) for p in want_panes
    ]


def test_state_is_bounded_by_open_windows():
    tw = TumblingWindows(1.0, AGGS, watermark=2.0)
    rng = np.random.default_rng(0)
    for b in range(200):
        t = b * 10 + np.sort(rng.uniform(0, 10, 1000))
        tw.update(t, rng.integers(0, 50, 1000), {"v": rng.normal(size=1000)})
        # a batch spans 10 windows; 2 s of delay keeps up to 3 more open, per key
        assert tw.open_windows <= 50 * 13
    assert tw._capacity <= 1024  # slots are reused: 200 batches did not grow the arrays


def test_watermark_never_goes_back():
    tw = TumblingWindows(1.0, {})
    tw.update(np.array([10.0]), np.zeros(1, dtype=np.int64), {})
    tw.update(np.array([3.0]), np.zeros(1, dtype=np.int64), {})
    assert tw.watermark == 10.0
    tw.advance_watermark(5.0)
    assert tw.watermark == 10.0


def test_first_last_follow_event_time_and_missing_values_are_skipped():
    aggs = normalise_agg({"v": ["first", "last", "count", "mean", "min"]})
    tw = TumblingWindows(10.0, aggs)
    codes = np.zeros(4, dtype=np.int64)
    tw.update(np.array([5.0, 2.0, 8.0, 3.0]), codes, {"v": np.array([50.0, 20.0, np.nan, 30.0])})
    panes = tw.advance_watermark(np.inf).panes
    assert panes["v_first"].tolist() == [20.0]
    assert panes["v_last"].tolist() == [50.0]  # t=8 has no value; last valid is t=5
    assert panes["count"].tolist() == [4]
    assert panes["v_count"].tolist() == [3.0]
    assert panes["v_mean"].tolist() == pytest.approx([100 / 3])
    assert panes["v_min"].tolist() == [20.0]


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="size must be positive"):
        TumblingWindows(0, {})
    with pytest.raises(ValueError, match=">= 0"):
        TumblingWindows(1, {}, watermark=-1)
