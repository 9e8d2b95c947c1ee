"""Screenshots of the quickstart (in JupyterLab) and the market dashboard (in Voila).

    .venv/bin/python scripts/screenshots.py [--out docs/img]

Uses the browser setup of the e2e tests (Debian's Chromium, headless; JupyterLab and Voila on
127.0.0.1 in a temporary directory) and writes ``quickstart.png`` and ``dashboard.png``, taken
once the live plots hold a few seconds of data. It says so when a plot's axes do not show its
newest data (a blank-looking plot), and then exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from lab_harness import (  # noqa: E402  (the e2e harness lives with the tests)
    LabNotebook,
    axes_follow,
    lab_server,
    launch_browser,
    sources_with,
    voila_server,
    wait_for,
)

QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
DASHBOARD = ROOT / "notebooks" / "dashboards" / "market.ipynb"


def rows(page: Any, column: str = "window_end") -> int:
    return sum(s["rows"] for s in sources_with(page, column))


def quickstart(browser: Any, out: Path, settle: float) -> bool:
    with lab_server([QUICKSTART]) as lab:
        context = browser.new_context(viewport={"width": 1280, "height": 1500})
        try:
            page = context.new_page()
            nb = LabNotebook(page, lab, QUICKSTART.name)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            nb.run_all()
            wait_for(lambda: rows(page) > 20, 60, "windows in the quickstart's plot")
            time.sleep(settle)
            first, last = nb.cell_index("w.plot.line"), nb.cell_index("sn.controls(feed)")
            nb.js("nb.content.widgets[arg].node.scrollIntoView({block: 'start'});", first)
            time.sleep(0.5)
            top = nb.cell(first).bounding_box()
            bottom = nb.cell(last).bounding_box()
            clip = {
                "x": top["x"],
                "y": top["y"],
                "width": top["width"],
                "height": bottom["y"] + bottom["height"] - top["y"],
            }
            page.screenshot(path=str(out), clip=clip)
            return axes_follow(page, "window_end")
        finally:
            context.close()
            lab.shutdown_kernels()


def dashboard(browser: Any, out: Path, settle: float) -> bool:
    with voila_server(DASHBOARD) as voila:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            page = context.new_page()
            page.goto(voila.url + "/", wait_until="load", timeout=120_000)
            wait_for(lambda: rows(page, "move_pct") > 0, 90, "an alert in the dashboard")
            time.sleep(settle)
            # Voila scrolls inside #rendered_cells: grow the window to hold all of it
            height = page.evaluate(
                "() => (document.querySelector('#rendered_cells') || document.body).scrollHeight"
            )
            page.set_viewport_size({"width": 1100, "height": int(height) + 20})
            time.sleep(1.0)
            page.screenshot(path=str(out), full_page=True)
            return axes_follow(page, "window_end")
        finally:
            context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds of live data first")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    ok = True
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            for name, take in (("quickstart", quickstart), ("dashboard", dashboard)):
                path = args.out / f"{name}.png"
                follows = take(browser, path, args.settle)
                print(f"wrote {path}")
                if not follows:
                    ok = False
                    print(f"  {name}: the plot's axes do not show its newest data", file=sys.stderr)
        finally:
            browser.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
