"""stream.session(...): the oracle through the streamz node, records vs DataFrames, datetimes
and ISO strings, dead letters, counters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_sessions import final_session_panes, session_oracle
from streamz import Stream

import streamnb as sn
from streamnb.operators.base import propagate_watermark

STATS = ("count", "sum", "min", "max", "mean", "var", "first", "last")

events_strategy = st.lists(
    st.tuples(
        st.integers(0, 60).map(lambda x: x / 2),
        st.integers(0, 2),
        st.one_of(st.integers(-5, 5).map(float), st.just(math.nan)),
    ),
    min_size=1,
    max_size=50,
)


def to_records(events):
    return [
        {"id": i, "ts": t, "user": f"u{k}", "v": None if math.isnan(v) else v}
        for i, (t, k, v) in enumerate(events)
    ]


def run_session(data, batch=None, **kwargs):
    src = sn.from_records(data, time="ts", batch=batch)
    node = src.session(agg={"v": list(STATS)}, key="user", **kwargs)
    out, late = node.sink_to_list(), node.late.sink_to_list()
    src.run()
    panes = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    late_ids = [
        i for x in late for i in (x["id"].tolist() if isinstance(x, pd.DataFrame) else [x["id"]])
    ]
    return panes, late_ids, node


def pane_dicts(panes):
    return [
        {("key" if c == "user" else c): v for c, v in r.items()} for r in panes.to_dict("records")
    ]


def same(got, want):
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return got == pytest.approx(want, abs=1e-9)


@settings(max_examples=120, deadline=None)
@given(
    events=events_strategy,
    gap=st.sampled_from([0.5, 1.0, 2.5]),
    delay=st.sampled_from([0.0, 1.0, 3.0]),
    lateness=st.sampled_from([0.0, 2.0, 10.0]),
    batch=st.sampled_from([None, 1, 4, 1000]),
    as_frame=st.booleans(),
)
def test_matches_the_oracle_for_records_and_frames_in_any_batches(
    events, gap, delay, lateness, batch, as_frame
):
    want_late, want_panes, _, want_acc = session_oracle(events, gap, delay, lateness)
    want = final_session_panes(
        [dict(p, key=f"u{p['key']}") for p in want_panes]  # keys as the operator shows them
    )
    records = to_records(events)
    data = pd.DataFrame(records) if as_frame else records
    panes, late_ids, node = run_session(data, batch, gap=gap, watermark=delay, lateness=lateness)
    assert late_ids == want_late
    got = final_session_panes(pane_dicts(panes))
    assert got.keys() == want.keys()
    for key, p in want.items():
        for col in ("window_end", "count", "pane", *(f"v_{s}" for s in STATS)):
            assert same(got[key][col], p[col]), (key, col)
    c = node.counters
    # conservation: events in = counted in the sessions' last panes + late + dead letters
    assert c["in"] == sum(p["count"] for p in got.values()) + c["dropped"] + c["dead_letters"]
    assert (c["dropped"], c["late_accepted"]) == (len(want_late), want_acc)
    assert c["on_time"] + c["late_accepted"] + c["dropped"] == len(events)
    assert node.open_windows == 0


CLICKS = [
    {"ts": 0.0, "user": "a", "v": 1.0},
    {"ts": 8.0, "user": "a", "v": 2.0},  # a second session for a: 8 > 0 + 5
    {"ts": 1.0, "user": "b", "v": 10.0},
    {"ts": 4.0, "user": "a", "v": 4.0},  # out of order: bridges [0, 5) and [8, 13)
    {"ts": 20.0, "user": "b", "v": 20.0},  # W = 20 - 5: fires a's [0, 13) and b's [1, 6)
    {"ts": 10.0, "user": "a", "v": 8.0},  # reopens [0, 13) -> [0, 15): late pane, at once
    {"ts": 2.0, "user": "b", "v": 99.0},  # 2 + 5 + 5 <= 15: too late even for lateness
]


def test_bridging_reopening_and_late_events_in_one_readable_stream():
    panes, late_ids, node = run_session(
        [dict(r, id=i) for i, r in enumerate(CLICKS)], gap=5, watermark=5, lateness=5
    )
    rows = panes[["user", "window_start", "window_end", "count", "v_sum", "pane"]]
    assert rows.values.tolist() == [
        ["a", 0.0, 13.0, 3, 7.0, "on_time"],
        ["b", 1.0, 6.0, 1, 10.0, "on_time"],
        ["a", 0.0, 15.0, 4, 15.0, "late"],
        ["b", 20.0, 25.0, 1, 20.0, "on_time"],
    ]
    assert late_ids == [6]
    c = node.counters
    assert (c["in"], c["on_time"], c["late_accepted"], c["dropped"], c["late"]) == (7, 5, 1, 1, 2)
    assert (c["panes"], c["windows"]) == (4, 3)


@pytest.mark.parametrize("batch", [None, 1, 2, 3, 100])
def test_records_and_frames_give_identical_panes(batch):
    want, want_late, _ = run_session(
        [dict(r, id=i) for i, r in enumerate(CLICKS)], gap=5, watermark=5, lateness=5
    )
    for data in (
        [dict(r, id=i) for i, r in enumerate(CLICKS)],
        pd.DataFrame([dict(r, id=i) for i, r in enumerate(CLICKS)]),
    ):
        got, late, _ = run_session(data, batch, gap=5, watermark=5, lateness=5)
        assert late == want_late
        want_last = final_session_panes(pane_dicts(want))
        got_last = final_session_panes(pane_dicts(got))
        assert got_last.keys() == want_last.keys()
        for key, p in want_last.items():
            for col, value in p.items():
                assert same(got_last[key][col], value), (batch, key, col)
    if batch is None:  # record by record, even the sequence of panes is the same
        got, _, _ = run_session(pd.DataFrame(CLICKS).assign(id=range(7)), 1, gap=5, watermark=5)
        want, _, _ = run_session([dict(r, id=i) for i, r in enumerate(CLICKS)], gap=5, watermark=5)
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("kind", ["datetime", "iso", "iso_tz"])
def test_datetimes_and_iso_strings_come_back_as_datetimes(kind):
    def stamp(t):
        ts = pd.Timestamp("2026-11-03 10:00:00") + pd.Timedelta(seconds=t)
        if kind == "datetime":
            return ts.to_pydatetime()
        if kind == "iso":
            return ts.isoformat()
        return ts.tz_localize("UTC").tz_convert("Europe/Paris").isoformat()

    numeric, _, _ = run_session(
        [dict(r, id=i) for i, r in enumerate(CLICKS)], gap="5s", watermark="5s", lateness="5s"
    )
    stamped = [dict(r, id=i, ts=stamp(r["ts"])) for i, r in enumerate(CLICKS)]
    for data in (stamped, pd.DataFrame(stamped)):
        panes, late, _ = run_session(data, gap="5s", watermark="5s", lateness="5s")
        assert late == [6]
        assert pd.api.types.is_datetime64_dtype(panes["window_start"])
        assert (panes["window_end"] - panes["window_start"]).dt.total_seconds().tolist() == (
            numeric["window_end"] - numeric["window_start"]
        ).tolist()
        assert panes["window_start"].iloc[0] == pd.Timestamp("2026-11-03 10:00:00")
        assert panes.drop(columns=["window_start", "window_end"]).equals(
            numeric.drop(columns=["window_start", "window_end"])
        )


def test_bad_input_goes_to_dead_letters_and_is_counted():
    s = Stream()
    node = s.session("5s", key="user", time="ts", agg={"v": "sum"})
    out = node.sink_to_list()
    s.emit({"ts": 1.0, "user": "a", "v": 1.0})
    s.emit({"ts": "not a time", "user": "a", "v": 1.0})
    s.emit({"user": "a", "v": 1.0})
    s.emit({"ts": 2.0, "user": "a", "v": "many"})
    s.emit({"ts": 2.0, "v": 1.0})
    s.emit(["not", "a", "record"])
    s.emit(pd.DataFrame({"ts": [3.0, None, "junk"], "user": ["a", "a", "a"], "v": [2.0, 1.0, 1.0]}))
    propagate_watermark(s, math.inf)  # the end of the stream
    reasons = [(d["position"], d["reason"]) for d in node.dead_letters.recent]
    assert reasons == [
        (1, "unreadable event time 'not a time' in field 'ts'"),
        (2, "field 'ts' missing; fields are ['user', 'v']"),
        (3, "non-numeric value 'many' in field 'v'"),
        (4, "key field 'user' missing"),
        (5, "expected a dict or a DataFrame, got list"),
        (7, "missing event time in column 'ts'"),
        (8, "unreadable event time 'junk' in column 'ts'"),
    ]
    panes = pd.concat(out)
    assert panes[["window_start", "window_end", "count", "v_sum"]].values.tolist() == [
        [1.0, 8.0, 2, 3.0]
    ]
    c = node.counters
    assert c["in"] == 9 == panes["count"].sum() + c["late"] + c["dead_letters"]


def test_processing_time_sessions_close_on_clock_ticks():
    clock = sn.ManualClock(start=100.0)
    s = Stream()
    node = s.session("10s", time=None, clock=clock, agg={"v": "sum"})
    out = node.sink_to_list()
    for dt, v in [(0, 1.0), (4, 2.0), (30, 4.0)]:
        clock.advance(dt)
        s.emit({"v": v})
    assert [df[["window_start", "v_sum"]].values.tolist() for df in out] == [[[100.0, 3.0]]]
    clock.advance(10)
    node.on_tick(clock.now())
    assert out[-1][["window_start", "window_end", "v_sum"]].values.tolist() == [[134.0, 144.0, 4.0]]


def test_settings_are_checked_and_the_node_describes_itself():
    with pytest.raises(ValueError, match="session\\(\\) needs time="):
        Stream().session("5s")
    with pytest.raises(ValueError, match="gap must be positive"):
        sn.from_records([], time="ts").session(0)
    node = sn.from_records([], time="ts").session("30min", key="user", agg={"v": "mean"})
    assert node.gap == 1800.0 and node.time == "ts"
    assert repr(node).startswith("<session gap=1800.0s key=['user']")
    assert node.output_schema()["v_mean"] == "float64"
    assert isinstance(node, sn.Session) and isinstance(node, sn.Window)


def test_a_long_stream_keeps_state_bounded():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.exponential(0.05, 20_000))
    df = pd.DataFrame({"ts": t + rng.uniform(0, 1, len(t)), "user": rng.integers(0, 50, len(t))})
    src = sn.from_records(df, time="ts", batch=500)
    node = src.session(2.0, key="user", watermark=1.0)
    seen = []
    node.sink(lambda _: seen.append(node.open_windows))
    src.run()
    assert max(seen) <= 3 * 50
    assert node.open_windows == 0
    assert node.counters["in"] == len(df)
