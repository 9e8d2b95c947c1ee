"""The fast paths of sources and windows give exactly what the general paths give.

Records read column by column (``records_frame``) against ``pd.DataFrame.from_records``; a
window fed record at a time through its inline path against the general record path; the
source's record loop, downstream emission, time notes and pane frames against what they
replace.
"""

from __future__ import annotations

import gc
import math
from collections import OrderedDict, defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import streamnb as sn
from streamnb.operators import _batch
from streamnb.operators._batch import fresh_frame, mark_event_seconds, noted_seconds
from streamnb.operators.window import Window
from streamnb.sources import base
from streamnb.sources.base import Unreadable, records_frame
from streamnb.state.timeparse import column_to_seconds

# ------------------------------------------------------------------ records_frame
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.binary(max_size=2),
    st.sampled_from([pd.Timestamp("2026-11-25"), np.float32(1.5), np.int32(3), np.str_("s")]),
)


def column_kind():
    """A generator of values for one column: one kind (the fast path) or any mix."""
    return st.one_of(
        st.just(st.floats(allow_nan=True)),
        st.just(st.integers(-(2**40), 2**40)),
        st.just(st.booleans()),
        st.just(st.text(max_size=4)),
        st.just(values),
    )


@st.composite
def record_lists(draw):
    n = draw(st.integers(1, 30))
    names = draw(st.lists(st.sampled_from(["ts", "k", "v", "w"]), min_size=0, max_size=4))
    names = list(dict.fromkeys(names))
    kinds = {name: draw(column_kind()) for name in names}
    records = [{name: draw(kinds[name]) for name in names} for _ in range(n)]
    if draw(st.booleans()) and records:  # ragged: a key missing, or one more
        i = draw(st.integers(0, n - 1))
        if names and draw(st.booleans()):
            del records[i][draw(st.sampled_from(names))]
        else:
            records[i]["extra"] = draw(values)
    return records


def want_frame(records, start):
    df = pd.DataFrame.from_records(records)
    df.index = pd.RangeIndex(start, start + len(records))
    return df


@settings(max_examples=300, deadline=None)
@given(records=record_lists(), start=st.integers(0, 5))
def test_records_frame_is_from_records(records, start):
    got, seconds = records_frame(records, start, "ts")
    want = want_frame(records, start)
    pd.testing.assert_frame_equal(got, want)
    assert list(got.dtypes) == list(want.dtypes)
    if seconds is not None:  # numbers: the times as floats
        np.testing.assert_array_equal(seconds, want["ts"].to_numpy(dtype=float))


@pytest.mark.parametrize(
    "records",
    [
        [{"ts": 1.0, "v": 2**63}],  # beyond int64
        [{"ts": 1.0, "v": 1}, {"ts": 2.0, "v": 2.5}],  # ints and floats
        [{"ts": 1.0, "v": "a"}, {"ts": 2.0, "v": None}],  # strs and a None
        [{"ts": 1.0, "v": b"a"}, {"ts": 2.0, "v": "b"}],  # bytes
        [{"ts": 1.0, "v": True}, {"ts": 2.0, "v": 1.0}],  # a bool among floats
        [{"ts": 1.0, 7: "int key"}],
        [{"ts": 1.0, "v": 1.0}, {"v": 2.0, "ts": 3.0}],  # other key order
        [{}, {}],
        [OrderedDict(ts=1.0, v=2.0), {"ts": 2.0, "v": 3.0}],
    ],
)
def test_records_frame_edge_cases(records):
    pd.testing.assert_frame_equal(records_frame(records, 3, "ts")[0], want_frame(records, 3))


def test_records_are_read_as_stored_and_never_changed():
    missing = defaultdict(lambda: -1.0, {"ts": 2.0})
    records = [{"ts": 1.0, "v": 1.0}, missing, {"ts": 3.0, "v": 3.0}]
    missing["w"] = 9.0  # same length as the others, other keys
    pd.testing.assert_frame_equal(records_frame(records, 0, "ts")[0], want_frame(records, 0))
    assert dict(missing) == {"ts": 2.0, "w": 9.0}  # no default was added


# ------------------------------------------------------------------ batches of records
items = st.one_of(
    st.fixed_dictionaries(
        {
            "ts": st.one_of(
                st.integers(0, 40).map(lambda x: x / 4),
                st.integers(0, 10),
                st.sampled_from(["bad", None, float("nan"), "1970-01-01T00:00:03"]),
            ),
            "k": st.sampled_from(["AB", "CD", "EF"]),
            "v": st.one_of(st.integers(-3, 3), st.floats(-5, 5)),
        }
    ),
    st.sampled_from([None, 3, ("ts", 1.0), Unreadable("{oops", "bad json")]),
)


def run_source(data, **kwargs):
    src = sn.from_records(data, time="ts", **kwargs)
    out = src.sink_to_list()
    src.run()
    letters = [(d["position"], d["reason"]) for d in src.dead_letters.recent]
    return out, letters, dict(src.counters)


@settings(max_examples=150, deadline=None)
@given(records=st.lists(items, max_size=40), batch=st.integers(1, 15))
def test_batches_of_records_are_what_from_records_made(records, batch):
    many, letters, counters = run_source(records, batch=batch)
    with pytest.MonkeyPatch.context() as m:  # the general path: pd.DataFrame.from_records
        m.setattr(base, "_uniform_frame", lambda records, start, time: None)
        want, want_letters, want_counters = run_source(records, batch=batch)
    assert len(many) == len(want)
    for got_df, want_df in zip(many, want, strict=True):
        pd.testing.assert_frame_equal(got_df, want_df)
    assert letters == want_letters and counters == want_counters
    # and the same events, at the same positions, as one at a time
    one, one_letters, _ = run_source(records)
    kept = [i for i, r in enumerate(records) if any(r is o for o in one)]
    assert [i for df in many for i in df.index] == kept
    assert sorted(p for p, _ in letters) == sorted(p for p, _ in one_letters)


window_items = st.one_of(
    st.fixed_dictionaries(
        {
            "ts": st.one_of(
                st.integers(0, 40).map(lambda x: x / 4),
                st.integers(0, 10),
                st.sampled_from(["bad", None, float("nan")]),
            ),
            "k": st.sampled_from(["AB", "CD", "EF"]),
            "v": st.one_of(st.integers(-3, 3), st.floats(-5, 5)),
        }
    ),
    st.sampled_from([None, ("ts", 1.0), Unreadable("{oops", "bad json")]),
)


def final_windows(out):
    if not out:
        return None
    panes = pd.concat(out, ignore_index=True)
    last = panes.drop_duplicates(["k", "window_start"], keep="last")
    return last.sort_values(["window_start", "k"]).reset_index(drop=True)


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(window_items, max_size=60),
    batch=st.one_of(st.none(), st.integers(1, 20)),
    delay=st.sampled_from([0.0, 1.0]),
    lateness=st.sampled_from([0.0, 1.5]),
)
def test_windows_over_dicts_match_windows_record_at_a_time(records, batch, delay, lateness):
    def windows(data, batch):
        src = sn.from_records(data, time="ts", batch=batch)
        w = src.window("1s", key="k", agg={"v": ["sum", "max"]}, watermark=delay, lateness=lateness)
        out, late = w.sink_to_list(), w.late.sink_to_list()
        src.run()
        late_ts = [
            float(t)
            for x in late
            for t in (x["ts"].tolist() if isinstance(x, pd.DataFrame) else [x["ts"]])
        ]
        return final_windows(out), late_ts, w.counters

    dicts = [r for r in records if isinstance(r, dict)]
    want, want_late, want_counters = windows(dicts, None)  # one at a time
    got, got_late, got_counters = windows(records, batch)
    if want is None:
        assert got is None
    else:
        cols = ["k", "window_start", "count", "v_max", "pane"]
        pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False)
        np.testing.assert_allclose(got["v_sum"], want["v_sum"], rtol=1e-12, atol=1e-12)
    assert got_late == want_late
    for name in ("in", "on_time", "dropped", "late_accepted", "late", "dead_letters"):
        assert got_counters[name] == want_counters[name], name


def test_a_source_keeps_a_snapshot_of_its_records():
    records = [{"ts": float(i), "v": 1.0} for i in range(5)]
    src = sn.from_records(records, time="ts", batch=2)
    records[0] = {"ts": 99.0, "v": 1.0}
    records.append({"ts": 5.0, "v": 1.0})
    out = src.sink_to_list()
    src.run()
    assert [t for df in out for t in df["ts"]] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_records_from_a_generator_and_tuples_as_items():
    gen = ({"ts": float(i)} if i != 2 else ("ts", 2.0) for i in range(5))
    out, letters, _ = run_source(gen, batch=3)
    assert [list(df.index) for df in out] == [[0, 1], [3, 4]]
    assert letters == [(2, "expected a record (dict), got tuple")]


# ------------------------------------------------------------------ the record loop
@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"ts": float("nan")}, "missing event time in field 'ts'"),
        ({"ts": None}, "missing event time in field 'ts'"),
        ({"ts": True}, "unreadable event time True in field 'ts'"),
        ({"ts": "soon"}, "unreadable event time 'soon' in field 'ts'"),
        ({"v": 1}, "field 'ts' missing; fields are ['v']"),
        (7, "expected a record (dict), got int"),
    ],
)
def test_the_record_loop_dead_letters_bad_times_at_their_position(bad, reason):
    good = [{"ts": 1.0}, {"ts": 2}, {"ts": "1970-01-01T00:00:03"}]
    out, letters, counters = run_source([good[0], bad, *good[1:]])
    assert out == good
    assert letters == [(1, reason)]
    assert counters == {"emitted": 3, "events": 3, "errors": 0, "dead_letters": 1}


def test_the_record_loop_survives_a_failing_downstream():
    src = sn.from_records([{"ts": float(i), "v": i} for i in range(5)], time="ts")
    seen = src.map(lambda r: 1 / r["v"]).sink_to_list()
    src.run()
    assert seen == [1.0, 0.5, 1 / 3, 0.25]
    (letter,) = src.dead_letters.recent
    assert letter["position"] == 0 and letter["reason"].startswith("ZeroDivisionError")
    assert src.counters == {"emitted": 5, "events": 5, "errors": 1, "dead_letters": 1}
    assert src.finished


@settings(max_examples=100, deadline=None)
@given(records=st.lists(items, max_size=30), fail_at=st.integers(0, 5))
def test_run_is_step_by_step(records, fail_at):
    def drive(by_steps):
        src = sn.from_records(records, time="ts")
        seen = []

        def sink(r):
            seen.append(r)
            if len(seen) % 4 == fail_at:
                raise RuntimeError("downstream")

        src.sink(sink)
        if by_steps:
            while src.step() is not None:
                pass
        else:
            src.run()
        letters = [(d["position"], d["reason"]) for d in src.dead_letters.recent]
        return seen, letters, src.counters, src._position, src.finished

    assert repr(drive(False)) == repr(drive(True))


def test_downstreams_get_every_record_in_order_and_dead_nodes_none():
    src = sn.from_records([{"ts": float(i)} for i in range(4)], time="ts")
    calls = []
    a = src.sink(lambda r: calls.append(("a", r["ts"])))
    b = src.sink(lambda r: calls.append(("b", r["ts"])))
    src.step()
    b.destroy()
    src.step()
    c = src.map(lambda r: r)
    del c
    gc.collect()
    src.step()
    assert calls == [("a", 0.0), ("b", 0.0), ("a", 1.0), ("a", 2.0)]
    assert len(src.downstreams) == 1 and list(src.downstreams) == [a]


# ------------------------------------------------------------------ the window's record path
plain_or_not = st.one_of(
    st.integers(0, 30).map(lambda x: x / 3),
    st.integers(0, 10),
    st.sampled_from([float("nan"), None, "x", True, 2.0**70]),
)


key_values = st.sampled_from(["A", "B", "C", 7, None, ("t", 1), ["unhashable"]])
full_record = st.fixed_dictionaries({"ts": plain_or_not, "k": key_values, "v": plain_or_not})
odd_record = st.fixed_dictionaries(
    {}, optional={"ts": plain_or_not, "k": key_values, "v": plain_or_not}
)


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(st.one_of(full_record, full_record, odd_record), max_size=50),
    key=st.sampled_from(["k", None, ["k", "v"]]),
    every=st.sampled_from([None, 0.5]),
    lateness=st.sampled_from([0.0, 1.0]),
)
@example(
    records=[{"ts": 1.0, "k": "A", "v": 1}, {"ts": 2.0, "k": ["unhashable"], "v": 2.0}],
    key="k",
    every=None,
    lateness=0.0,
)
def test_the_inline_record_path_is_the_record_path(records, key, every, lateness):
    def run():
        w = Window(sn.from_records([], time="ts"), 1.0, key=key, agg={"v": "sum"},
                   watermark=0.5, lateness=lateness, every=every)  # fmt: skip
        out, late = w.sink_to_list(), w.late.sink_to_list()
        raised = []
        for r in records:
            try:
                w.update(r)
            except TypeError as exc:  # an unhashable key; a source would dead-letter it
                raised.append(str(exc))
        w.on_watermark(math.inf)
        letters = [(d["position"], d["reason"]) for d in w.dead_letters.recent]
        frames = [df.to_dict("list") for df in out]
        return frames, late, letters, raised, w.counters, w.keys.values, w._datetime

    got = run()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Window, "update", lambda self, x, who=None, metadata=None: self._update_any(x))
        want = run()
    assert repr(got) == repr(want)


# ------------------------------------------------------------------ notes on event times
def iso_frame():
    ts = pd.date_range("2026-11-25", periods=6, freq="700ms").strftime("%Y-%m-%dT%H:%M:%S.%f")
    return pd.DataFrame({"ts": list(ts), "v": np.arange(6.0)})


def test_a_source_notes_parsed_times_and_the_window_uses_them(monkeypatch):
    calls = []
    real = _batch.column_to_seconds

    def counting(col):
        calls.append(len(col))
        return real(col)

    monkeypatch.setattr(_batch, "column_to_seconds", counting)
    src = sn.from_records(iso_frame(), time="ts", batch=4)
    out = src.window("1s", agg={"v": "sum"}).sink_to_list()
    src.run()
    assert calls == []  # the source read the times; the window used its notes
    assert pd.concat(out)["v_sum"].tolist() == [1.0, 2.0, 7.0, 5.0]


def test_numeric_times_are_not_noted():  # reading them again costs less than checking
    src = sn.from_records([{"ts": 1.0}, {"ts": 2.0}], time="ts", batch=2)
    out = src.sink_to_list()
    src.run()
    assert noted_seconds(out[0], "ts") is None


@pytest.mark.parametrize("change", ["replace", "in place"])
def test_a_time_column_changed_after_the_note_is_read_again(change):
    def shift(df):
        if change == "replace":
            df["ts"] = (pd.to_datetime(df["ts"]) + pd.Timedelta("10s")).dt.strftime(
                "%Y-%m-%dT%H:%M:%S.%f"
            )
        else:
            df.loc[df.index[0], "ts"] = "2026-11-25T00:00:10.000000"
        return df

    src = sn.from_records(iso_frame(), time="ts", batch=6)
    w = src.map(shift).window("1s", agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    got = pd.concat(out)
    want_src = sn.from_records(shift(iso_frame()), time="ts", batch=6)
    want = want_src.window("1s", agg={"v": "sum"}).sink_to_list()
    want_src.run()
    pd.testing.assert_frame_equal(got, pd.concat(want))


def test_notes_go_with_their_frames():
    df = iso_frame()
    seconds, is_dt = column_to_seconds(df["ts"])
    mark_event_seconds(df, "ts", seconds, is_dt)
    assert noted_seconds(df, "ts") is not None and not df.attrs
    assert noted_seconds(df.copy(), "ts") is None and noted_seconds(df, "v") is None
    key = id(df)
    del df
    gc.collect()
    assert key not in _batch._NOTES


# ------------------------------------------------------------------ frames
@pytest.mark.parametrize("index", [None, pd.RangeIndex(5, 7)])
def test_fresh_frame_is_the_constructor(index):
    def data():
        return {
            "k": pd.array(["a", "b"], dtype="str"),
            "t": pd.DatetimeIndex(np.array([0, 10**9], dtype="datetime64[ns]")),
            "n": np.arange(2),
            "x": np.arange(2.0),
            "o": np.array([None, "z"], dtype=object),
            "b": np.array([True, False]),
        }

    pd.testing.assert_frame_equal(
        fresh_frame(data(), 2, index), pd.DataFrame(data(), index=index, copy=False)
    )


def test_pane_frames_do_not_share_their_key_column():
    src = sn.from_records([{"ts": t / 2, "k": "ab"[t % 2], "v": 1.0} for t in range(8)], time="ts")
    seen = []

    def scribble(df):  # a sink that changes the frames it gets
        seen.append(df["k"].tolist())
        df.loc[df.index[0], "k"] = "z"

    src.window("1s", key="k", agg={"v": "sum"}).sink(scribble)
    src.run()
    assert seen == [["a", "b"]] * 4


def test_batch_and_record_keys_share_codes():
    src = sn.from_records([], time="ts")
    w = src.window("1s", key="k", agg={"v": "sum"})
    out = w.sink_to_list()
    w.update({"ts": 0.1, "k": "BB", "v": 1.0})
    w.update(pd.DataFrame({"ts": [0.2, 0.3], "k": ["AA", "BB"], "v": [2.0, 3.0]}))
    w.update({"ts": 0.4, "k": "AA", "v": 4.0})
    w.on_watermark(math.inf)
    panes = pd.concat(out)
    assert panes["k"].tolist() == ["BB", "AA"]  # codes by first appearance
    assert panes["v_sum"].tolist() == [4.0, 6.0]
