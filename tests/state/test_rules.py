"""Every rule against the brute-force oracle, on random out-of-order streams and batch cuts."""

from __future__ import annotations

import math

import numpy as np
import oracle_rules as oracle
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamnb.state.detector import Detector
from streamnb.state.rules import (
    absence,
    all_of,
    any_of,
    change,
    predicate,
    sequence,
    threshold,
    zscore,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

value = st.one_of(st.integers(0, 20).map(float), st.just(math.nan))
event = st.fixed_dictionaries(
    {"t": st.integers(0, 60).map(lambda q: q / 4), "k": st.sampled_from("abc"), "v": value}
)
events_st = st.lists(event, max_size=50)
cuts_st = st.lists(st.integers(1, 9), min_size=1, max_size=6)
delay_st = st.sampled_from([0.0, 0.5, 1.0, 3.0, 100.0])


def run(events, rules, delay, cuts):
    """Alerts of a Detector fed ``events`` in chunks of the sizes in ``cuts`` (cycled)."""
    det = Detector(rules, watermark=delay)
    codes: dict[str, int] = {}
    keys: list[str] = []
    alerts, late = [], []
    i, c = 0, 0
    while i < len(events):
        chunk = events[i : i + cuts[c % len(cuts)]]
        c += 1
        t = np.array([e["t"] for e in chunk])
        code = np.array([codes.setdefault(e["k"], len(codes)) for e in chunk], dtype=np.int64)
        keys[:] = list(codes)
        v = np.array([e["v"] for e in chunk])
        conds = det.evaluate({"v": v}, None, len(chunk))
        out = det.update(t, code, np.arange(i, i + len(chunk)), {"v": v}, conds)
        late.extend((np.flatnonzero(out.late) + i).tolist())
        # nothing is alerted before the watermark has passed it
        assert all(a <= det.watermark for a in out.alerts["time"])
        alerts.extend(_rows(out.alerts, keys))
        i += len(chunk)
    alerts.extend(_rows(det.advance_watermark(math.inf).alerts, list(codes)))
    assert det.pending == 0
    return late, alerts


def _rows(cols, keys):
    return [
        {"rule": r, "key": keys[k], "time": t, "start": s, "positions": p}
        for r, k, t, s, p in zip(
            cols["rule"], cols["code"], cols["time"], cols["start"], cols["positions"], strict=True
        )
    ]


def check(events, rules, delay, cuts, expected_fn):
    late, seqs, top = oracle.released(events, delay)
    got_late, got = run(events, rules, delay, cuts)
    assert got_late == late
    expected = expected_fn(seqs, top)
    assert oracle.canonical(got) == oracle.canonical(expected)
    one_by_one = run(events, rules, delay, [1])[1]
    assert oracle.canonical(one_by_one) == oracle.canonical(expected)
    return got


@SETTINGS
@given(
    events_st,
    cuts_st,
    delay_st,
    st.sampled_from([(10.0, None), (None, 5.0), (14.0, 3.0)]),
    st.sampled_from([0.0, 0.5, 1.0, 2.25]),
)
def test_threshold_matches_the_oracle(events, cuts, delay, bounds, for_):
    above, below = bounds
    rule = threshold("v", above=above, below=below, for_=for_)
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.threshold(events, seqs, rule.name, "v", above, below, for_),
    )


@SETTINGS
@given(
    events_st,
    cuts_st,
    delay_st,
    st.sampled_from([("by", 3.0), ("by", -3.0), ("by", 8.0), ("pct", 20.0), ("pct", -40.0)]),
    st.sampled_from([0.25, 1.0, 2.5]),
)
def test_change_matches_the_oracle(events, cuts, delay, amount, within):
    kind, size = amount
    rule = change("v", **{kind: size}, within=within)
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.change(
            events, seqs, rule.name, "v", within=within, **{kind: size}
        ),
    )


@SETTINGS
@given(
    events_st,
    cuts_st,
    delay_st,
    st.sampled_from([1.0, 2.0, 4.0]),
    st.sampled_from([1.1180339, 1.7320508, 0.7071067]),
    st.sampled_from([2, 3]),
)
def test_zscore_matches_the_oracle(events, cuts, delay, window, z, min_count):
    rule = zscore("v", window=window, z=z, min_count=min_count)
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.zscore(events, seqs, rule.name, "v", window, z, min_count),
    )


CONDS = {
    "v > 12": lambda e: e["v"] > 12,
    "v < 6": lambda e: e["v"] < 6,
    "v >= 8 and v <= 11": lambda e: 8 <= e["v"] <= 11,
    "v is None": lambda e: math.isnan(e["v"]),
}


dense_event = st.fixed_dictionaries(
    {"t": st.integers(0, 40).map(lambda q: q / 4), "k": st.sampled_from("ab"), "v": value}
)


@SETTINGS
@given(
    st.lists(dense_event, max_size=60),
    cuts_st,
    delay_st,
    st.lists(st.sampled_from(sorted(CONDS)), min_size=1, max_size=3),
    st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0]),
)
def test_sequence_matches_the_oracle(events, cuts, delay, steps, within):
    rule = sequence(*steps, within=within)
    fns = [CONDS[s] for s in steps]
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.sequence(events, seqs, rule.name, fns, within),
    )


@SETTINGS
@given(events_st, cuts_st, delay_st, st.sampled_from([0.25, 1.0, 2.0]))
def test_absence_matches_the_oracle(events, cuts, delay, within):
    rule = absence(within)
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.absence(events, seqs, rule.name, within, top),
    )


@SETTINGS
@given(events_st, cuts_st, delay_st, st.sampled_from(sorted(CONDS)))
def test_predicate_matches_the_oracle(events, cuts, delay, cond):
    rule = predicate(cond)
    check(
        events,
        [rule],
        delay,
        cuts,
        lambda seqs, top: oracle.predicate(events, seqs, rule.name, CONDS[cond]),
    )


@SETTINGS
@given(events_st, cuts_st, delay_st, st.sampled_from([0.0, 1.0, 5.0]))
def test_combinators_match_the_oracle(events, cuts, delay, within):
    hot = threshold("v", above=12, for_=0.5)
    low = predicate("v < 6")
    gone = absence(1.0)
    either = any_of(hot, gone, name="either")
    both = all_of(hot, low, within=within, name="both")

    def expected(seqs, top):
        h = oracle.threshold(events, seqs, hot.name, "v", above=12, for_=0.5)
        lo = oracle.predicate(events, seqs, low.name, CONDS["v < 6"])
        g = oracle.absence(events, seqs, gone.name, 1.0, top)
        return oracle.any_of("either", h, g) + oracle.all_of("both", within, h, lo)

    check(events, [either, both], delay, cuts, expected)


@SETTINGS
@given(events_st, cuts_st, delay_st)
def test_several_rules_at_once_are_each_what_they_are_alone(events, cuts, delay):
    rules = [
        threshold("v", above=10, for_=1),
        change("v", by=-4, within=2),
        sequence("v > 12", "v < 6", within=2),
        absence(1.5),
    ]
    together = run(events, rules, delay, cuts)[1]
    alone = [a for r in rules for a in run(events, [r], delay, cuts)[1]]
    assert oracle.canonical(together) == oracle.canonical(alone)
    times = [a["time"] for a in run(events, rules, delay, [len(events) or 1])[1]]
    assert times == sorted(times)  # one update: alerts in time order


# ------------------------------------------------------------------ worked examples
def test_threshold_alerts_once_per_episode_and_rearms():
    events = [
        {"t": float(t), "k": "p", "v": v} for t, v in enumerate([121, 125, 130, 90, 140, 141])
    ]
    _, alerts = run(events, [threshold("v", above=120, for_=1)], 0.0, [1])
    assert [(a["time"], a["positions"]) for a in alerts] == [(1.0, (0, 1)), (5.0, (4, 5))]


def test_late_events_are_not_seen_by_the_rules():
    events = [{"t": 10.0, "k": "p", "v": 1.0}, {"t": 2.0, "k": "p", "v": 99.0}]
    late, alerts = run(events, [predicate("v > 50")], 1.0, [1])
    assert late == [1] and alerts == []


def test_an_episode_spanning_batches_keeps_its_start_and_extremes():
    det = Detector([threshold("v", above=5, for_=3)])
    zero = np.zeros(1, dtype=np.int64)
    no_conds = np.zeros((1, 0), dtype=bool)
    msgs = []
    for i, (t, v) in enumerate([(0.0, 9.0), (1.0, 7.0), (2.0, 6.0), (3.0, 8.0)]):
        out = det.update(np.array([t]), zero, np.array([i]), {"v": np.array([v])}, no_conds)
        msgs += out.alerts["message"]
    assert msgs == ["v above 5 for 3 s (max 9)"]


def test_sequence_restarts_after_a_match():
    events = [{"t": float(t), "k": "p", "v": v} for t, v in enumerate([13, 2, 3, 13, 13, 1, 2])]
    _, alerts = run(events, [sequence("v > 12", "v < 6", within=5)], 0.0, [3])
    assert [a["positions"] for a in alerts] == [(0, 1), (4, 5)]


def test_sequence_reports_the_latest_start_and_the_earliest_steps_after_it():
    values = [13, 13, 9, 10, 13, 9, 10, 2]  # start, step 2 (twice), step 3
    events = [{"t": float(t), "k": "p", "v": v} for t, v in enumerate(values)]
    rule = sequence("v > 12", "v >= 8 and v <= 11", "v < 6", within=10)
    _, alerts = run(events, [rule], 0.0, [8])
    assert [a["positions"] for a in alerts] == [(4, 5, 7)]


def test_all_of_remembers_sub_alerts_across_updates():
    events = [
        {"t": 0.0, "k": "p", "v": 13.0},  # hot
        {"t": 1.0, "k": "q", "v": 1.0},  # low, another key
        {"t": 2.0, "k": "p", "v": 1.0},  # low: both within 5 s
    ]
    rule = all_of(predicate("v > 12"), predicate("v < 6"), within=5, name="both")
    _, alerts = run(events, [rule], 0.0, [1])
    assert [(a["key"], a["time"], a["positions"]) for a in alerts] == [("p", 2.0, (0, 2))]


def test_absence_at_the_end_uses_the_last_event_time_not_infinity():
    events = [{"t": 0.0, "k": "a", "v": 1.0}, {"t": 0.0, "k": "b", "v": 1.0}]
    events += [{"t": 5.0, "k": "a", "v": 1.0}]
    _, alerts = run(events, [absence(2)], 0.0, [2])
    assert [(a["key"], a["time"]) for a in alerts] == [("a", 2.0), ("b", 2.0)]
    _, alerts = run(events[:2], [absence(2)], 0.0, [2])
    assert alerts == []  # the data ends at t=0: no one has been silent for 2 s


def test_detector_rejects_duplicate_names_and_non_rules():
    with pytest.raises(ValueError, match="two rules are named"):
        Detector([threshold("v", above=1), threshold("v", above=1)])
    with pytest.raises(TypeError, match="not a rule"):
        Detector(["v > 1"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="watermark must be"):
        Detector([absence(1)], watermark=-1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: threshold("hr"), "needs above= or below="),
        (lambda: threshold("hr", above=10, below=20), "greater than above"),
        (lambda: threshold("hr", above=10, for_="-1s"), "for_ must be"),
        (lambda: threshold("hr", above="high"), "above must be a number"),
        (lambda: change("hr", within="1min"), "exactly one of by= or pct="),
        (lambda: change("hr", by=0), "must not be 0"),
        (lambda: change("hr", by=1, within=0), "within must be a positive"),
        (lambda: zscore("hr", z=-1), "z must be positive"),
        (lambda: zscore("hr", min_count=1), "min_count must be an int >= 2"),
        (lambda: sequence(within=1), "at least one condition"),
        (lambda: sequence("hr >", within=1), "cannot parse condition"),
        (lambda: sequence(42, within=1), "a condition is an expression string"),
        (lambda: absence(0), "within must be a positive"),
        (lambda: any_of(), "at least one rule"),
        (lambda: all_of("hr > 1"), "takes rules"),
        (lambda: threshold(3, above=1), "needs a column name"),
    ],
)
def test_rule_settings_are_checked(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()
