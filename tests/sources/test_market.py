"""sn.market: seeded determinism, disorder, finiteness, parameters, live driving, stop_all."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

import streamnb as sn


def frame(items):
    """Emitted items (records or batches) as one DataFrame with a fresh index."""
    if not items:
        return pd.DataFrame()
    if isinstance(items[0], pd.DataFrame):
        return pd.concat(items, ignore_index=True)
    return pd.DataFrame.from_records(items)


def run_feed(**kwargs):
    feed = sn.market(**kwargs)
    out = feed.sink_to_list()
    feed.run()
    return frame(out), feed


def step_feed(**kwargs):
    feed = sn.market(**kwargs)
    out = feed.sink_to_list()
    steps = 0
    while feed.step() is not None:
        steps += 1
        assert steps < 10_000
    return frame(out), feed


BASE = {"seed": 11, "n": 3000, "start": 0, "disorder": 0.1}


def test_same_seed_same_events_however_driven():
    ran, _ = run_feed(**BASE, batch=500)
    assert len(ran) == 3000
    for driver, batch in [(run_feed, 7), (run_feed, None), (step_feed, 500), (step_feed, None)]:
        got, feed = driver(**BASE, batch=batch)
        pd.testing.assert_frame_equal(got, ran, obj=f"{driver.__name__} batch={batch}")
        assert feed.finished


def test_a_different_seed_gives_different_events():
    a, _ = run_feed(**BASE, batch=1000)
    b, _ = run_feed(**{**BASE, "seed": 12}, batch=1000)
    assert not a["price"].equals(b["price"])


def test_step_in_batch_mode_emits_one_tick_of_arrivals():
    feed = sn.market(**BASE, batch=1000, interval=0.5, speed=1)
    first = feed.step()
    assert 0 < len(first) < 1000  # a rate of 200/s gives ~100 events in half a second
    assert (first["ts"] <= pd.Timestamp(0.5, unit="s")).all()


def test_disorder_produces_out_of_order_event_times():
    calm, _ = run_feed(**{**BASE, "disorder": 0.0}, batch=1000)
    assert calm["ts"].is_monotonic_increasing
    messy, _ = run_feed(**{**BASE, "disorder": 0.3, "max_delay": "2s"}, batch=1000)
    assert not messy["ts"].is_monotonic_increasing
    assert sorted(messy["seq"]) == list(range(3000))
    # an event arrives at most max_delay after its time: nothing is later than that
    seconds = (messy["ts"] - pd.Timestamp(0)).dt.total_seconds()
    running_max = seconds.cummax()
    assert (running_max - seconds).max() <= 2.0
    assert (running_max - seconds).max() > 0.5


def test_n_makes_the_feed_finite_and_none_makes_it_endless():
    got, feed = run_feed(seed=0, n=10, start=0, batch=None)
    assert feed.finite and len(got) == 10 and feed.finished
    assert list(got.columns) == ["seq", "ts", "symbol", "price", "volume"]
    endless = sn.market(seed=0)
    assert not endless.finite
    with pytest.raises(ValueError, match="never ends; give it n="):
        endless.run()
    # an endless feed still steps
    assert len(endless.step()) > 0


def test_symbols_as_a_count_and_a_list():
    got, _ = run_feed(seed=0, n=500, start=0, symbols=3)
    assert set(got["symbol"]) == {"S000", "S001", "S002"}
    got, _ = run_feed(seed=0, n=500, start=0, symbols=["X", "Y"])
    assert set(got["symbol"]) == {"X", "Y"}


def test_start_defaults_to_the_clock_to_the_second():
    feed = sn.market(clock=sn.ManualClock(start=1234.75))
    assert feed.start_time == 1234.0
    assert (
        sn.market(start="2026-01-02 09:30").start_time
        == pd.Timestamp("2026-01-02 09:30").timestamp()
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbols": []}, "at least one symbol"),
        ({"rate": 0}, "rate must be positive"),
        ({"rate": -5}, "rate must be positive"),
        ({"disorder": 1.5}, r"disorder is a fraction in \[0, 1\]"),
        ({"disorder": -0.1}, r"disorder is a fraction in \[0, 1\]"),
        ({"batch": 0}, "batch must be a positive int"),
        ({"batch": 2.5}, "batch must be a positive int"),
        ({"max_delay": "soon"}, "cannot read duration 'soon'"),
        ({"speed": 0}, "speed must be positive"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sn.market(**kwargs)


def test_live_with_a_manual_clock_emits_what_has_arrived():
    clock = sn.ManualClock(start=0)
    expected, _ = run_feed(**BASE, batch=None)
    feed = sn.market(**BASE, batch=None, clock=clock, speed=2, interval=0)
    out = feed.sink_to_list()
    feed.stopped = False
    coro = feed._live()  # the live loop, one iteration per send(): no sleeping
    try:
        coro.send(None)
        assert out == []  # no event time has passed yet
        clock.advance(1.0)  # 2 s of feed time at speed 2
        coro.send(None)
        got = frame(out)
        assert 200 < len(got) < 600
        pd.testing.assert_frame_equal(got, expected.iloc[: len(got)])
        clock.advance(1000)
        coro.send(None)
        assert feed.finished
    finally:
        coro.close()
    pd.testing.assert_frame_equal(frame(out), expected)


def test_stop_all_stops_a_started_source():
    async def main():
        feed = sn.market(seed=0, rate=5000, batch=None, interval=0.01)
        out = feed.sink_to_list()
        feed.start()
        assert not feed.stopped
        await asyncio.sleep(0.2)
        assert len(out) > 0  # it ran live on this event loop
        assert feed in sn.all_sources()
        assert sn.stop_all() >= 1
        assert feed.stopped
        await asyncio.sleep(0.05)  # let the loop notice
        seen = len(out)
        await asyncio.sleep(0.1)
        assert len(out) == seen  # nothing more after the stop

    asyncio.run(main())


def test_repr_names_the_feed():
    text = repr(sn.market(seed=4, n=5))
    assert "seed=4" in text and "n=5" in text
