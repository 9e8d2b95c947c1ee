"""SessionWindows against the brute-force oracle, batch equivalence, conservation, examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_sessions import final_session_panes, session_oracle

from streamnb.state.aggregates import SlotStats, normalise_agg
from streamnb.state.sessions import SessionWindows

STATS = ("count", "sum", "min", "max", "mean", "var", "first", "last")
AGGS = normalise_agg({"v": list(STATS)})

values_strategy = st.one_of(
    st.integers(-5, 5).map(float), st.integers(-5, 5).map(float), st.just(math.nan)
)
events_strategy = st.lists(
    st.tuples(
        st.integers(0, 60).map(lambda x: x / 2),  # a half-second grid: many ties and touches
        st.integers(0, 2),
        values_strategy,
    ),
    min_size=1,
    max_size=60,
)


def run_engine(events, gap, delay, lateness, cuts, final=True):
    sw = SessionWindows(gap, AGGS, watermark=delay, lateness=lateness)
    t = np.array([e[0] for e in events])
    k = np.array([e[1] for e in events], dtype=np.int64)
    v = np.array([e[2] for e in events])
    late, panes, late_accepted = [], [], 0
    bounds = [0, *sorted({min(c, len(events)) for c in cuts}), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        if lo >= hi:
            continue
        out = sw.update(t[lo:hi], k[lo:hi], {"v": v[lo:hi]})
        assert out.on_time + out.late_accepted + int(out.dropped.sum()) == hi - lo
        late.extend((np.flatnonzero(out.dropped) + lo).tolist())
        late_accepted += out.late_accepted
        panes.extend(_rows(out.panes))
    if final:
        panes.extend(_rows(sw.advance_watermark(math.inf).panes))
    return late, panes, late_accepted, sw


def _rows(cols):
    n = len(cols["__code"])
    return [{("key" if c == "__code" else c): cols[c][i] for c in cols} for i in range(n)]


def same(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == pytest.approx(want, abs=1e-9)


def assert_same_panes(got, want):
    assert got.keys() == want.keys()
    for key, p in want.items():
        q = got[key]
        for col in ("window_end", "count", "pane", *(f"v_{s}" for s in STATS)):
            assert same(q[col], p[col]), (key, col, q[col], p[col])


@settings(max_examples=400, deadline=None)
@given(
    events=events_strategy,
    gap=st.sampled_from([0.5, 1.0, 2.5]),
    delay=st.sampled_from([0.0, 1.0, 3.0]),
    lateness=st.sampled_from([0.0, 2.0, 10.0]),
    cuts=st.lists(st.integers(0, 60), max_size=6),
)
def test_matches_oracle_for_any_batching(events, gap, delay, lateness, cuts):
    want_late, want_panes, finals, want_acc = session_oracle(events, gap, delay, lateness)
    want = final_session_panes(want_panes)
    # the reduction to last panes is right: it finds the oracle's sessions as they ended
    assert want == {(p["key"], p["window_start"]): p for p in finals}
    got_late, got_panes, got_acc, sw = run_engine(events, gap, delay, lateness, cuts)
    assert got_late == want_late
    assert got_acc == want_acc
    got = final_session_panes(got_panes)
    assert_same_panes(got, want)
    # conservation: every event is in exactly one final pane, or late
    assert sum(p["count"] for p in got.values()) + len(got_late) == len(events)
    assert sw.open_windows == 0 and not sw._by_key


@settings(max_examples=200, deadline=None)
@given(
    events=events_strategy,
    gap=st.sampled_from([0.5, 2.5]),
    delay=st.sampled_from([0.0, 2.0]),
    lateness=st.sampled_from([0.0, 4.0]),
    cuts=st.lists(st.integers(0, 60), max_size=4),
)
def test_unfinished_streams_agree_too(events, gap, delay, lateness, cuts):
    """Without the final watermark, what has been emitted so far agrees (mid-batch panes are
    emitted with the contents they had then)."""
    _, want_panes, _, _ = session_oracle(events, gap, delay, lateness, final=False)
    _, got_panes, _, _ = run_engine(events, gap, delay, lateness, cuts, final=False)
    assert_same_panes(final_session_panes(got_panes), final_session_panes(want_panes))


@settings(max_examples=150, deadline=None)
@given(events=events_strategy, delay=st.sampled_from([0.0, 2.0]))
def test_record_at_a_time_emits_every_pane_the_oracle_does(events, delay):
    _, want_panes, _, _ = session_oracle(events, 1.5, delay, 4.0)
    _, got_panes, _, _ = run_engine(events, 1.5, delay, 4.0, list(range(len(events))))
    cols = ("key", "window_start", "window_end", "pane", "count")
    assert [tuple(p[c] for c in cols) for p in got_panes] == [
        tuple(p[c] for c in cols) for p in want_panes
    ]


def _one(sw, t, v=1.0, key=0):
    out = sw.update(np.array([float(t)]), np.array([key], dtype=np.int64), {"v": np.array([v])})
    return out, _rows(out.panes)


def test_an_out_of_order_event_bridges_two_sessions():
    sw = SessionWindows(gap=5, aggs=normalise_agg({"v": "sum"}), watermark=20)
    _one(sw, 0, 1.0)
    _one(sw, 10, 2.0)
    assert sw.open_windows == 2  # [0, 5) and [10, 15): 10 > 0 + 5
    _one(sw, 5, 4.0)  # touches both: one session [0, 15)
    assert sw.open_windows == 1
    panes = _rows(sw.advance_watermark(math.inf).panes)
    assert [(p["window_start"], p["window_end"], p["count"], p["v_sum"]) for p in panes] == [
        (0.0, 15.0, 3, 7.0)
    ]


def test_a_fired_session_reopens_with_a_late_pane_then_drops_late_events_after_lateness():
    sw = SessionWindows(gap=5, aggs=normalise_agg({"v": "sum"}), lateness=10)
    _one(sw, 0, 1.0)
    _, panes = _one(sw, 30, 2.0)  # W = 30: [0, 5) fires on time
    assert [(p["window_end"], p["pane"]) for p in panes] == [(5.0, "on_time")]
    # W = 30 >= 5 + 10: [0, 5) was dropped, so an event at 1 (1 + 5 + 10 <= 30) is late
    out, _ = _one(sw, 1, 4.0)
    assert out.dropped.tolist() == [True]
    sw = SessionWindows(gap=5, aggs=normalise_agg({"v": "sum"}), lateness=10)
    _one(sw, 0, 1.0)
    _one(sw, 12, 2.0)  # W = 12: [0, 5) fired, kept until W >= 15
    out, panes = _one(sw, 3, 4.0)  # within lateness: accumulating late pane [0, 8)
    assert out.late_accepted == 1 and not out.dropped.any()
    assert [(p["window_end"], p["count"], p["v_sum"], p["pane"]) for p in panes] == [
        (8.0, 2, 5.0, "late")
    ]


def test_a_late_session_waits_for_the_watermark_to_pass_its_new_end():
    sw = SessionWindows(gap=5, aggs=normalise_agg({"v": "sum"}), watermark=4, lateness=10)
    _one(sw, 0)
    _, panes = _one(sw, 9.5)  # W = 5.5: [0, 5) fires
    assert [p["pane"] for p in panes] == ["on_time"]
    _, panes = _one(sw, 4)  # [0, 9): fired, reopened, W = 5.5 < 9: nothing yet
    assert panes == []
    _, panes = _one(sw, 13.5)  # W = 9.5: the late pane
    assert [(p["window_start"], p["window_end"], p["count"], p["pane"]) for p in panes] == [
        (0.0, 9.0, 2, "late")
    ]


def test_mid_batch_panes_keep_the_contents_they_had():
    """In one batch: [0, 5) fires at W=7.5, then takes an event that does not re-fire it yet;
    record by record the last pane is the on-time one with one event, and so in a batch."""
    sw = SessionWindows(gap=5, aggs=normalise_agg({"v": "sum"}), watermark=2, lateness=10)
    out = sw.update(
        np.array([0.0, 9.5, 4.0]), np.zeros(3, dtype=np.int64), {"v": np.array([1.0, 2, 4])}
    )
    assert [(p["window_end"], p["count"], p["v_sum"], p["pane"]) for p in _rows(out.panes)] == [
        (5.0, 1, 1.0, "on_time")
    ]
    panes = _rows(sw.advance_watermark(math.inf).panes)
    assert [(p["window_end"], p["count"], p["v_sum"], p["pane"]) for p in panes] == [
        (9.0, 2, 5.0, "late"),
        (14.5, 1, 2.0, "on_time"),
    ]


def test_keys_are_independent_and_panes_are_sorted_by_start_then_key():
    sw = SessionWindows(gap=1, aggs={}, watermark=10)
    codes = np.array([1, 0, 0, 1], dtype=np.int64)
    sw.update(np.array([0.0, 0.5, 3.0, 0.2]), codes, {})
    panes = sw.advance_watermark(math.inf).panes
    assert panes["__code"].tolist() == [1, 0, 0]
    assert panes["window_start"].tolist() == [0.0, 0.5, 3.0]
    assert panes["window_end"].tolist() == [1.2, 1.5, 4.0]
    assert panes["count"].tolist() == [2, 1, 1]


def test_state_is_bounded_by_open_sessions():
    sw = SessionWindows(gap=0.5, aggs=AGGS, watermark=2.0)
    rng = np.random.default_rng(0)
    for b in range(100):
        t = b * 10 + np.sort(rng.uniform(0, 10, 500))
        sw.update(t, rng.integers(0, 20, 500), {"v": rng.normal(size=500)})
        # sessions end within ~gap of their last event; 2 s of delay keeps few open per key
        assert sw.open_windows <= 20 * 10
    assert sw._capacity <= 1024  # slots are reused across batches
    assert len(sw._fire_heap) + len(sw._drop_heap) <= 4 * 1024
    sw.advance_watermark(math.inf)
    assert sw.open_windows == 0


def test_watermark_never_goes_back_and_settings_are_checked():
    sw = SessionWindows(1.0, {})
    sw.update(np.array([10.0]), np.zeros(1, dtype=np.int64), {})
    sw.update(np.array([9.5]), np.zeros(1, dtype=np.int64), {})
    assert sw.watermark == 10.0
    sw.advance_watermark(5.0)
    assert sw.watermark == 10.0
    assert sw.update(np.zeros(0), np.zeros(0, dtype=np.int64), {}).n_panes == 0
    with pytest.raises(ValueError, match="gap must be positive"):
        SessionWindows(0, {})
    with pytest.raises(ValueError, match=">= 0"):
        SessionWindows(1, {}, lateness=-1)


@settings(max_examples=200, deadline=None)
@given(
    groups=st.lists(
        st.lists(st.tuples(st.integers(0, 20), values_strategy), min_size=1, max_size=6),
        min_size=2,
        max_size=5,
    ),
    dst_of=st.lists(st.integers(0, 1), min_size=5, max_size=5),
)
def test_slotstats_combine_equals_merging_the_events_together(groups, dst_of):
    """Combining slots gives the statistics of all their events merged into one slot (slots
    hold disjoint time ranges, as merged sessions do); repeated destinations work."""
    aggs = {"v": STATS[1:]}
    n = len(groups)
    events = [(g * 100 + t, v, g) for g, evs in enumerate(groups) for t, v in evs]
    times = np.array([e[0] for e in events], dtype=float)
    vals = np.array([e[1] for e in events])
    inv = np.array([e[2] for e in events])
    parts = SlotStats(aggs, capacity=n)
    parts.init_slots(np.arange(n))
    parts.merge(np.arange(n), inv, n, {"v": vals}, times)
    dst = np.array([dst_of[g] for g in range(2, n)], dtype=np.int64)
    parts.combine(dst, np.arange(2, n))
    whole = SlotStats(aggs, capacity=2)
    whole.init_slots(np.arange(2))
    owner = np.array([g if g < 2 else dst_of[g] for g in inv])
    whole.merge(np.arange(2), owner, 2, {"v": vals}, times)
    for agg in STATS[1:]:
        got, want = parts.result(np.arange(2), "v", agg), whole.result(np.arange(2), "v", agg)
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=agg)
