"""The market dashboard served by Voila, in Chromium: no code shown, plots and tables live,
price-move alerts appear, and the controls drive the feed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import DASHBOARD, VIEWPORT
from lab_harness import Voila, axes_follow, newest, sources_with, voila_server, wait_for


@pytest.fixture(scope="module")
def dashboard(browser: Any) -> Iterator[Any]:
    """The dashboard's page, once Voila has executed the notebook and the feed runs."""
    with voila_server(DASHBOARD) as voila:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(voila.url + "/", wait_until="load", timeout=120_000)
            page.get_by_text("Market watch").first.wait_for(timeout=60_000)
            page.wait_for_selector(".streamnb-counters", timeout=60_000)
            page.voila = voila
            yield page
        finally:
            context.close()


def line_sources(page: Any) -> list[dict[str, Any]]:
    """The data sources of the price plot (the tables' have more columns)."""
    return [s for s in sources_with(page, "price_mean") if "price_max" not in s["columns"]]


def line_rows(page: Any) -> int:
    return sum(s["rows"] for s in line_sources(page))


def newest_window(page: Any) -> float:
    return newest(line_sources(page), "window_end")


def events(page: Any) -> int:
    text = page.locator(".streamnb-counters").first.inner_text()
    match = re.search(r"([\d,]+)\s+events", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def status(page: Any) -> str:
    return page.locator(".widget-html", has_text="Market ·").first.inner_text()


def test_dashboard_renders_without_code_and_updates_live(dashboard):
    page = dashboard
    assert isinstance(page.voila, Voila)
    body = page.locator("body").inner_text()
    assert "pn.ipywidget" not in body and "import " not in body  # sources are stripped
    assert page.locator("[data-mime-type$='error'], [data-mime-type$='stderr']").count() == 0
    assert page.get_by_text("Traceback").count() == 0

    wait_for(lambda: page.locator("canvas").count() > 0, 30, "the plot's canvas")
    first = wait_for(lambda: line_rows(page), 45, "windows in the live plot")
    wait_for(lambda: line_rows(page) > first, 20, "the plot to grow by itself")
    wait_for(lambda: axes_follow(page, "window_end"), 15, "axes showing the newest window")
    table_rows = wait_for(
        lambda: sum(s["rows"] for s in sources_with(page, "volume_sum")), 20, "table rows"
    )
    assert table_rows > 0

    # price moves: rows in the alert table, all above the threshold, and a count
    def alerts() -> list[dict[str, Any]]:
        return [s for s in sources_with(page, "move_pct") if s["rows"] > 0]

    found = wait_for(alerts, 45, "a price-move alert")
    assert float(found[0]["last"]["move_pct"]) >= 0.25
    count = page.locator(".market-alert-count").inner_text()
    assert int(re.search(r"([\d,]+) windows moved", count).group(1)) >= 1


def test_dashboard_controls_pause_and_play_the_feed(dashboard):
    page = dashboard
    wait_for(lambda: "running" in status(page), 30, "the feed to run")
    page.get_by_role("button", name="pause").click()
    # promptly: plot updates must not queue the click behind a flood of messages
    wait_for(lambda: "paused" in status(page), 5, "the paused status")
    time.sleep(0.6)
    held, last = events(page), newest_window(page)
    time.sleep(2.0)  # nothing may move while paused
    assert events(page) == held and newest_window(page) == last
    page.get_by_role("button", name="play").click()
    wait_for(lambda: "running" in status(page), 10, "the running status")
    wait_for(lambda: events(page) > held, 15, "the feed to resume")
    wait_for(lambda: newest_window(page) > last, 20, "the plot to move again")
