"""sn.controls drives a source through its buttons and shows the graph's counters."""

from __future__ import annotations

import asyncio

import pytest

import streamnb as sn


def _pipeline(**kw):
    feed = sn.market(seed=3, start="2026-01-02 09:30", **kw)
    w = feed.window("1s", key="symbol", agg={"price": "mean"}, watermark="1s")
    return feed, w, w.sink_to_list()


def test_step_emits_exactly_one_batch_per_click_and_counters_follow():
    feed, w, _panes = _pipeline()
    ui = sn.controls(feed, refresh=0)
    sizes = []
    for _ in range(60):  # 3 s of feed time at 50 ms a tick
        ui.step_button.click()
        sizes.append(feed.counters["events"])
    assert feed.counters["emitted"] == 60
    assert sizes == sorted(sizes) and len(set(sizes)) == 60  # each click added a batch
    totals = ui.totals()
    assert totals["events"] == feed.counters["events"]
    assert totals["windows"] == w.counters["windows"] > 0
    assert f"<b>{totals['events']:,}</b> events" in ui.counters_html.value
    assert "paused" in ui.status.value
    ui.close()


def test_counters_add_up_dead_letters_of_source_and_operators():
    src = sn.from_records(
        [{"ts": 0.1, "v": 1}, {"ts": "never", "v": 2}, {"ts": 0.2, "v": "x"}], time="ts"
    )
    w = src.window("1s", agg={"v": "sum"})  # streamz holds downstream nodes weakly: keep w
    ui = sn.controls(src, refresh=0)
    while src.step() is not None:
        pass
    assert ui.totals()["dead_letters"] == 2  # one at the source (time), one at the window (v)
    assert w.dead_letters.recent[0]["reason"] == "non-numeric value 'x' in field 'v'"
    ui.close()


def test_speed_slider_sets_the_source_speed_and_is_disabled_for_max_speed_sources():
    feed, _, _ = _pipeline(speed=1.0)
    ui = sn.controls(feed, refresh=0)
    ui.speed_slider.value = 10.0
    assert feed.speed == 10.0
    fast = sn.from_records([{"ts": 1}], time="ts")
    assert sn.controls(fast, refresh=0).speed_slider.disabled


def test_play_pause_drive_a_live_source_on_the_event_loop():
    async def scenario():
        feed, _w, _panes = _pipeline(speed=20.0)
        feed.interval = 0.01
        ui = sn.controls(feed, refresh=0.05)
        ui.play_button.click()
        await asyncio.sleep(0.4)
        running = feed.counters["events"]
        assert running > 0 and "running" in ui.status.value
        ui.pause_button.click()
        await asyncio.sleep(0.1)
        held = feed.counters["events"]
        await asyncio.sleep(0.3)
        assert feed.counters["events"] == held  # paused: nothing flows
        ui.play_button.click()
        await asyncio.sleep(0.3)
        assert feed.counters["events"] > held  # resumed
        # the periodic refresh shows the live count without any click
        ui.pause_button.click()
        shown = feed.counters["events"]
        feed.step()  # emitted behind the widget's back
        await asyncio.sleep(0.15)
        assert feed.counters["events"] > shown
        assert f"<b>{feed.counters['events']:,}</b> events" in ui.counters_html.value
        assert sn.stop_all() >= 1
        await asyncio.sleep(0.1)
        assert feed.stopped
        ui.close()

    asyncio.run(scenario())


def test_controls_refuses_a_plain_stream():
    from streamz import Stream

    with pytest.raises(TypeError, match="drives a streamnb source"):
        sn.controls(Stream())
