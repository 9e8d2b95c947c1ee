"""Batches a source has already read: the window trusts a source's note on the event times."""

from __future__ import annotations

import numpy as np
import pandas as pd

import streamnb as sn
from streamnb.operators import _batch
from streamnb.operators._batch import EVENT_SECONDS, mark_event_seconds
from streamnb.state.timeparse import column_to_seconds


def frame():
    ts = pd.date_range("2026-11-25", periods=6, freq="700ms").strftime("%Y-%m-%dT%H:%M:%S.%f")
    return pd.DataFrame({"ts": list(ts[[0, 1, 2, 5, 3, 4]]), "v": np.arange(6.0)})


def run(df, monkeypatch=None):
    calls = []
    if monkeypatch is not None:

        def counting(col):
            calls.append(len(col))
            return column_to_seconds(col)

        monkeypatch.setattr(_batch, "column_to_seconds", counting)
    src = sn.from_records([], time="ts")
    w = src.window("1s", agg={"v": "sum"}, watermark=0)
    out, late = w.sink_to_list(), w.late.sink_to_list()
    w.update(df)
    w.on_watermark(np.inf)
    return pd.concat(out, ignore_index=True), late, calls


def test_a_noted_batch_is_not_read_twice(monkeypatch):
    want, want_late, _ = run(frame())
    df = frame()
    seconds, is_dt = column_to_seconds(df["ts"])
    mark_event_seconds(df, "ts", seconds, is_dt)
    got, late, calls = run(df, monkeypatch)
    assert calls == []  # the window used the note
    pd.testing.assert_frame_equal(got, want)
    assert len(late) == 1 and late[0]["v"].tolist() == [4.0, 5.0]  # [2, 3) ended at W=3.5
    pd.testing.assert_frame_equal(late[0], want_late[0])
    assert EVENT_SECONDS not in late[0].attrs


def test_a_derived_batch_reads_its_own_times(monkeypatch):
    df = frame()
    seconds, is_dt = column_to_seconds(df["ts"])
    mark_event_seconds(df, "ts", seconds, is_dt)
    reordered = df.iloc[::-1]  # same length, other rows: the note must not apply
    want, _, _ = run(frame().iloc[::-1])
    got, _, calls = run(reordered, monkeypatch)
    assert calls == [6]
    pd.testing.assert_frame_equal(got, want)


def test_a_note_on_another_column_is_ignored(monkeypatch):
    df = frame()
    mark_event_seconds(df, "other", np.zeros(6), False)
    _, _, calls = run(df, monkeypatch)
    assert calls == [6]
