"""stream.detect: alert frames, records vs batches, mark, late data, dead letters, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamnb as sn

R = sn.rules
COLUMNS = ["rule", "patient", "ts", "start", "value", "message", "positions"]


def alerts_of(data, rules, batch, **kwargs):
    src = sn.from_records(data, time="ts", batch=batch)
    det = src.detect(rules, **kwargs)
    out = det.sink_to_list()
    src.run()
    frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return frame, det


def canonical(frame):
    if not len(frame):
        return []
    cols = [c for c in frame.columns if c != "message"]
    return sorted(map(tuple, frame[cols].astype(str).to_numpy().tolist()))


event = st.fixed_dictionaries(
    {
        "ts": st.integers(0, 80).map(lambda q: q / 4),
        "patient": st.sampled_from(["a", "b", "c"]),
        "hr": st.one_of(st.integers(60, 140).map(float), st.just(math.nan)),
        "kind": st.sampled_from(["play", "quiz", "post"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, max_size=60), st.integers(1, 25), st.sampled_from([0, 1, 5]))
def test_records_and_any_batching_give_the_same_alerts(rows, batch, delay):
    rules = [
        R.threshold("hr", above=120, for_=2),
        R.change("hr", by=-30, within=3),
        R.zscore("hr", window=5, z=1.5, min_count=3),
        R.sequence("kind == 'play'", lambda df: df["hr"] > 110, within=4),
        R.absence(3),
        R.predicate("kind == 'post' and hr < 70"),
        R.all_of(R.predicate("hr > 130"), R.predicate("kind == 'quiz'"), within=2, name="both"),
    ]
    one, det1 = alerts_of(rows, rules, None, key="patient", watermark=delay)
    many, det2 = alerts_of(rows, rules, batch, key="patient", watermark=delay)
    assert canonical(one) == canonical(many)
    for c in ("in", "released", "late", "alerts", "dead_letters"):
        assert det1.counters[c] == det2.counters[c], c
    assert det1.counters["in"] == det1.counters["released"] + det1.counters["late"]


def test_alert_frames_have_the_documented_columns_and_types():
    ts = pd.date_range("2026-01-01", periods=6, freq="10s")
    rows = [
        {"ts": t, "patient": "p1", "hr": hr}
        for t, hr in zip(ts, [90, 125, 130, 135, 128, 80], strict=True)
    ]
    frame, det = alerts_of(rows, R.threshold("hr", above=120, for_="20s"), 3, key="patient")
    assert list(frame.columns) == COLUMNS
    a = frame.iloc[0]
    assert a["rule"] == "hr > 120 for 20s"
    assert a["ts"] == ts[3] and a["start"] == ts[1]
    assert frame["ts"].dtype == "datetime64[ns]"
    assert a["value"] == 135.0
    assert a["message"] == "hr above 120 for 20 s (max 135)"
    assert a["positions"] == (1, 3)
    assert det.counters["alerts"] == 1 == det.counters["out"]
    assert det.output_schema()["ts"] == "datetime64[ns]"


def test_alert_times_are_the_event_times_to_the_microsecond():
    feed = sn.vitals(patients=3, seed=3, n=3 * 1800, start="2026-05-01", batch=700)
    det = feed.detect(R.threshold("hr", above=120, for_="30s"), key="patient", watermark=2)
    readings = feed.capture(name="readings_us")
    out = det.sink_to_list()
    feed.run()
    alerts = pd.concat(out, ignore_index=True)
    assert len(alerts)
    triggers = readings.df.iloc[[p[-1] for p in alerts["positions"]]]  # same arrival order
    assert (alerts["ts"].to_numpy() == triggers["ts"].to_numpy()).all()


def test_no_key_several_keys_and_numeric_times():
    rows = [{"ts": t, "a": t % 2, "b": "x", "v": 10.0 * t} for t in range(6)]
    frame, _ = alerts_of(rows, R.predicate("v >= 40"), None)
    assert list(frame.columns) == ["rule", "ts", "start", "value", "message", "positions"]
    assert frame["ts"].tolist() == [4.0, 5.0]
    frame, _ = alerts_of(rows, R.predicate("v >= 40"), 4, key=["a", "b"])
    assert frame[["a", "b"]].values.tolist() == [[0, "x"], [1, "x"]]
    assert frame["a"].dtype == np.int64


def test_out_of_order_events_are_held_until_the_watermark_then_ordered():
    rows = [
        {"ts": 0, "patient": "p", "hr": 130},
        {"ts": 2, "patient": "p", "hr": 130},
        {"ts": 1, "patient": "p", "hr": 90},  # within the watermark: ends the episode
        {"ts": 3, "patient": "p", "hr": 130},
        {"ts": 9, "patient": "p", "hr": 130},
        {"ts": 2.5, "patient": "p", "hr": 10},  # 4 s late for a 2 s watermark
    ]
    src = sn.from_records(rows, time="ts")
    det = src.detect(R.threshold("hr", above=120, for_=2), key="patient", watermark=2)
    out, late = det.sink_to_list(), det.late.sink_to_list()
    assert det.pending == 0
    src.run()
    frame = pd.concat(out)
    assert frame["positions"].tolist() == [(1, 4)]  # the episode restarted at t=2
    assert late == [rows[5]]
    assert det.counters["late"] == 1 and det.counters["released"] == 5
    assert det.watermark == math.inf


def test_alerts_come_out_once_the_watermark_passes_them():
    src = Stream()
    det = src.detect(R.predicate("v > 0"), time="ts", watermark=5)
    out = det.sink_to_list()
    src.emit({"ts": 10, "v": 1})
    assert out == [] and det.pending == 1
    src.emit({"ts": 15, "v": 0})
    assert len(out) == 1 and out[0]["ts"].tolist() == [10.0]
    assert det.watermark == 10.0


def test_mark_passes_every_event_on_with_the_rules_it_matched():
    rows = [{"ts": t, "p": "a", "hr": hr} for t, hr in enumerate([90, 130, 131, 132, 90, 130])]
    rules = [
        R.threshold("hr", above=120, for_=1, name="tachy"),
        R.predicate("hr < 100", name="low"),
    ]
    for batch in (None, 2):
        src = sn.from_records(rows, time="ts", batch=batch)
        det = src.detect(rules, key="p", mark=True)
        out, alerts = det.sink_to_list(), det.alerts.sink_to_list()
        src.run()
        marked = pd.concat(out)
        assert marked["ts"].tolist() == list(range(6))
        assert marked["rules"].tolist() == [
            ("low",),
            (),
            ("tachy",),
            ("tachy",),
            ("low",),
            (),
        ]
        assert list(marked.columns) == ["ts", "p", "hr", "rules"]
        assert pd.concat(alerts)["rule"].tolist() == ["low", "tachy", "low"]


def test_mark_holds_rows_until_released_and_never_keeps_late_ones():
    rows = [{"ts": t, "hr": 130} for t in (0, 5, 1, 6, 2, 9)]  # 1 and 2 are late for W=0
    for batch in (None, 3):
        src = sn.from_records(rows, time="ts", batch=batch)
        det = src.detect(R.threshold("hr", above=120), watermark=0, mark=True)
        out, late = det.sink_to_list(), det.late.sink_to_list()
        src.run()
        assert pd.concat(out)["ts"].tolist() == [0, 5, 6, 9]
        assert sum(len(x) if isinstance(x, pd.DataFrame) else 1 for x in late) == 2
        assert det._held == [] and det._held_records == {}


def test_dead_letters_for_unusable_input_in_both_forms():
    rows = [
        {"ts": 1, "patient": "p", "hr": 130},
        {"ts": "later", "patient": "p", "hr": 130},
        {"ts": 3, "patient": "p", "hr": "fast"},
        {"ts": 4, "patient": "p", "hr": 131},
    ]
    for batch in (None, 4):
        src = Stream()
        det = src.detect(R.threshold("hr", above=120), key="patient", time="ts")
        if batch:
            src.emit(pd.DataFrame(rows))
        else:
            for r in rows:
                src.emit(r)
        where = "column" if batch else "field"
        assert [d["reason"] for d in det.dead_letters.recent] == [
            f"unreadable event time 'later' in {where} 'ts'",
            f"non-numeric value 'fast' in {where} 'hr'",
        ]
        assert [d["position"] for d in det.dead_letters.recent] == [1, 2]
        assert det.counters["dead_letters"] == 2 and det.counters["released"] == 2
    src = Stream()
    det = src.detect(R.threshold("hr", above=120), key="patient", time="ts")
    src.emit({"ts": 2, "hr": 130})
    assert det.dead_letters.recent[0]["reason"] == "key field 'patient' missing"


def test_a_condition_column_missing_is_a_dead_letter():
    src = Stream()
    det = src.detect(R.predicate("spo2 < 90"), time="ts")
    src.emit(pd.DataFrame({"ts": [1, 2], "hr": [1, 2]}))
    src.emit({"ts": 3, "hr": 3})
    assert det.counters["dead_letters"] == 3
    assert "column 'spo2' missing" in det.dead_letters.recent[0]["reason"]
    assert "field 'spo2' missing" in det.dead_letters.recent[2]["reason"]


def flaky(df):
    if (df["hr"] == 666).any():
        raise RuntimeError("bad reading")
    return df["hr"] > 120


@pytest.mark.parametrize("on_error", ["dead_letter", "skip"])
def test_failing_conditions_follow_on_error_and_spare_the_other_rows(on_error):
    rows = [{"ts": t, "hr": hr} for t, hr in enumerate([130, 666, 125, 666, 90, 140])]
    results = []
    for batch in (None, 6):
        frame, det = alerts_of(rows, R.predicate(flaky), batch, on_error=on_error)
        results.append(frame["positions"].tolist())
        assert det.counters["errors"] == 2
        if on_error == "dead_letter":
            assert det.counters["dead_letters"] == 2
            letter = det.dead_letters.recent[0]
            assert letter["position"] == 1 and "RuntimeError" in letter["reason"]
            assert "bad reading" in letter["traceback"]
        else:
            assert det.counters["skipped"] == 2 and det.counters["dead_letters"] == 0
    assert results[0] == results[1] == [(0,), (2,), (5,)]


def test_on_error_raise_lets_the_source_dead_letter_the_item():
    rows = [{"ts": 1, "hr": 666}, {"ts": 2, "hr": 130}]
    src = sn.from_records(rows, time="ts")
    det = src.detect(R.predicate(flaky), on_error="raise")
    out = det.sink_to_list()
    src.run()
    assert src.counters["errors"] == 1 and len(out) == 1
    assert det.counters["errors"] == 1


def test_time_is_inherited_or_required():
    src = sn.from_records([{"when": 1, "v": 1}], time="when")
    det = src.map(dict).detect(R.predicate("v > 0"))
    assert det.time == "when"
    with pytest.raises(ValueError, match="needs time="):
        Stream().detect(R.predicate("v > 0"))


def test_processing_time_reads_the_clock():
    clock = sn.ManualClock(start=100.0)
    src = Stream()
    det = src.detect(R.predicate("v > 0"), time=None, clock=clock)
    out = det.sink_to_list()
    src.emit({"v": 1})
    clock.advance(5)
    src.emit(pd.DataFrame({"v": [0, 2]}))
    frame = pd.concat(out)
    assert frame["time"].tolist() == [100.0, 105.0]


def test_absence_fires_when_a_finite_stream_ends():
    rows = [{"ts": 0, "p": "a"}, {"ts": 0, "p": "b"}, {"ts": 30, "p": "a"}]
    frame, _ = alerts_of(rows, R.absence("10s"), None, key="p")
    assert sorted(zip(frame["p"], frame["ts"], strict=True)) == [("a", 10.0), ("b", 10.0)]
    assert set(frame["message"]) == {"no event for over 10 s"}


def test_bad_settings_fail_before_anything_is_wired():
    src = Stream()
    with pytest.raises(ValueError, match="on_error must be one of"):
        src.detect(R.predicate("v > 0"), time="ts", on_error="ignore")
    with pytest.raises(ValueError, match="two rules are named"):
        src.detect([R.absence(1), R.absence(1)], time="ts")
    with pytest.raises(ValueError, match="cannot read duration"):
        src.detect(R.absence(1), time="ts", watermark="soon")
    assert not src.downstreams


def test_a_live_table_of_alerts_and_the_repr():
    src = sn.from_records([{"ts": t, "v": t} for t in range(5)], time="ts", batch=2)
    det = src.detect(R.predicate("v >= 3", name="big"))
    table = det.plot.table(columns=["rule", "ts", "message"])
    src.run()
    assert table.streamnb.frame()["ts"].tolist() == [3.0, 4.0]
    assert "big" in repr(det) and "pending=0" in repr(det)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_datetime_columns_of_any_unit_with_or_without_missing_times(unit):
    second = "2026-01-01 00:00:01" if unit == "s" else "2026-01-01 00:00:01.500"
    ts = pd.to_datetime(["2026-01-01 00:00:00.000", second, None], format="ISO8601")
    ts = ts.as_unit(unit)
    frame = pd.DataFrame({"ts": ts, "v": [1.0, 2.0, 3.0]})
    for rows in (frame, frame.iloc[:2]):
        src = Stream()
        det = src.detect(R.predicate("v > 0"), time="ts")
        out = det.sink_to_list()
        src.emit(rows)
        det.on_watermark(math.inf)
        got = pd.concat(out)["ts"].tolist()
        assert got == list(ts[:2])
        assert det.counters["dead_letters"] == len(rows) - 2
    tz = frame.assign(ts=frame["ts"].dt.tz_localize("Europe/Paris"))
    src = Stream()
    det = src.detect(R.predicate("v > 0"), time="ts")
    out = det.sink_to_list()
    src.emit(tz.iloc[:2])
    det.on_watermark(math.inf)
    assert pd.concat(out)["ts"].tolist() == [t.tz_convert(None) for t in tz["ts"][:2]]
