"""stream.capture: filtering, bounded memory with counted eviction, SQL over all captures."""

from __future__ import annotations

import pandas as pd
import pytest
from streamz import Stream

import streamnb as sn
from streamnb.operators.capture import captures, sql


def rows(n, start=0):
    return [{"ts": float(t), "who": f"s{t % 3}", "v": t} for t in range(start, start + n)]


@pytest.mark.parametrize("batch", [None, 1, 4, 100])
def test_where_columns_and_counters_for_records_and_batches(batch):
    src = sn.from_records(rows(20), time="ts", batch=batch)
    cap = src.capture(where="v % 2 == 0 and who != 's0'", columns=["who", "v"])
    downstream = cap.sink_to_list()
    src.run()
    df = cap.df
    assert list(df.columns) == ["who", "v"]
    assert df["v"].tolist() == [2, 4, 8, 10, 14, 16]
    c = cap.counters
    assert c["in"] == 20 and c["out"] == 6 and c["filtered"] == 14 and c["evicted"] == 0
    assert len(cap) == 6
    assert sum(len(x) if isinstance(x, pd.DataFrame) else 1 for x in downstream) == 6


@pytest.mark.parametrize("batch", [None, 3, 7, 50])
def test_eviction_keeps_the_newest_rows_and_counts_the_rest(batch):
    src = sn.from_records(rows(50), time="ts", batch=batch)
    cap = src.capture(max_rows=8)
    src.run()
    assert cap.df["v"].tolist() == list(range(42, 50))
    assert cap.evicted == 42
    assert cap.counters["in"] == cap.counters["out"] == 50
    assert len(cap) + cap.evicted == 50


def test_memory_stays_bounded_while_records_stream_in():
    src = Stream()
    cap = src.capture(max_rows=100)
    for r in rows(5000):
        src.emit(r)
        assert len(cap._records) <= 1024 and cap._rows <= 100
    assert len(cap) == 100 and cap.evicted == 4900


def test_where_as_a_callable_and_none():
    src = sn.from_records(rows(6), time="ts", batch=4)
    odd = src.capture(where=lambda df: df["v"] % 2 == 1)
    everything = src.capture()
    src.run()
    assert odd.df["v"].tolist() == [1, 3, 5]
    assert len(everything) == 6


def test_failing_where_and_missing_columns_are_dead_letters():
    def picky(df):
        if (df["v"] == 3).any():
            raise ValueError("three")
        return df["v"] > 0

    for batch in (None, 6):
        src = sn.from_records(rows(6), time="ts", batch=batch)
        cap = src.capture(where=picky)
        src.run()
        assert cap.df["v"].tolist() == [1, 2, 4, 5]
        assert cap.counters["errors"] == 1 and cap.counters["dead_letters"] == 1
        assert cap.counters["filtered"] == 1
        assert "ValueError" in cap.dead_letters.recent[0]["reason"]
    src = Stream()
    cap = src.capture(where="missing > 1", columns=["v"])
    src.emit({"v": 1})
    src.emit(pd.DataFrame({"v": [1, 2]}))
    assert cap.counters["dead_letters"] == 3 and len(cap) == 0


def test_sql_sees_every_live_capture_and_joins_them():
    src = sn.from_records(rows(12), time="ts", batch=5)
    scores = src.capture(name="scores_t")
    lookup = Stream()
    lookup.capture(name="names_t")
    lookup.emit(pd.DataFrame({"who": ["s0", "s1", "s2"], "label": ["zero", "one", "two"]}))
    src.run()
    out = scores.sql(
        "select n.label, count(*) as n, sum(s.v) as total from scores_t s "
        "join names_t n using (who) group by n.label order by n.label"
    )
    assert out.to_dict("list") == {
        "label": ["one", "two", "zero"],
        "n": [4, 4, 4],
        "total": [22.0, 26.0, 18.0],
    }
    assert sql("select count(*) as c from names_t")["c"].tolist() == [3]
    assert {"scores_t", "names_t"} <= set(captures())


def test_sql_sees_a_snapshot_while_the_stream_runs():
    src = sn.market(seed=1, n=3000, start=0, batch=500, interval=1.0)
    cap = src.capture(columns=["symbol", "price"], name="ticks_live")
    counts = []
    while src.step() is not None:
        counts.append(int(cap.sql("select count(*) as n from ticks_live")["n"][0]))
    assert counts == sorted(counts) and counts[-1] == 3000


def test_default_names_count_up_and_a_name_given_twice_names_the_newer_capture():
    a, b = Stream().capture(), Stream().capture()
    na, nb = int(a.name.split("_")[1]), int(b.name.split("_")[1])
    assert a.name.startswith("capture_") and nb > na
    first, second = Stream(), Stream()
    old = first.capture(name="twice")
    first.emit({"x": 1})
    new = second.capture(name="twice")
    second.emit({"x": 2})
    assert captures()["twice"] is new
    assert sql("select x from twice")["x"].tolist() == [2]
    assert old.df["x"].tolist() == [1]  # the old capture keeps its rows


def test_destroyed_captures_leave_the_registry():
    cap = Stream().capture(name="gone_soon")
    assert captures()["gone_soon"] is cap
    cap.destroy()
    assert "gone_soon" not in captures()


def test_unknown_tables_name_the_live_captures():
    Stream().capture(name="known_one")
    with pytest.raises(ValueError, match=r"live captures are .*known_one"):
        sql("select * from nowhere")
    with pytest.raises(ValueError, match=r"captures with no data yet: \['known_one'\]"):
        sql("select * from known_one")
    typed = Stream().capture(columns=["a", "b"], name="typed_empty")
    assert list(typed.sql("select * from typed_empty").columns) == ["a", "b"]


def test_parquet_round_trip_keeps_types(tmp_path):
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=3, freq="s"),
            "who": ["a", "b", "c"],
            "v": [1.5, None, 3.0],
            "n": [1, 2, 3],
        }
    )
    src = sn.from_records(frame, time="ts", batch=2)
    cap = src.capture()
    src.run()
    back = pd.read_parquet(cap.to_parquet(tmp_path / "cap.parquet"))
    pd.testing.assert_frame_equal(back, cap.df, check_dtype=False)
    assert back["ts"].dtype.kind == "M" and back["n"].dtype.kind == "i"


def test_captured_alerts_can_be_queried():
    feed = sn.vitals(patients=4, seed=2, n=4 * 1800, start="2026-01-02", batch=1000)
    alerts = feed.detect(
        sn.rules.threshold("hr", above=120, for_="30s"), key="patient", watermark=2
    )
    cap = alerts.capture(name="alerts_q")
    feed.run()
    out = cap.sql("select patient, count(*) as n from alerts_q group by patient")
    assert out["n"].sum() == len(cap) == alerts.counters["alerts"] > 0


def test_plot_table_starts_from_what_is_captured():
    src = sn.from_records(rows(10), time="ts", batch=5)
    cap = src.capture(max_rows=6)
    src.step()
    view = cap.plot.table(columns=["who", "v"], length=4)
    assert view.streamnb.frame()["v"].tolist() == [1, 2, 3, 4]
    src.run()
    assert view.streamnb.frame()["v"].tolist() == [6, 7, 8, 9]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_rows": 0}, "max_rows must be a positive int"),
        ({"name": "not a name"}, "must be an SQL identifier"),
        ({"name": "1abc"}, "must be an SQL identifier"),
        ({"on_error": "shrug"}, "on_error must be one of"),
        ({"where": "v >"}, "cannot parse condition"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Stream().capture(**kwargs)


def test_repr():
    cap = Stream().capture(name="shown")
    assert "shown" in repr(cap) and "rows=0" in repr(cap)
    assert list(cap.df.columns) == []
