"""sn.from_records: records and DataFrames, batches, bad input, pacing, downstream errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import streamnb as sn

RECORDS = [{"ts": i * 0.5, "k": "ab"[i % 2], "v": float(i)} for i in range(11)]


def run_all(data, **kwargs):
    src = sn.from_records(data, **kwargs)
    out = src.sink_to_list()
    src.run()
    if kwargs.get("batch") is None:
        return out, src
    assert all(isinstance(x, pd.DataFrame) for x in out)
    return [r for df in out for r in df.to_dict("records")], src


def letters(src):
    return [(d["position"], d["reason"]) for d in src.dead_letters.recent]


@pytest.mark.parametrize("as_frame", [False, True])
@pytest.mark.parametrize("batch", [None, 1, 3, 11, 50])
def test_records_and_frames_give_the_same_events(as_frame, batch):
    data = pd.DataFrame(RECORDS) if as_frame else RECORDS
    events, src = run_all(data, time="ts", batch=batch)
    assert events == RECORDS
    assert src.finished and src.counters["events"] == len(RECORDS)
    assert src.counters["emitted"] == (len(RECORDS) if batch is None else math.ceil(11 / batch))


def test_step_emits_one_item_at_a_time_then_none():
    src = sn.from_records(RECORDS[:3], time="ts")
    out = src.sink_to_list()
    assert len(src) == 3 and src.remaining == 3
    assert src.step() == RECORDS[0] and out == RECORDS[:1] and src.remaining == 2
    assert src.step() == RECORDS[1]
    assert src.step() == RECORDS[2]
    assert not src.finished
    assert src.step() is None and src.finished
    assert out == RECORDS[:3]


def test_end_of_a_finite_source_fires_every_open_window():
    src = sn.from_records(RECORDS, time="ts")
    w = src.window("2s", agg={"v": "sum"})
    out = w.sink_to_list()
    for _ in range(len(RECORDS)):
        src.step()
    fired = [r["window_start"] for df in out for r in df.to_dict("records")]
    assert fired == [0.0, 2.0]  # the watermark is 5.0: [4, 6) is still open
    assert src.step() is None  # the end: the final watermark fires the rest
    fired = [r["window_start"] for df in out for r in df.to_dict("records")]
    assert fired == [0.0, 2.0, 4.0]


BAD = [
    {"ts": 1, "v": 1},
    {"v": 2},  # 1: field missing
    {"ts": "oops", "v": 3},  # 2: unreadable
    {"ts": None, "v": 4},  # 3: no time
    {"ts": float("nan"), "v": 5},  # 4: NaN time
    ["ts", 6],  # 5: not a record
    None,  # 6: not a record
    {"ts": True, "v": 8},  # 7: a bool is not a time
    {"ts": "2026-01-01T00:00:00", "v": 9},
]


def test_bad_records_are_dead_letters_with_reason_and_position():
    events, src = run_all(BAD, time="ts")
    assert [e["v"] for e in events] == [1, 9]
    got = letters(src)
    assert [p for p, _ in got] == [1, 2, 3, 4, 5, 6, 7]
    assert got[0][1] == "field 'ts' missing; fields are ['v']"
    assert got[1][1] == "unreadable event time 'oops' in field 'ts'"
    assert got[2][1] == got[3][1] == "missing event time in field 'ts'"
    assert got[4][1] == "expected a record (dict), got list"
    assert got[5][1] == "expected a record (dict), got NoneType"
    assert "True" in got[6][1]
    assert src.dead_letters.recent[0]["record"] == {"v": 2}
    assert src.counters["events"] + src.counters["dead_letters"] == len(BAD)


@pytest.mark.parametrize("batch", [1, 2, 4, 100])
def test_bad_records_in_batches(batch):
    events, src = run_all(BAD, time="ts", batch=batch)
    assert [e["v"] for e in events] == [1, 9]
    assert src.dead_letters.count == 7  # positions: see the test below
    assert src.counters["events"] + src.counters["dead_letters"] == len(BAD)


@pytest.mark.parametrize("batch", [1, 2, 4, 100])
def test_dead_letter_positions_point_at_the_input_in_batches(batch):
    _, src = run_all(BAD, time="ts", batch=batch)
    for letter in src.dead_letters.recent:
        original = BAD[letter["position"]]
        if isinstance(original, dict):
            assert letter["record"]["v"] == original["v"], letter
        else:
            assert letter["record"] == original, letter
    got = [letter["position"] for letter in src.dead_letters.recent]
    assert got == [1, 2, 3, 4, 5, 6, 7]  # in input order too


@pytest.mark.parametrize("as_frame", [False, True])
@pytest.mark.parametrize("batch", [1, 2, 4, 100])
def test_batch_rows_carry_their_input_positions_as_index(batch, as_frame):
    data = [r if isinstance(r, dict) else {"v": -1} for r in BAD] if as_frame else BAD
    src = sn.from_records(pd.DataFrame(data) if as_frame else data, time="ts", batch=batch)
    frames = src.sink_to_list()
    src.run()
    rows = [(int(i), r) for f in frames for i, r in f.to_dict("index").items()]
    assert [(i, r["v"]) for i, r in rows] == [(0, 1), (8, 9)]
    dead = [d["position"] for d in src.dead_letters.recent]
    assert sorted([i for i, _ in rows] + dead) == list(range(len(BAD)))  # each position once


def test_reasons_show_plain_values_not_numpy_reprs():
    df = pd.DataFrame({"ts": [True, False], "v": [1.0, 2.0]})
    for batch in (None, 2):
        _, src = run_all(df, time="ts", batch=batch)
        where = "column" if batch else "field"
        assert [r for _, r in letters(src)] == [
            f"unreadable event time True in {where} 'ts'",
            f"unreadable event time False in {where} 'ts'",
        ]
        assert type(src.dead_letters.recent[0]["record"]["ts"]) is bool
    records = [{"ts": np.True_}, {"ts": np.float64("nan")}, {"ts": np.datetime64("NaT")}]
    _, src = run_all(records, time="ts")
    got = [r for _, r in letters(src)]
    assert got == [
        "unreadable event time True in field 'ts'",
        "missing event time in field 'ts'",
        "missing event time in field 'ts'",
    ]
    obj = pd.DataFrame({"ts": pd.Series([np.float64(1.0), np.str_("x")], dtype=object)})
    _, src = run_all(obj, time="ts", batch=2)
    assert letters(src) == [(1, "unreadable event time 'x' in column 'ts'")]


def test_bad_rows_of_a_dataframe():
    df = pd.DataFrame(
        {"ts": ["1970-01-01 00:00:01", None, "oops", "1970-01-01 00:00:04"], "v": [1, 2, 3, 4]}
    )
    for batch in (None, 2, 10):
        events, src = run_all(df, time="ts", batch=batch)
        assert [e["v"] for e in events] == [1, 4]
        got = letters(src)
        assert [p for p, _ in got] == [1, 2]
        assert "oops" in got[1][1]


def test_missing_time_column_in_a_dataframe():
    df = pd.DataFrame({"t": [1, 2, 3]})
    events, src = run_all(df, time="ts", batch=2)
    assert events == []
    assert [p for p, _ in letters(src)] == [0, 1, 2]
    assert letters(src)[0][1] == "column 'ts' missing; columns are ['t']"


@pytest.mark.parametrize("batch", [None, 3])
def test_datetime_column_with_nat(batch):
    df = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01", None, "2026-01-02"]), "v": [1, 2, 3]})
    events, src = run_all(df, time="ts", batch=batch)
    assert [e["v"] for e in events] == [1, 3]
    where = "column" if batch else "field"
    assert letters(src) == [(1, f"missing event time in {where} 'ts'")]


def test_time_none_accepts_any_record_and_still_rejects_non_records():
    events, src = run_all([{"a": 1}, {"b": None}, 3], time=None)
    assert events == [{"a": 1}, {"b": None}]
    assert letters(src) == [(2, "expected a record (dict), got int")]


def test_downstream_exception_is_a_dead_letter_and_the_source_goes_on():
    src = sn.from_records(RECORDS[:4], time="ts")
    out = src.map(lambda r: 1 / (r["v"] - 2)).sink_to_list()
    src.run()
    assert out == [-0.5, -1.0, 1.0]
    ((position, reason),) = letters(src)
    assert position == 2 and reason.startswith("ZeroDivisionError downstream")
    letter = src.dead_letters.recent[0]
    assert isinstance(letter["error"], ZeroDivisionError) and "Traceback" in letter["traceback"]
    assert src.counters["errors"] == 1


@pytest.mark.parametrize("batch", [0, -2, 1.5, "3"])
def test_bad_batch_is_refused(batch):
    with pytest.raises(ValueError, match="batch must be a positive int or None"):
        sn.from_records(RECORDS, batch=batch)


@pytest.mark.parametrize("speed", [0, -1])
def test_bad_speed_is_refused(speed):
    with pytest.raises(ValueError, match="speed must be positive or None"):
        sn.from_records(RECORDS, speed=speed)


def test_live_pacing_with_a_manual_clock():
    clock = sn.ManualClock(start=50)
    data = [{"ts": t} for t in (10.0, 10.5, 11.0, 13.0)]
    src = sn.from_records(data, time="ts", speed=2, clock=clock, interval=0)
    out = src.sink_to_list()
    src.stopped = False
    coro = src._live()  # the live loop, one iteration per send(): no event loop, no sleeping
    try:
        coro.send(None)
        assert len(out) == 1
        clock.advance(0.25)  # 0.5 s of event time
        coro.send(None)
        assert len(out) == 2
        clock.advance(0.5)  # 1.5 s: 13.0 is not due yet
        coro.send(None)
        assert len(out) == 3
        src.pause()
        clock.advance(5)  # paused time does not count
        coro.send(None)
        assert len(out) == 3
        src.resume()
        clock.advance(0.74)
        coro.send(None)
        assert len(out) == 3
        clock.advance(0.02)
        coro.send(None)
        assert len(out) == 4 and src.finished
    finally:
        coro.close()


def test_peek_time_reads_the_next_usable_time():
    src = sn.from_records(pd.DataFrame({"ts": [3.0, np.nan, 5.0]}), time="ts")
    assert src._peek_time() == 3.0
    src.step()
    assert src._peek_time() is None  # the next row has no time
    src.step()
    assert src._peek_time() is None
