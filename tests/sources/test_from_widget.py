"""Widgets as sources: each change (or click) is one record, through the normal machinery."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

import streamnb as sn


def test_each_value_change_is_one_record_with_processing_time():
    clock = sn.ManualClock(start=100)
    slider = widgets.FloatSlider(value=0.0, min=0, max=10, description="speed")
    src = sn.from_widget(slider, clock=clock)
    seen = src.sink_to_list()
    for v in (1.0, 2.5, 7.0):
        clock.advance(1)
        slider.value = v
    assert [(r["time"], r["value"], r["old"]) for r in seen] == [
        (101.0, 1.0, 0.0),
        (102.0, 2.5, 1.0),
        (103.0, 7.0, 2.5),
    ]
    assert {r["widget"] for r in seen} == {"speed"} and src.counters["events"] == 3


def test_button_clicks_are_counted_events_and_can_be_windowed():
    clock = sn.ManualClock(start=0)
    button = widgets.Button(description="buy")
    src = sn.from_widget(button, clock=clock)
    w = src.window("1s", agg={"value": "count"})
    panes = w.sink_to_list()
    for t in (0.1, 0.2, 0.9, 1.5, 2.2):
        clock.set(t)
        button.click()
    src.stop()
    sn.propagate_watermark(src, float("inf"))
    import pandas as pd

    result = pd.concat(panes).drop_duplicates("window_start", keep="last")
    assert result["count"].tolist() == [3, 1, 1]
    button.click()  # detached: not an event any more
    assert src.counters["events"] == 5


def test_paused_changes_are_held_not_lost():
    slider = widgets.IntSlider(value=0)
    src = sn.from_widget(slider, clock=sn.ManualClock())
    seen = src.sink_to_list()
    src.pause()
    for v in (1, 2, 3):
        slider.value = v
    assert seen == []
    assert src.step()["value"] == 1 and len(seen) == 1
    src.resume()
    assert [r["value"] for r in seen] == [1, 2, 3]


def test_several_widgets_merge_into_one_stream_with_every_current_value():
    a = widgets.IntSlider(value=1, description="a")
    b = widgets.Dropdown(options=["x", "y"], value="x", description="b")
    src = sn.from_widgets(a, b, clock=sn.ManualClock())
    seen = src.sink_to_list()
    a.value = 4
    b.value = "y"
    assert [(r["widget"], r["a"], r["b"]) for r in seen] == [("a", 4, "x"), ("b", 4, "y")]


def test_errors_name_the_widget_and_the_trait():
    with pytest.raises(ValueError, match="has no trait 'nope'"):
        sn.from_widget(widgets.IntSlider(description="n"), names="nope")
    with pytest.raises(ValueError, match="at least one widget"):
        sn.from_widgets()
