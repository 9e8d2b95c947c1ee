"""sn.replay: every format, records vs batches, bad input, conservation, pacing, memory."""

from __future__ import annotations

import json
import math
import os
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamz import Stream

import streamnb as sn

RECORDS = [
    {"ts": 1000.0 + i * 0.5, "symbol": ["ACME", "Ünï", "☃x"][i % 3], "price": 10.0 + i, "n": i}
    for i in range(23)
]


def write(path, records, fmt=None):
    fmt = fmt or path.suffix
    if fmt == ".json":
        path.write_text(json.dumps({"data": records}, ensure_ascii=False), encoding="utf-8")
    elif fmt == "array":
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    elif fmt in (".jsonl", ".ndjson"):
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == ".csv":
        pd.DataFrame(records).to_csv(path, index=False)
    elif fmt == ".parquet":
        pd.DataFrame(records).to_parquet(path)
    return path


def replay_all(path, **kwargs):
    """(events as records, source) after running the replay to its end."""
    src = sn.replay(path, **kwargs)
    out = src.sink_to_list()
    src.run()
    if kwargs.get("batch") is None:
        assert all(isinstance(x, dict) for x in out)
        return out, src
    assert all(isinstance(x, pd.DataFrame) for x in out)
    return [r for df in out for r in df.to_dict("records")], src


def reasons(src):
    return [(d["position"], d["reason"]) for d in src.dead_letters.recent]


def assert_conserved(src):
    c = src.counters
    assert c["read"] == c["events"] + c["dead_letters"] - c["errors"]


# ---------------------------------------------------------------- formats
FORMATS = [
    ("data.json", ".json"),
    ("array.json", "array"),
    ("data.jsonl", ".jsonl"),
    ("data.ndjson", ".ndjson"),
    ("data.csv", ".csv"),
    ("data.parquet", ".parquet"),
]


@pytest.mark.parametrize(("name", "fmt"), FORMATS)
@pytest.mark.parametrize("batch", [None, 1, 4, 23, 1000])
def test_every_format_gives_the_same_events_as_records_or_batches(tmp_path, name, fmt, batch):
    path = write(tmp_path / name, RECORDS, fmt)
    events, src = replay_all(path, time="ts", batch=batch)
    assert events == RECORDS
    assert src.dead_letters.count == 0
    assert src.finished and src.counters["read"] == len(RECORDS)
    if batch is not None:
        assert src.counters["emitted"] == math.ceil(len(RECORDS) / batch)


@pytest.mark.parametrize(("name", "fmt"), FORMATS)
def test_batches_have_k_rows_and_file_positions_as_index(tmp_path, name, fmt):
    path = write(tmp_path / name, RECORDS, fmt)
    src = sn.replay(path, time="ts", batch=10)
    frames = src.sink_to_list()
    src.run()
    assert [len(f) for f in frames] == [10, 10, 3]
    assert [list(f.index) for f in frames] == [
        list(range(0, 10)),
        list(range(10, 20)),
        [20, 21, 22],
    ]


def test_step_and_peek_interleaved_keep_order(tmp_path):
    path = write(tmp_path / "data.jsonl", RECORDS)
    src = sn.replay(path, time="ts")
    got = []
    while True:
        t = src._peek_time()
        item = src.step()
        if item is None:
            assert t is None
            break
        assert t == item["ts"]
        got.append(item)
    assert got == RECORDS and src.finished


def test_registered_on_stream_and_exported(tmp_path):
    path = write(tmp_path / "data.json", RECORDS[:2])
    src = Stream.replay(path, time="ts")
    assert isinstance(src, sn.Replay)
    assert src.step() == RECORDS[0]


# ---------------------------------------------------------------- json documents
def test_pretty_printed_json_with_other_keys_and_tiny_chunks(tmp_path):
    doc = {
        "meta": {"tricky": ['"quoted ] } [ {', "back\\slash\\", {"nested": [1, [2, {}]]}]},
        "count": 12345678901234567890,
        "empty": "",
        "records": RECORDS,
        "after": [1, 2, 3],
    }
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(doc, indent=4, ensure_ascii=False), encoding="utf-8")
    for chunk in (1, 2, 3, 7, 64, 1 << 20):  # boundaries fall inside numbers, strings, escapes
        events, src = replay_all(path, time="ts", key="records", chunk_size=chunk)
        assert events == RECORDS, chunk
        assert src.dead_letters.count == 0


def test_numbers_split_across_chunks_are_read_whole(tmp_path):
    records = [{"ts": 123456.789e-3 * i, "big": 10**30 + i, "neg": -0.000125} for i in range(50)]
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(records, separators=(",", ":")), encoding="utf-8")
    for chunk in (1, 3, 5, 11):
        events, _ = replay_all(path, time="ts", chunk_size=chunk)
        assert events == records, chunk


def test_whitespace_everywhere_and_byte_order_mark(tmp_path):
    text = ' \n\t{ "data" :\r\n [ \n { "ts" : 1 , "s" : "a b" } ,\n\n{"ts":2,"s":"ü"}\n ] \n } \n'
    path = tmp_path / "ws.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    events, _ = replay_all(path, time="ts", chunk_size=4)
    assert events == [{"ts": 1, "s": "a b"}, {"ts": 2, "s": "ü"}]


@pytest.mark.parametrize("text", ["[]", ' {"data": [ ] } ', "[\n]\n"])
def test_empty_arrays_replay_nothing(tmp_path, text):
    path = tmp_path / "empty.json"
    path.write_text(text)
    events, src = replay_all(path, time="ts")
    assert events == [] and src.finished and src.dead_letters.count == 0


def test_json_key_errors_say_what_to_do(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"meta": {"v": 1}, "rows": RECORDS[:2]}))
    with pytest.raises(ValueError, match=r"no 'data' array.*\['meta', 'rows'\].*key="):
        sn.replay(path, time="ts")
    assert replay_all(path, time="ts", key="rows")[0] == RECORDS[:2]
    with pytest.raises(ValueError, match="'meta' holds an object, not an array"):
        sn.replay(path, key="meta")
    (tmp_path / "scalar.json").write_text("42")
    with pytest.raises(ValueError, match=r"scalar\.json.*starts with '4'.*\.jsonl"):
        sn.replay(tmp_path / "scalar.json")
    (tmp_path / "broken.json").write_text('{"meta": [1, 2')
    with pytest.raises(ValueError, match=r"malformed JSON at byte \d+"):
        sn.replay(tmp_path / "broken.json")


# ---------------------------------------------------------------- bad input
BAD = [
    {"ts": 1, "v": 1.0},
    {"v": 2.0},  # 1: time field missing
    {"ts": "oops", "v": 3.0},  # 2: unreadable time
    {"ts": None, "v": 4.0},  # 3: no time
    [1, 2],  # 4: not a record
    "text",  # 5: not a record
    {"ts": "1970-01-01T00:00:07", "v": 7.0},
    {"ts": 8, "v": 8.0},
]


@pytest.mark.parametrize("batch", [None, 1, 2, 3, 100])
@pytest.mark.parametrize("fmt", [".json", "array", ".jsonl"])
def test_bad_json_events_are_dead_letters_with_position(tmp_path, batch, fmt):
    path = write(tmp_path / ("bad.jsonl" if fmt == ".jsonl" else "bad.json"), BAD, fmt)
    events, src = replay_all(path, time="ts", batch=batch)
    assert [e["v"] for e in events] == [1.0, 7.0, 8.0]
    letters = reasons(src)
    assert [p for p, _ in letters] == [1, 2, 3, 4, 5]
    assert "'ts'" in letters[0][1]
    assert letters[1][1].startswith("unreadable event time 'oops'")
    assert letters[2][1].startswith("missing event time")
    assert letters[3][1] == "expected a record (dict), got list"
    assert letters[4][1] == "expected a record (dict), got str"
    assert src.dead_letters.recent[3]["record"] == [1, 2]
    assert src.counters["read"] == len(BAD)
    assert_conserved(src)


def test_malformed_jsonl_line_is_a_dead_letter_and_replay_goes_on(tmp_path):
    lines = [json.dumps(r) for r in RECORDS[:5]]
    lines[2] = '{"ts": 1001.0 "symbol": "ACME"}'
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines[:3]) + "\n\n   \n" + "\n".join(lines[3:]) + "\n")
    for batch in (None, 2):
        events, src = replay_all(path, time="ts", batch=batch)
        assert events == [RECORDS[i] for i in (0, 1, 3, 4)]
        assert reasons(src) == [
            (2, "malformed JSON on line 3 of data.jsonl: Expecting ',' delimiter")
        ]
        assert src.dead_letters.recent[0]["record"] == lines[2]
        assert_conserved(src)


def test_jsonl_line_that_is_not_utf8_is_a_dead_letter(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"ts": 1}\n{"ts": 2, "s": "caf\xe9"}\n{"ts": 3}\n')
    events, src = replay_all(path, time="ts")
    assert events == [{"ts": 1}, {"ts": 3}]
    assert reasons(src)[0][0] == 1 and "line 2 of latin.jsonl is not UTF-8" in reasons(src)[0][1]


@pytest.mark.parametrize("batch", [None, 4])
def test_truncated_json_document_ends_the_replay_with_one_dead_letter(tmp_path, batch):
    text = json.dumps({"data": RECORDS}, ensure_ascii=False)
    path = tmp_path / "cut.json"
    cut = text.index('{"ts": 1005.0')  # record 10 starts here: keep 10 records and a half
    path.write_text(text[: cut + 20], encoding="utf-8")
    events, src = replay_all(path, time="ts", batch=batch, chunk_size=16)
    assert events == RECORDS[:10]
    ((position, reason),) = reasons(src)
    assert position == 10
    assert reason.startswith("malformed JSON at byte ") and "cut.json" in reason
    assert src.dead_letters.recent[0]["record"].startswith('{"ts": 1005.0')
    assert src.finished
    assert_conserved(src)


def test_malformed_json_reports_the_byte_offset_not_the_character(tmp_path):
    raw = '{"data": [{"ts": 1, "s": "ééé☃☃"}, {"ts": 2} x {"ts": 3}]}'.encode()
    path = tmp_path / "junk.json"
    path.write_bytes(raw)
    for chunk in (3, 1 << 20):
        events, src = replay_all(path, time="ts", chunk_size=chunk)
        assert events == [{"ts": 1, "s": "ééé☃☃"}, {"ts": 2}]
        ((position, reason),) = reasons(src)
        assert position == 2
        assert f"at byte {raw.index(b'x')} of junk.json" in reason
        assert "expected ','" in reason


def test_non_utf8_json_document_is_reported(tmp_path):
    path = tmp_path / "latin.json"
    raw = '[{"ts": 1, "s": "ü"}, {"ts": 2, "s": "caf'.encode() + b'\xe9"}, {"ts": 3}]'
    path.write_bytes(raw)
    bad_byte = raw.index(b"\xe9")
    for chunk in (2, 1 << 20):
        events, src = replay_all(path, time="ts", chunk_size=chunk)
        assert events == [{"ts": 1, "s": "ü"}]
        ((position, reason),) = reasons(src)
        assert position == 1
        assert reason.startswith(f"malformed JSON at byte {bad_byte} of latin.json")
        assert "not UTF-8" in reason


def test_oversized_json_record_is_reported_instead_of_buffered(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"ts": 1}, {"ts": 2, "blob": "x" * 5000}, {"ts": 3}]))
    events, src = replay_all(path, time="ts", chunk_size=100, max_record=1000)
    assert events == [{"ts": 1}]
    assert "longer than 1000 characters" in reasons(src)[0][1]


@pytest.mark.parametrize("batch", [None, 2])
def test_csv_blank_time_cell_is_a_dead_letter(tmp_path, batch):
    path = tmp_path / "ticks.csv"
    path.write_text("ts,symbol,price\n1,A,10\n,A,11\n3,B,12\noops,B,13\n5,A,14\n")
    events, src = replay_all(path, time="ts", batch=batch)
    assert [e["price"] for e in events] == [10, 12, 14]
    letters = reasons(src)
    assert [p for p, _ in letters] == [1, 3]
    assert letters[0][1].startswith("missing event time")
    assert letters[1][1].startswith("unreadable event time 'oops'")
    assert_conserved(src)


@pytest.mark.parametrize("batch", [None, 1, 2, 100])
def test_ragged_csv_rows_are_dead_letters_and_every_good_row_is_read(tmp_path, batch):
    path = tmp_path / "ragged.csv"
    path.write_text("ts,v\n1,1\n2,2\n3,3,3,3\n4,4\n5\n6,6\n")
    events, src = replay_all(path, time="ts", batch=batch)
    assert events == [{"ts": t, "v": t} for t in (1, 2, 4, 6)]
    assert reasons(src) == [
        (2, "ragged CSV row 4 of ragged.csv: expected 2 fields, found 4"),
        (4, "ragged CSV row 6 of ragged.csv: expected 2 fields, found 1"),
    ]
    assert [d["record"] for d in src.dead_letters.recent] == ["3,3,3,3", "5"]
    assert src.finished and src.counters["read"] == 6
    assert_conserved(src)


def messy_csv(path, n=3000):
    """A CSV of ``n`` events, many blocks long, with ragged rows and bad times in it."""
    lines = ["ts,k,price"]
    bad = {}
    for i in range(n):
        if i % 701 == 350:
            lines.append(f"{i},k{i % 3},{i}.5,surplus")
            bad[i] = "ragged"
        elif i % 997 == 600:
            lines.append(f"oops,k{i % 3},{i}")
            bad[i] = "oops"
        elif i == n - 1:
            lines.append(f"{i}")
            bad[i] = "ragged"
        else:
            lines.append(f"{i},k{i % 3},{i if i < 1500 else i + 0.25}")
    path.write_text("\n".join(lines) + "\n")
    return bad


@pytest.mark.parametrize("batch", [None, 1, 7, 1000])
@pytest.mark.parametrize("chunk_size", [1024, 1 << 20])
def test_ragged_rows_in_a_file_of_many_blocks_keep_positions(tmp_path, batch, chunk_size):
    path = tmp_path / "messy.csv"
    n = 3000
    bad = messy_csv(path, n)
    assert os.path.getsize(path) > 20 * 1024
    src = sn.replay(path, time="ts", batch=batch, chunk_size=chunk_size)
    out = src.sink_to_list()
    src.run()
    if batch is None:
        rows = [(None, r) for r in out]  # records have no index: check their order
    else:
        assert all(len(f) <= batch for f in out)
        rows = [(int(i), r) for f in out for i, r in f.to_dict("index").items()]
        assert all(i == int(r["ts"]) for i, r in rows)  # the index is the position in the file
    good = [i for i in range(n) if i not in bad]
    assert [int(r["ts"]) for _, r in rows] == good
    # with one block, "oops" makes the time column text (the first block with values decides)
    assert all(float(r["price"]) == int(r["ts"]) + (int(r["ts"]) >= 1500) / 4 for _, r in rows)
    letters = reasons(src)
    assert [p for p, _ in letters] == sorted(bad)
    for p, reason in letters:
        if bad[p] == "ragged":
            want = 4 if p < n - 1 else 1
            assert reason == f"ragged CSV row {p + 2} of messy.csv: expected 3 fields, found {want}"
        else:
            assert reason == "unreadable event time 'oops' in " + (
                "field 'ts'" if batch is None else "column 'ts'"
            )
    assert src.counters["read"] == n == len(rows) + src.dead_letters.count
    assert_conserved(src)


def test_csv_column_types_stay_the_same_across_blocks(tmp_path):
    path = tmp_path / "messy.csv"
    messy_csv(path)
    src = sn.replay(path, time="ts", batch=100, chunk_size=1024)
    frames = src.sink_to_list()
    src.run()
    kinds = {(str(f["ts"].dtype), str(f["k"].dtype), str(f["price"].dtype)) for f in frames}
    # integers; floats where a price has a fraction; "oops" kept as text, so the time
    # column of its batch holds objects: the number 600 and the text of the bad row
    assert kinds <= {
        ("int64", "str", "int64"),
        ("int64", "str", "float64"),
        ("object", "str", "int64"),
        ("object", "str", "float64"),
    }
    assert ("int64", "str", "float64") in kinds
    records = sn.replay(path, time="ts", chunk_size=1024).sink_to_list()
    assert all(type(r["ts"]) is int for r in records)


def test_a_clean_csv_gives_the_same_events_for_any_block_and_batch(tmp_path):
    path = write(tmp_path / "data.csv", RECORDS * 40)
    want = RECORDS * 40
    for chunk in (64, 300, 1 << 20):
        for batch in (None, 1, 9, 1000):
            events, src = replay_all(path, time="ts", batch=batch, chunk_size=chunk)
            assert events == want, (chunk, batch)
            assert [type(v) for v in events[-1].values()] == [float, str, float, int]
            assert src.dead_letters.count == 0


def test_csv_rows_longer_than_a_block_are_read_once(tmp_path):
    records = [{"ts": i, "note": "x" * (10 * i + 1)} for i in range(30)]
    path = write(tmp_path / "long.csv", records)
    for batch in (None, 4):
        events, src = replay_all(path, time="ts", batch=batch, chunk_size=16)
        assert events == records
        assert src.counters["read"] == 30
    events, src = replay_all(path, time="ts", chunk_size=16, max_record=64)
    assert 0 < len(events) < 30 and events == records[: len(events)]
    ((position, reason),) = reasons(src)
    assert position == len(events) and reason.startswith("malformed CSV in long.csv after ")
    assert reason.endswith("the rest of the file is skipped")
    assert_conserved(src)


def test_blank_lines_and_quoted_newlines_do_not_shift_positions(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\nts,v\n1,a\n\n\n2,"x\ny, z"\n3,b,c\n\n4,d\n\n')
    for batch in (None, 2):
        events, src = replay_all(path, time="ts", batch=batch)
        assert events == [{"ts": 1, "v": "a"}, {"ts": 2, "v": "x\ny, z"}, {"ts": 4, "v": "d"}]
        assert reasons(src) == [(2, "ragged CSV row 4 of q.csv: expected 2 fields, found 3")]
        assert_conserved(src)


def test_csv_row_that_is_not_utf8_is_a_dead_letter(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"ts,s\n1,ok\n2,caf\xe9\n3,\xc3\xbc\n")
    for batch in (None, 3):
        events, src = replay_all(path, time="ts", batch=batch)
        assert events == [{"ts": 1, "s": "ok"}, {"ts": 3, "s": "ü"}]
        assert reasons(src) == [(1, "CSV row 3 of latin.csv is not UTF-8 text (column 's')")]
        assert src.dead_letters.recent[0]["record"] == {"ts": b"2", "s": b"caf\xe9"}
        assert_conserved(src)


def test_header_only_and_blank_csv_files_replay_nothing(tmp_path):
    for text in ("ts,v\n", "ts,v", "\n\n"):
        path = tmp_path / "h.csv"
        path.write_text(text)
        events, src = replay_all(path, time="ts", batch=2)
        assert events == [] and src.finished and src.dead_letters.count == 0


def test_parquet_with_null_times(tmp_path):
    df = pd.DataFrame(
        {"ts": pd.to_datetime(["2026-01-01 00:00:00", None, "2026-01-01 00:00:02"]), "v": [1, 2, 3]}
    )
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    for batch in (None, 2):
        events, src = replay_all(path, time="ts", batch=batch)
        assert [e["v"] for e in events] == [1, 3]
        assert [p for p, _ in reasons(src)] == [1]
        assert reasons(src)[0][1].startswith("missing event time")


@pytest.mark.parametrize(("name", "fmt"), [("w.csv", ".csv"), ("w.jsonl", ".jsonl")])
@pytest.mark.parametrize("batch", [None, 3])
def test_non_numeric_value_goes_to_the_windows_dead_letters(tmp_path, name, fmt, batch):
    records = [{"ts": i * 0.4, "k": "a", "price": 1.0} for i in range(8)]
    records[5]["price"] = "ten"
    path = write(tmp_path / name, records, fmt)
    src = sn.replay(path, time="ts", batch=batch)
    w = src.window("1s", key="k", agg={"price": "sum"})
    panes = w.sink_to_list()
    src.run()
    assert src.dead_letters.count == 0
    assert [(d["position"], d["reason"]) for d in w.dead_letters.recent] == [
        (5, "non-numeric value 'ten' in " + ("column" if batch else "field") + " 'price'")
    ]
    last = pd.concat(panes).groupby("window_start")["price_sum"].last()
    assert last.to_dict() == {0.0: 3.0, 1.0: 2.0, 2.0: 2.0}  # event 5 (ts 2.0) is missing
    assert w.counters["in"] == 8


def test_downstream_errors_are_dead_letters_of_the_source(tmp_path):
    path = write(tmp_path / "data.jsonl", RECORDS[:4])
    src = sn.replay(path, time="ts")

    def boom(rec):
        if rec["n"] == 2:
            raise ZeroDivisionError("no")
        return rec

    out = src.map(boom).sink_to_list()
    src.run()
    assert [r["n"] for r in out] == [0, 1, 3]
    assert reasons(src) == [(2, "ZeroDivisionError downstream: no")]
    assert_conserved(src)


def test_conservation_on_a_messy_file(tmp_path):
    rng = np.random.default_rng(7)
    lines = []
    for i in range(500):
        kind = rng.integers(0, 6)
        if kind == 0:
            lines.append('{"ts": ')  # malformed
        elif kind == 1:
            lines.append(json.dumps({"ts": "oops"}))
        elif kind == 2:
            lines.append(json.dumps([i]))
        else:
            lines.append(json.dumps({"ts": i, "v": i}))
    path = tmp_path / "messy.jsonl"
    path.write_text("\n".join(lines))
    for batch in (None, 7):
        events, src = replay_all(path, time="ts", batch=batch)
        good = [json.loads(x) for x in lines if x.startswith('{"ts": ') and '"v"' in x]
        assert events == good
        assert src.counters["read"] == 500 == len(events) + src.dead_letters.count
        assert_conserved(src)


# ---------------------------------------------------------------- errors
def test_unknown_suffix_missing_file_and_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match=r"cannot replay 'x\.txt': use \.json, \.jsonl, \.csv"):
        sn.replay("x.txt")
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl.*no such file"):
        sn.replay(missing)
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(IsADirectoryError, match=r"dir\.csv"):
        sn.replay(tmp_path / "dir.csv")
    path = write(tmp_path / "ok.csv", RECORDS[:2])
    for batch in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch must be a positive int"):
            sn.replay(path, batch=batch)
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        sn.replay(path, chunk_size=0)
    with pytest.raises(ValueError, match="speed must be positive"):
        sn.replay(path, speed=0)
    (tmp_path / "fake.parquet").write_text("not parquet at all")
    with pytest.raises(ValueError, match=r"fake\.parquet.*not a readable parquet file"):
        sn.replay(tmp_path / "fake.parquet")


def test_empty_csv_and_jsonl_files_end_at_once(tmp_path):
    for name in ("e.csv", "e.jsonl"):
        (tmp_path / name).write_text("")
        events, src = replay_all(tmp_path / name, time="ts")
        assert events == [] and src.finished


# ---------------------------------------------------------------- pacing
def drive_live(src):
    """The real live loop, one iteration per call, with no event loop and no sleeping."""
    src.stopped = False
    coro = src._live()

    def tick():
        try:
            coro.send(None)
        except StopIteration:
            return False
        return True

    return coro, tick


@pytest.mark.parametrize("batch", [None, 1])
def test_speed_paces_by_event_time_with_a_manual_clock(tmp_path, batch):
    records = [{"ts": 100 + i * 0.5, "i": i} for i in range(10)]
    path = write(tmp_path / "paced.json", records)
    clock = sn.ManualClock(start=0)
    src = sn.replay(path, time="ts", speed=10, batch=batch, clock=clock, interval=0)
    out = src.sink_to_list()
    coro, tick = drive_live(src)
    try:
        assert tick() and len(out) == 1  # the first event is due at once
        assert tick() and len(out) == 1  # the clock has not moved: nothing more is due
        clock.advance(0.049)  # 0.49 s of event time at speed 10
        assert tick() and len(out) == 1
        counts = []
        for _ in range(8):
            clock.advance(0.05)  # 0.5 s of event time: one more event each tick
            assert tick()
            counts.append(len(out))
        assert counts == [2, 3, 4, 5, 6, 7, 8, 9]
        clock.advance(0.05)
        assert tick() and len(out) == 10 and src.finished
        assert not tick()  # the loop ends after the source finished
    finally:
        coro.close()
    assert len(out) == 10 and src.finished and src.stopped


def test_speed_none_replays_everything_in_one_tick(tmp_path):
    path = write(tmp_path / "fast.csv", RECORDS)
    src = sn.replay(path, time="ts", clock=sn.ManualClock(0), interval=0)
    out = src.sink_to_list()
    coro, tick = drive_live(src)
    try:
        assert tick() and src.finished  # one tick: everything is due at once
        assert not tick()
    finally:
        coro.close()
    assert out == RECORDS and src.finished


def test_pacing_is_by_event_time_not_by_row_count(tmp_path):
    records = [{"ts": t} for t in (0.0, 0.1, 0.2, 5.0, 5.1)]
    path = write(tmp_path / "gap.jsonl", records)
    clock = sn.ManualClock(0)
    src = sn.replay(path, time="ts", speed=1, clock=clock, interval=0)
    out = src.sink_to_list()
    coro, tick = drive_live(src)
    try:
        tick()
        clock.advance(0.25)
        tick()
        assert len(out) == 3
        clock.advance(4.5)  # 4.75 s: still before the gap ends
        tick()
        assert len(out) == 3
        clock.advance(0.3)
        tick()
        assert len(out) == 4
    finally:
        coro.close()


# ---------------------------------------------------------------- memory
def test_a_big_json_document_streams_with_bounded_memory(tmp_path):
    path = tmp_path / "big.json"
    pad = "x" * 200
    n = 0
    with open(path, "w") as f:
        f.write('{"meta": {"source": "test"}, "data": [\n')
        block = 10_000
        while f.tell() < 50_000_000:
            rows = ",\n".join(
                f'{{"ts": {i}, "k": "k{i % 7}", "v": {i % 100}, "pad": "{pad}"}}'
                for i in range(n, n + block)
            )
            f.write(("" if n == 0 else ",\n") + rows)
            n += block
        f.write("\n]}\n")
    size = os.path.getsize(path)
    assert size > 50_000_000
    src = sn.replay(path, time="ts", batch=1000)
    seen = {"rows": 0, "sum": 0}

    def count(df):
        seen["rows"] += len(df)
        seen["sum"] += int(df["v"].sum())

    src.sink(count)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        src.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen["rows"] == n and src.dead_letters.count == 0
    assert seen["sum"] == sum(i % 100 for i in range(n))
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    assert time.perf_counter() - started < 30


# ---------------------------------------------------------------- property
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
elements = st.one_of(
    st.fixed_dictionaries({"ts": st.integers(0, 10**6)}, optional={"x": json_values}),
    json_values,
)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(elements, max_size=12),
    chunk=st.integers(1, 40),
    indent=st.sampled_from([None, 0, 2]),
    wrapped=st.booleans(),
    ascii_only=st.booleans(),
)
def test_incremental_reader_agrees_with_json_load(
    tmp_path_factory, items, chunk, indent, wrapped, ascii_only
):
    path = tmp_path_factory.mktemp("prop") / "p.json"
    doc = {"before": items[:2], "data": items} if wrapped else items
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=ascii_only), encoding="utf-8")
    events, src = replay_all(path, time="ts", chunk_size=chunk)
    want = json.loads(path.read_text(encoding="utf-8"))
    want = want["data"] if wrapped else want
    assert events == [x for x in want if isinstance(x, dict) and isinstance(x.get("ts"), int)]
    assert src.counters["read"] == len(want)
    assert_conserved(src)


@pytest.mark.parametrize("text", ["0.0", "-12.5e-3", "1E+2", "10", "123456789.125"])
def test_numbers_cut_by_chunk_boundaries_anywhere(tmp_path, text):
    path = tmp_path / "n.json"
    path.write_text(f'[{text}, {{"ts": {text}}}, {text}]')
    for chunk in range(1, 8):
        events, src = replay_all(path, time="ts", chunk_size=chunk)
        assert events == [{"ts": json.loads(text)}], chunk
        assert [d["record"] for d in src.dead_letters.recent] == [json.loads(text)] * 2
