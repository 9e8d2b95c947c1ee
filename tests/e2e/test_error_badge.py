"""A user function that raises on some events: the cell that built it shows the error badge
with a live count, while the plot of the same feed keeps moving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from conftest import VIEWPORT
from lab_harness import Lab, LabNotebook, newest, sources_with, wait_for
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    "import streamnb as sn\nsn.notebook.setup()",
    'feed = sn.market(seed=3, rate=200, start="2026-01-02 09:30")',
    'w = feed.window("1s", key="symbol", agg={"price": "mean"}, watermark="1s")\n'
    'w.plot.line(x="window_end", y="price_mean", by="symbol", length=200)',
    # streamnb's own node, exceptions passed up to the source
    "def check(ticks):\n"
    "    bad = ticks[ticks['seq'] % 37 == 0]\n"
    "    if len(bad):\n"
    "        raise ValueError(f\"bad tick {int(bad['seq'].iloc[0])}\")\n"
    "    return ticks\n\n"
    'checked = feed.apply(check, on_error="raise")',
    # a plain streamz map: exceptions escape into the source that emitted the event
    "vwap = []\n"
    "def volume_weighted(ticks):\n"
    "    if ticks['volume'].max() > 400:\n"
    "        raise OverflowError('volume spike')\n"
    "    return (ticks['price'] * ticks['volume']).sum() / ticks['volume'].sum()\n\n"
    "feed.map(volume_weighted).sink(vwap.append)",
    "feed.start()",
]


def badge_text(nb: LabNotebook, index: int) -> str:
    """The error badge under cell ``index``, if it is shown."""
    badge = nb.cell(index).locator(".streamnb-error-badge")
    if badge.count() == 0 or not badge.first.is_visible():
        return ""
    return badge.first.inner_text()


def badge_count(nb: LabNotebook, index: int) -> int:
    match = re.search(r"([\d,]+) errors?", badge_text(nb, index))
    return int(match.group(1).replace(",", "")) if match else 0


@pytest.fixture(scope="module")
def failing(browser: Any, lab: Lab) -> Iterator[LabNotebook]:
    """A notebook whose feed has two failing user functions, every cell run, feed live."""
    nb = new_notebook(cells=[new_code_cell(src) for src in CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / "errors.ipynb")
    context = browser.new_context(viewport=VIEWPORT)
    try:
        notebook = LabNotebook(context.new_page(), lab, "errors.ipynb")
        notebook.run_all()
        yield notebook
    finally:
        context.close()
        lab.shutdown_kernels()


def test_error_badges_count_live_while_the_plot_keeps_moving(failing):
    nb = failing
    apply_cell, map_cell = nb.cell_index("feed.apply("), nb.cell_index("feed.map(")
    plot_cell = nb.cell_index("w.plot.line")
    for cell in (apply_cell, map_cell):
        first = wait_for(lambda c=cell: badge_count(nb, c), 30, f"the badge under cell {cell}")
        wait_for(lambda c=cell, n=first: badge_count(nb, c) > n, 20, "the badge count to rise")
    assert "ValueError" in badge_text(nb, apply_cell)
    assert "apply(check)" in badge_text(nb, apply_cell)  # names the failing node
    assert "OverflowError" in badge_text(nb, map_cell)
    assert badge_text(nb, plot_cell) == ""  # errors stay with the cell whose code raised
    # no exception escaped into a cell: the feed goes on
    errors = nb.page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    assert errors.count() == 0

    def newest_window() -> float:
        return newest(sources_with(nb.page, "window_end"), "window_end")

    seen = wait_for(newest_window, 30, "windows in the plot")
    assert wait_for(lambda: newest_window() > seen, 20, "the plot to keep moving")
    assert badge_count(nb, apply_cell) > 0


def test_failing_user_functions_print_nothing_under_other_cells(failing):
    nb = failing
    map_cell = nb.cell_index("feed.map(")
    wait_for(lambda: badge_count(nb, map_cell) >= 3, 30, "a few failures of the map")
    assert nb.errors() == []
