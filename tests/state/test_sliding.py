"""FixedWindows with a step (sliding windows, gaps) against the brute-force oracle."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import fixed_oracle, last_panes, tumbling_oracle
from test_tumbling import assert_same_last_panes

from streamnb.state.aggregates import normalise_agg
from streamnb.state.fixed import DROPPED, FILTERED, LATE_ACCEPTED, ON_TIME, FixedWindows

AGGS = normalise_agg({"v": ["sum", "min", "max", "mean", "var"]})

events_strategy = st.lists(
    st.tuples(
        st.integers(-8, 120).map(lambda x: x / 4),  # a quarter-second grid: many ties
        st.integers(0, 3),
        st.integers(-5, 5).map(float),
    ),
    min_size=1,
    max_size=60,
)
# (size, every): overlapping, not a multiple, tumbling, gaps, awkward decimals
shapes = st.sampled_from(
    [
        *[(1.0, 0.25), (2.0, 0.5), (1.0, 0.75), (2.5, 1.0), (3.0, 3.0), (1.0, 2.0)],
        *[(0.5, 1.25), (0.3, 0.1), (1.0, 0.1), (0.7, 0.3)],
    ]
)


def run_engine(events, size, every, delay, lateness, cuts):
    fw = FixedWindows(size, AGGS, watermark=delay, lateness=lateness, every=every)
    t = np.array([e[0] for e in events])
    k = np.array([e[1] for e in events], dtype=np.int64)
    v = np.array([e[2] for e in events])
    late, panes = [], []
    counts = dict.fromkeys(("on_time", "late_accepted", "dropped", "filtered"), 0)
    bounds = [0, *sorted(set(cuts)), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        if lo >= hi:
            continue
        out = fw.update(t[lo:hi], k[lo:hi], {"v": v[lo:hi]})
        late.extend((np.flatnonzero(out.dropped) + lo).tolist())
        panes.extend(_rows(out.panes))
        counts["on_time"] += out.on_time
        counts["late_accepted"] += out.late_accepted
        counts["dropped"] += int(out.dropped.sum())
        counts["filtered"] += out.filtered
    panes.extend(_rows(fw.advance_watermark(math.inf).panes))
    return late, panes, counts, fw


def _rows(cols):
    n = len(cols["__code"])
    return [{("key" if c == "__code" else c): cols[c][i] for c in cols} for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(
    events=events_strategy,
    shape=shapes,
    delay=st.sampled_from([0.0, 0.5, 2.0]),
    lateness=st.sampled_from([0.0, 1.0, 5.0]),
    cuts=st.lists(st.integers(0, 60), max_size=6),
)
def test_matches_oracle_for_any_batching(events, shape, delay, lateness, cuts):
    size, every = shape
    want_late, want_filtered, want_panes = fixed_oracle(events, size, every, delay, lateness)
    got_late, got_panes, counts, fw = run_engine(events, size, every, delay, lateness, cuts)
    assert got_late == want_late
    assert_same_last_panes(got_panes, want_panes)
    assert counts["filtered"] == len(want_filtered)
    assert counts["dropped"] == len(want_late)
    assert sum(counts.values()) == len(events)
    assert fw.open_windows == 0


@settings(max_examples=150, deadline=None)
@given(
    events=events_strategy,
    shape=shapes,
    delay=st.sampled_from([0.0, 1.0]),
    lateness=st.sampled_from([0.0, 3.0]),
)
def test_record_at_a_time_emits_every_pane_the_oracle_does(events, shape, delay, lateness):
    """One-event batches (the scalar path) give the oracle's whole pane sequence."""
    size, every = shape
    want_late, _, want_panes = fixed_oracle(events, size, every, delay, lateness)
    cuts = list(range(len(events)))
    got_late, got_panes, _, _ = run_engine(events, size, every, delay, lateness, cuts)
    assert got_late == want_late
    key = ("key", "window_start", "window_end", "pane", "count")
    assert [tuple(p[c] for c in key) for p in got_panes] == [
        tuple(p[c] for c in key) for p in want_panes
    ]
    for got, want in zip(got_panes, want_panes, strict=True):
        assert got["v_sum"] == pytest.approx(want["v_sum"])


@settings(max_examples=100, deadline=None)
@given(events=events_strategy, size=st.sampled_from([0.5, 1.0, 2.5]))
def test_every_equal_to_size_is_tumbling(events, size):
    late, _, panes = fixed_oracle(events, size, size, 1.0, 2.0)
    want_late, want_panes = tumbling_oracle(events, size, 1.0, 2.0)
    assert late == want_late
    assert last_panes(panes).keys() == last_panes(want_panes).keys()
    got_late, got_panes, _, _ = run_engine(events, size, size, 1.0, 2.0, [3, 7])
    assert got_late == want_late
    assert_same_last_panes(got_panes, want_panes)


@pytest.mark.parametrize(
    ("t", "size", "every", "want"),
    [
        (1.1, 1.0, 0.25, [1, 2, 3, 4]),
        (1.0, 1.0, 0.25, [1, 2, 3, 4]),  # a window's start belongs to it, its end does not
        (0.3, 0.3, 0.1, [1, 2]),  # 3 * 0.1 > 0.3 in floats: window 3 starts after t
        (-0.5, 1.0, 0.5, [-2, -1]),
        (1.5, 1.0, 2.0, []),  # in the gap [1, 2)
        (2.5, 1.0, 2.0, [1]),
    ],
)
def test_windows_of_tests_membership_in_floats(t, size, every, want):
    fw = FixedWindows(size, {}, every=every)
    got = list(fw.windows_of(t))
    assert got == want
    assert all(k * every <= t < k * every + size for k in got)
    lo, hi = fw._window_range(np.array([t]))
    assert list(range(int(lo[0]), int(hi[0]) + 1)) == want


def test_each_event_is_in_size_over_every_windows():
    fw = FixedWindows(1.0, {"v": ("sum",)}, every=0.25)
    t = np.arange(0, 10, 0.01)
    out = fw.update(t, np.zeros(len(t), dtype=np.int64), {"v": np.ones(len(t))})
    end = fw.advance_watermark(math.inf)
    counts = np.r_[out.panes["count"], end.panes["count"]]
    starts = np.r_[out.panes["window_start"], end.panes["window_start"]]
    assert counts.sum() == 4 * len(t)
    full = (starts >= 0) & (starts + 1.0 <= 10)
    assert set(counts[full].tolist()) == {100}


def test_event_fates_on_the_scalar_path():
    fw = FixedWindows(1.0, {}, every=2.0, watermark=0.0, lateness=1.0)
    assert fw.update_one(0.5, 0, {})[0] == ON_TIME
    assert fw.update_one(1.5, 0, {})[0] == FILTERED  # gap [1, 2); W moves to 1.5 anyway
    assert fw.watermark == 1.5
    assert fw.update_one(0.9, 0, {})[0] == LATE_ACCEPTED  # [0, 1) ended, lateness keeps it
    fw.update_one(2.5, 0, {})
    assert fw.update_one(0.2, 0, {})[0] == DROPPED  # 1 + 1 <= 2.5


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="'every' must be positive"):
        FixedWindows(1, {}, every=0)
    with pytest.raises(ValueError, match="size must be positive"):
        FixedWindows(-1, {}, every=1)


@pytest.mark.parametrize("every", [None, 0.5])
def test_noted_record_events_are_folded_before_anything_reads_them(every):
    fw = FixedWindows(1.0, {"v": ("sum",)}, watermark=5.0, every=every)
    for i in range(5000):  # on time, nothing fires: noted, and folded every 4096
        status, panes = fw.update_one(i / 1000, i % 3, {"v": 1.0})
        assert status == ON_TIME and panes is None
    n_windows = 5 if every is None else 11  # [0, 1) .. [4, 5); or [-0.5, 0.5) .. [4.5, 5.5)
    assert fw.open_windows == 3 * n_windows  # 3 keys
    early = fw.early_panes()
    assert early["count"].sum() == 5000 * (1 if every is None else 2)
    out = fw.update(np.array([100.0, 101.0]), np.zeros(2, dtype=np.int64), {"v": np.ones(2)})
    assert out.panes["count"].sum() == early["count"].sum()  # W = 96: the old windows fire
