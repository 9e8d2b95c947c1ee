"""apply / keep: user code under an error policy; nothing is lost, everything is counted."""

from __future__ import annotations

import pytest

import streamnb as sn


def _src(n=9):
    return sn.from_records([{"ts": t, "v": t % 3} for t in range(n)], time="ts")


@pytest.mark.parametrize("policy", ["dead_letter", "skip"])
def test_failing_events_are_counted_and_the_stream_goes_on(policy):
    src = _src()
    inv = src.apply(lambda r: 1 / r["v"], on_error=policy)
    out = inv.sink_to_list()
    src.run()
    assert len(out) == 6
    assert inv.counters["errors"] == 3 and inv.counters["in"] == 9
    assert inv.counters["in"] == inv.counters["out"] + inv.counters["errors"]
    expected_letters = 3 if policy == "dead_letter" else 0
    assert inv.dead_letters.count == expected_letters
    if policy == "dead_letter":
        letter = inv.dead_letters.recent[0]
        assert letter["record"] == {"ts": 0, "v": 0} and letter["position"] == 0
        assert "ZeroDivisionError" in letter["traceback"]


def test_raise_propagates_to_the_source_which_dead_letters_and_goes_on():
    src = _src()
    inv = src.apply(lambda r: 1 / r["v"], on_error="raise")
    out = inv.sink_to_list()
    src.run()
    assert len(out) == 6 and inv.counters["errors"] == 3
    assert src.counters["errors"] == 3 and src.dead_letters.count == 3
    assert src.dead_letters.recent[0]["failed_node"] is inv


def test_keep_counts_what_it_filters_and_conserves_events():
    src = _src(12)
    kept = src.keep(lambda r: 10 / r["v"] > 6)  # v == 0 raises, v == 2 is filtered
    out = kept.sink_to_list()
    src.run()
    c = kept.counters
    assert len(out) == c["out"] == 4 and c["filtered"] == 4 and c["errors"] == 4
    assert c["in"] == c["out"] + c["filtered"] + c["errors"]


def test_apply_works_on_batches():
    src = sn.from_records([{"ts": t, "v": float(t)} for t in range(10)], time="ts", batch=4)
    doubled = src.apply(lambda df: df.assign(v=df["v"] * 2))
    out = doubled.sink_to_list()
    src.run()
    assert [len(b) for b in out] == [4, 4, 2]
    assert out[-1]["v"].tolist() == [16.0, 18.0]


def test_bad_arguments_are_refused():
    src = _src()
    with pytest.raises(ValueError, match="on_error must be one of dead_letter, skip, raise"):
        src.apply(str, on_error="ignore")
    with pytest.raises(TypeError, match="needs a function"):
        src.keep(42)
