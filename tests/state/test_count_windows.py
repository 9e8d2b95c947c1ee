"""CountWindows against the brute-force oracle, for any batching; partial windows; no time."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_sessions import count_oracle

from streamnb.state.aggregates import normalise_agg
from streamnb.state.count import CountWindows

STATS = ("count", "sum", "min", "max", "mean", "var", "first", "last")
AGGS = normalise_agg({"v": list(STATS)})

events_strategy = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 40).map(lambda x: x / 2), st.just(math.nan)),
        st.integers(0, 3),
        st.one_of(st.integers(-5, 5).map(float), st.just(math.nan)),
    ),
    min_size=1,
    max_size=80,
)


def run_engine(events, n, cuts, final=True):
    cw = CountWindows(n, AGGS)
    t = np.array([e[0] for e in events])
    k = np.array([e[1] for e in events], dtype=np.int64)
    v = np.array([e[2] for e in events])
    panes = []
    bounds = [0, *sorted({min(c, len(events)) for c in cuts}), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        if lo < hi:
            out = cw.update(t[lo:hi], k[lo:hi], {"v": v[lo:hi]})
            assert not out.dropped.any() and out.on_time == hi - lo
            panes.extend(_rows(out.panes))
    if final:
        panes.extend(_rows(cw.advance_watermark(math.inf).panes))
    return panes, cw


def _rows(cols):
    n = len(cols["__code"])
    return [{("key" if c == "__code" else c): cols[c][i] for c in cols} for i in range(n)]


def same(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == pytest.approx(want, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    events=events_strategy,
    n=st.sampled_from([1, 2, 3, 7]),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    final=st.booleans(),
)
def test_matches_oracle_for_any_batching(events, n, cuts, final):
    want = count_oracle(events, n, final=final)
    got, cw = run_engine(events, n, cuts, final=final)
    # every window emits exactly one pane; full ones in the order their n-th event arrived
    full = [p for p in want if p["count"] == n]
    assert [(p["key"], p["window"]) for p in got[: len(full)]] == [
        (p["key"], p["window"]) for p in full
    ]
    got_by = {(p["key"], p["window"]): p for p in got}
    assert len(got_by) == len(got) == len(want)
    for p in want:
        q = got_by[(p["key"], p["window"])]
        for col in ("window_start", "window_end", "count", "pane", *(f"v_{s}" for s in STATS)):
            assert same(q[col], p[col]), (p["key"], p["window"], col, q[col], p[col])
    # conservation: the panes count every event (after the end; before it, all but the open)
    assert sum(p["count"] for p in got) + (0 if final else cw._filled.sum()) == len(events)
    if final:
        assert cw.open_windows == 0


def test_windows_are_numbered_per_key_and_partial_windows_fire_at_the_end():
    cw = CountWindows(2, normalise_agg({"v": "sum"}))
    codes = np.array([0, 1, 0, 0, 1, 1, 0], dtype=np.int64)
    times = np.arange(7.0)
    out = cw.update(times, codes, {"v": np.arange(7.0)}).panes
    assert list(zip(out["__code"].tolist(), out["window"].tolist(), strict=True)) == [
        (0, 0),  # events 0 and 2
        (1, 0),  # events 1 and 4
        (0, 1),  # events 3 and 6
    ]
    assert out["window_start"].tolist() == [0.0, 1.0, 3.0]
    assert out["window_end"].tolist() == [2.0, 4.0, 6.0]
    assert out["v_sum"].tolist() == [2.0, 5.0, 9.0]
    assert cw.open_windows == 1  # key 1 holds event 5
    assert cw.advance_watermark(100.0).n_panes == 0  # only the end of the stream flushes
    end = cw.advance_watermark(math.inf).panes
    assert (end["__code"].tolist(), end["window"].tolist(), end["count"].tolist()) == (
        [1],
        [1],
        [1],
    )
    assert cw.open_windows == 0


def test_without_times_windows_have_nan_bounds_and_first_last_follow_arrival():
    cw = CountWindows(3, normalise_agg({"v": ["first", "last"]}))
    out = cw.update(np.full(3, np.nan), np.zeros(3, dtype=np.int64), {"v": np.array([7.0, 8, 9])})
    assert np.isnan(out.panes["window_start"]).all() and np.isnan(out.panes["window_end"]).all()
    assert (out.panes["v_first"].tolist(), out.panes["v_last"].tolist()) == ([7.0], [9.0])
    assert cw.watermark == -math.inf


def test_state_is_one_slot_per_key():
    cw = CountWindows(10, AGGS)
    rng = np.random.default_rng(1)
    for _ in range(100):
        cw.update(rng.uniform(0, 1, 500), rng.integers(0, 30, 500), {"v": rng.normal(size=500)})
        assert cw.open_windows <= 30
    assert cw._capacity <= 256


def test_rejects_bad_sizes():
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="positive whole number"):
            CountWindows(bad, {})
