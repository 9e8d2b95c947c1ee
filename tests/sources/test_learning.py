"""sn.learning: determinism, the events it makes, and drop-outs found by absence per student."""

from __future__ import annotations

import pandas as pd
import pytest

import streamnb as sn

BASE = {"students": 12, "courses": 2, "seed": 4, "n": 6000, "start": "2026-01-05"}


def frame(items):
    if isinstance(items[0], pd.DataFrame):
        return pd.concat(items, ignore_index=True)
    return pd.DataFrame.from_records(items)


def run_feed(**kwargs):
    feed = sn.learning(**kwargs)
    out = feed.sink_to_list()
    feed.run()
    return frame(out), feed


def step_feed(**kwargs):
    feed = sn.learning(**kwargs)
    out = feed.sink_to_list()
    while feed.step() is not None:
        pass
    return frame(out), feed


def test_same_seed_same_events_however_driven():
    ran, feed = run_feed(**BASE, batch=1000)
    assert len(ran) == 6000
    for driver, batch in [(run_feed, 13), (run_feed, None), (step_feed, 1000)]:
        got, other = driver(**BASE, batch=batch)
        pd.testing.assert_frame_equal(got, ran, obj=f"{driver.__name__} batch={batch}")
        pd.testing.assert_frame_equal(other.dropouts, feed.dropouts)
    other, _ = run_feed(**{**BASE, "seed": 5}, batch=1000)
    assert not other["ts"].equals(ran["ts"])


def test_events_make_sense():
    events, feed = run_feed(**{**BASE, "disorder": 0.0}, batch=1000)
    assert list(events.columns) == [
        "seq",
        "ts",
        "student",
        "course",
        "event",
        "item",
        "position",
        "score",
    ]
    assert events["ts"].is_monotonic_increasing
    assert set(events["event"]) == {"play", "pause", "seek", "quiz", "post"}
    quiz = events[events["event"] == "quiz"]
    assert quiz["score"].between(0, 1).all() and quiz["item"].str.startswith("q").all()
    assert events.loc[events["event"] != "quiz", "score"].isna().all()
    video = events[events["event"].isin(["play", "pause", "seek"])]
    assert video["item"].str.match(r"v\d\d").all() and (video["position"] >= 0).all()
    roster = feed.roster
    assert list(roster.columns) == ["student", "course", "ability", "drops_out"]
    enrolled = dict(zip(roster["student"], roster["course"], strict=True))
    assert (events["course"] == events["student"].map(enrolled)).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_absence_per_student_finds_exactly_the_dropouts(seed):
    feed = sn.learning(students=40, seed=seed, n=40_000, start="2026-01-05", disorder=0.05)
    det = feed.detect(sn.rules.absence("2D"), key="student", watermark="30s")
    out = det.sink_to_list()
    feed.run()
    alerts = pd.concat(out) if out else pd.DataFrame(columns=["student"])
    end = pd.Timestamp(feed.horizon, unit="s")
    dropouts = feed.dropouts
    silent = set(dropouts.loc[dropouts["last_event"] < end - pd.Timedelta("2D"), "student"])
    assert len(silent) >= 3
    assert set(alerts["student"]) == silent
    assert det.counters["late"] == 0


def test_dropouts_score_lower_before_they_leave():
    events, feed = run_feed(students=40, seed=3, n=40_000, start="2026-01-05", batch=5000)
    quiz = events[events["event"] == "quiz"].merge(feed.roster, on="student")
    mean = quiz.groupby("drops_out")["score"].mean()
    assert mean[True] < mean[False]


def test_names_and_endless_feeds():
    feed = sn.learning(students=["ann", "bob"], courses=["stats"], seed=0)
    assert not feed.finite
    batch = feed.step()
    assert set(batch["student"]) <= {"ann", "bob"} and set(batch["course"]) == {"stats"}
    everyone_leaves = sn.learning(students=3, dropout=1.0, seed=0, start=0, batch=100)
    out = everyone_leaves.sink_to_list()
    while everyone_leaves.step() is not None:
        pass
    assert everyone_leaves.finished and sum(len(b) for b in out) > 0
    assert len(everyone_leaves.dropouts) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"students": 0}, "at least one of students"),
        ({"courses": []}, "at least one of courses"),
        ({"dropout": 1.5}, r"dropout is a fraction in \[0, 1\]"),
        ({"videos": 0}, "videos must be a positive int"),
        ({"disorder": -1}, r"disorder is a fraction in \[0, 1\]"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sn.learning(**kwargs)
