"""The quickstart in JupyterLab, in Chromium: it runs, its plot moves, its widgets drive it.

One JupyterLab page runs the quickstart once (module fixture); the tests then read what the
page holds: bokeh's ColumnDataSources and ranges, the controls' buttons and counters, cell
outputs. Probes are new cells appended to the notebook, run like a user would run them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import VIEWPORT
from lab_harness import (
    Lab,
    LabNotebook,
    axes_follow,
    figures,
    newest,
    sources_with,
    wait_for,
)

STATE = (
    "import json, time\n"
    "from streamnb.widgets.controls import downstream_nodes\n"
    "windows = [n for n in downstream_nodes(feed) if isinstance(n, sn.Window)]\n"
    "json.dumps({'t': time.monotonic(), 'emitted': feed.counters['emitted'],"
    " 'events': feed.counters['events'], 'windows_in': w.counters['in'],"
    " 'window_nodes': len(windows),"
    " 'feed_windows': sum(type(d).__name__ == 'Window' for d in feed.downstreams)})"
)


@pytest.fixture(scope="module")
def quickstart(browser: Any, lab: Lab) -> Iterator[LabNotebook]:
    """The quickstart, every cell run, its feed live."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        nb = LabNotebook(context.new_page(), lab, "01-quickstart.ipynb")
        nb.run_all()
        yield nb
    finally:
        context.close()
        lab.shutdown_kernels()


def line_sources(nb: LabNotebook) -> list[dict[str, Any]]:
    """The data sources of the mean-price line plot (the table's have a `pane` column)."""
    return [s for s in sources_with(nb.page, "price_mean") if "pane" not in s["columns"]]


def line_rows(nb: LabNotebook) -> int:
    return sum(s["rows"] for s in line_sources(nb))


def newest_window(nb: LabNotebook) -> float:
    return newest(line_sources(nb), "window_end")


def controls(nb: LabNotebook) -> Any:
    return nb.cell(nb.cell_index("sn.controls(feed)"))


def shown_events(nb: LabNotebook) -> int:
    """The `events` counter as the controls show it."""
    text = controls(nb).locator(".streamnb-counters").inner_text()
    match = re.search(r"([\d,]+)\s+events", text)
    assert match, f"no events counter in {text!r}"
    return int(match.group(1).replace(",", ""))


def status(nb: LabNotebook) -> str:
    return controls(nb).locator(".widget-html", has_text="Market").first.inner_text()


def test_every_cell_runs_without_error_and_the_plot_grows_by_itself(quickstart):
    nb = quickstart
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in nb.prompts())
    assert nb.errors() == []
    plot_cell = nb.cell(nb.cell_index("w.plot.line"))
    wait_for(lambda: plot_cell.locator("canvas").count() > 0, 30, "the plot's canvas")
    first = wait_for(lambda: line_rows(nb), 30, "the first windows in the plot")
    # no click, no cell run: the live feed alone makes the data source grow
    grown = wait_for(lambda: (r := line_rows(nb)) > first and r, 20, "the plot to grow")
    assert grown > first
    assert len(line_sources(nb)) >= 5  # one line per symbol

    def table_rows() -> int:
        return sum(s["rows"] for s in sources_with(nb.page, "pane"))

    assert wait_for(table_rows, 10, "windows in the live table") > 0


def test_the_plot_axes_follow_the_live_data(quickstart):
    nb = quickstart
    wait_for(lambda: line_rows(nb) > 10, 30, "windows in the plot")
    wait_for(lambda: axes_follow(nb.page, "window_end"), 8, "axes showing the newest window")
    assert all(f["x_end"] - f["x_start"] > 1000 for f in figures(nb.page, "window_end"))


def test_pipeline_view_shows_live_counts(quickstart):
    nb = quickstart
    index = nb.add_cell("sn.show(w)")
    nb.run_cell(index)
    nodes = nb.cell(index).locator("g.streamnb-node")
    wait_for(lambda: nodes.count() >= 3, 20, "the pipeline's nodes in the SVG")
    labels = [nodes.nth(i).get_attribute("data-label") for i in range(nodes.count())]
    assert labels[0] == "Market" and any(label.startswith("window") for label in labels)

    def window_in() -> int:
        node = nb.cell(index).locator("g.streamnb-node[data-label^='window']").first
        return int(node.get_attribute("data-in"))

    first = wait_for(window_in, 10, "events counted in the window node")
    assert wait_for(lambda: window_in() > first, 10, "the view's counts to move on their own")
    errors = [nodes.nth(i).get_attribute("data-errors") for i in range(nodes.count())]
    assert set(errors) == {"0"}


def test_pause_stops_play_resumes_step_emits_one_batch(quickstart):
    nb = quickstart
    ui = controls(nb)
    wait_for(lambda: "running" in status(nb), 10, "the feed to run")
    ui.get_by_role("button", name="pause").click()
    wait_for(lambda: "paused" in status(nb), 10, "the paused status")
    time.sleep(0.6)  # a render already scheduled may still land
    paused_events, paused_last = shown_events(nb), newest_window(nb)
    time.sleep(2.0)  # a stretch of time in which nothing may move
    assert shown_events(nb) == paused_events
    assert newest_window(nb) == paused_last

    before = nb.probe(STATE)
    assert before["events"] == paused_events
    ui.get_by_role("button", name="step").click()
    wait_for(lambda: shown_events(nb) > paused_events, 10, "the step to show in the counters")
    after = nb.probe(STATE)
    assert after["emitted"] == before["emitted"] + 1  # exactly one batch
    assert shown_events(nb) == after["events"] > before["events"]
    assert "paused" in status(nb)
    time.sleep(1.0)
    assert shown_events(nb) == after["events"]  # still held after the step

    ui.get_by_role("button", name="play").click()
    wait_for(lambda: "running" in status(nb), 10, "the running status")
    resumed = wait_for(
        lambda: (e := shown_events(nb)) > after["events"] + 100 and e, 15, "the feed to resume"
    )
    last = newest_window(nb)
    wait_for(lambda: newest_window(nb) > last, 15, "the plot to move again")
    assert resumed > after["events"]


def test_rerunning_the_pipeline_cell_does_not_double_the_work(quickstart):
    nb = quickstart
    window_cell, plot_cell = nb.cell_index("feed.window("), nb.cell_index("w.plot.line")

    def rate(seconds: float = 3.0) -> dict[str, float]:
        a = nb.probe(STATE)
        time.sleep(seconds)
        b = nb.probe(STATE)
        dt = b["t"] - a["t"]
        return {
            "events": (b["events"] - a["events"]) / dt,
            "windows_in": (b["windows_in"] - a["windows_in"]) / dt,
            "window_nodes": b["window_nodes"],
            "feed_windows": b["feed_windows"],
        }

    before = rate()
    assert before["window_nodes"] == before["feed_windows"] == 1
    for _ in range(2):  # the learner re-runs the pipeline cell, then the plot cell
        nb.run_cell(window_cell)
    nb.run_cell(plot_cell)
    assert nb.errors() == []
    after = rate()
    assert after["window_nodes"] == after["feed_windows"] == 1
    assert after["windows_in"] == pytest.approx(after["events"], rel=0.35)
    assert after["events"] == pytest.approx(before["events"], rel=0.5)

    # the re-run plot draws from the new window at one row per symbol and second, not two
    cell = nb.cell(plot_cell)
    wait_for(lambda: cell.locator("canvas").count() > 0, 30, "the re-run plot's canvas")

    def new_rows() -> int:
        return sum(s["rows"] for s in line_sources(nb))

    start = wait_for(new_rows, 30, "windows in the re-run plot")
    t0 = time.monotonic()
    time.sleep(4.0)
    pace_after = (new_rows() - start) / (time.monotonic() - t0)
    assert 0 < pace_after <= 5 * 1.6  # 5 symbols: about 5 rows a second, not 10
