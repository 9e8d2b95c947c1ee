"""Key columns of every kind give the same windows in batches and record by record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamnb as sn
from streamnb.state.keys import KeyEncoder

# same-length strings take the arrow fast path; NUL, accents and emoji test the byte reading
alphabet = st.sampled_from(["a", "b", "\x00", "é", "☃", "Z"])


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(alphabet, min_size=1, max_size=4), min_size=1, max_size=30),
    width=st.sampled_from([None, 1, 2, 3, 4, 5, 8]),
    start=st.integers(0, 5),
)
def test_encode_column_agrees_with_encode_one(words, width, start):
    if width is not None:  # pad or cut every word to one byte length
        words = [w.encode()[:width].ljust(width, b"_").decode(errors="replace") for w in words]
        words = [w if len(w.encode()) == width else "_" * width for w in words]
    enc, ref = KeyEncoder(), KeyEncoder()
    for w in words[:start]:  # some keys seen before, record by record
        enc.encode_one(w)
        ref.encode_one(w)
    col = pd.Series(words[1:] + words[:1], dtype="str").iloc[1:]  # a slice: offset > 0
    want = [ref.encode_one(w) for w in col.tolist()]
    assert enc.encode_column(col).tolist() == want
    assert enc.values == ref.values


@pytest.mark.parametrize(
    "keys",
    [
        ["AAPL", "MSFT", "AAPL", "GOOG"],
        ["a", "bb", "a", None],
        [1, 2, 1, 3],
        [1.5, np.nan, 1.5, None],
        [True, False, True, True],
    ],
)
@pytest.mark.parametrize("batch", [None, 2, 10])
def test_batches_and_records_give_the_same_key_column(keys, batch):
    records = [{"ts": i * 0.4, "k": k, "v": 1} for i, k in enumerate(keys)]
    src = sn.from_records(records, time="ts", batch=batch)
    w = src.window("1s", key="k", agg={"v": "sum"})
    out = w.sink_to_list()
    src.run()
    got = pd.concat(out, ignore_index=True)
    ref_src = sn.from_records(records, time="ts")
    ref_w = ref_src.window("1s", key="k", agg={"v": "sum"})
    ref = ref_w.sink_to_list()
    ref_src.run()
    want = pd.concat(ref, ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
