"""Fixtures of the real-browser tests: Debian's Chromium (installed if missing), JupyterLab.

JupyterLab is started once per session, the browser once per test module. Nothing here skips: when
Chromium cannot be found or installed, or a server does not start, the tests fail and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lab_harness import ROOT, E2EError, Lab, ensure_chromium, lab_server, launch_browser

QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
DASHBOARD = ROOT / "notebooks" / "dashboards" / "market.ipynb"
VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return ensure_chromium()
    except E2EError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Chromium driven by Playwright's sync API, per test module.

    While it runs, Playwright's event loop counts as running in the main thread: it must not
    outlive the browser tests, or later tests (``asyncio.run``, ``kernel_loop()``) break.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    with lab_server([QUICKSTART]) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (closed after the test)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
