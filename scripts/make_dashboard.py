"""Write notebooks/dashboards/market.ipynb, outputs stripped: python scripts/make_dashboard.py

A Voila dashboard of the synthetic market feed: a live plot and a table of 1-second windows,
an alert list of the windows whose price moved (max / mean above a threshold), and the
controls. Serve it (sources hidden, kernel per page) with:

    .venv/bin/voila notebooks/dashboards/market.ipynb --Voila.ip=127.0.0.1 --port=8866 --no-browser

Voila 0.5 cannot load HoloViews' renderer extension, so every plot is wrapped as an ipywidget
by panel (``pn.ipywidget``); such widgets update live in Voila and in JupyterLab alike. The
page never writes plot changes back to the kernel (see ``live_widget``), so clicks stay prompt. Data
sent before the page has connected its widgets would be lost, so the feed starts only once
the page shows every plot (the widgets' ``_view_count``).
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def code(source: str) -> nbformat.NotebookNode:
    return new_code_cell(dedent(source).strip())


def hidden(source: str) -> nbformat.NotebookNode:
    """A check cell: collapsed in the notebook, run by nbval in CI; prints nothing."""
    cell = code(source)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["tags"] = ["hide-input", "check"]
    return cell


SETUP = """
    import ipywidgets as widgets
    import panel as pn

    import streamnb as sn

    # plots become ipywidgets: they update live in Voila (and in JupyterLab), offline
    pn.extension(comms="ipywidgets", inline=True)

    feed = sn.market(seed=11, rate=200, disorder=0.05, max_delay="2s")
    w = feed.window("1s", key="symbol", time="ts",
                    agg={"price": ["mean", "max"], "volume": "sum"}, watermark="2s")

    threshold = widgets.FloatSlider(
        value=0.25, min=0.05, max=1.0, step=0.05, readout_format=".2f",
        description="alert when max is above mean by (%)", style={"description_width": "initial"},
        layout={"width": "460px"})


    def price_moves(panes):
        \"\"\"The windows whose max price is at least `threshold` % above their mean.\"\"\"
        move = (panes["price_max"] / panes["price_mean"] - 1) * 100
        return panes.assign(move_pct=move.round(3))[move >= threshold.value]


    alerts = w.apply(price_moves).keep(len)  # keep(len): only the batches holding an alert


    def live_widget(view):
        \"\"\"A live plot as an ipywidget that only the kernel writes to.

        Under Voila, jupyter_bokeh 4.1 sends every change a kernel update makes in the page
        back to the kernel (hundreds of messages a second), which would delay the button
        clicks queued behind them by seconds: the page's copy stays view-only.
        \"\"\"
        widget = pn.ipywidget(view)
        widget.on_msg(widget._sync_model, remove=True)
        return widget
"""

CHECK = """
    # the alert rule on a finite replay of the same feed: every window above the threshold
    import pandas as pd

    check = sn.market(seed=11, rate=200, disorder=0.05, max_delay="2s", n=10_000,
                      start="2026-01-02 09:30", batch=1_000)
    cw = check.window("1s", key="symbol", agg={"price": ["mean", "max"]}, watermark="2s")
    panes, moves = cw.sink_to_list(), cw.apply(price_moves).keep(len).sink_to_list()
    check.run()
    panes, moves = pd.concat(panes), pd.concat(moves)
    ratio = panes["price_max"] / panes["price_mean"]
    assert len(moves) == int((ratio >= 1 + threshold.value / 100).sum()) > 0
    assert (moves["move_pct"] >= threshold.value - 1e-9).all()
    del check, cw, panes, moves, ratio
"""

PLOT = """
    prices = w.plot.line(x="window_end", y="price_mean", by="symbol", length=300)
    plot = live_widget(prices.opts(title="mean price per 1 s window", width=900, height=340))
    plot
"""

TABLE = """
    table = live_widget(w.plot.table(
        columns=["symbol", "window_end", "count", "price_mean", "price_max", "volume_sum"],
        length=10, width=900, height=290))
    table
"""

ALERTS = """
    alert_table = live_widget(alerts.plot.table(
        columns=["window_end", "symbol", "price_mean", "price_max", "move_pct"],
        dedupe=["symbol", "window_start"], length=8, width=900, height=250))
    alert_count = widgets.HTML()
    alert_count.add_class("market-alert-count")
    moved = {"windows": 0}


    def count_alerts(panes):
        moved["windows"] += len(panes)
        alert_count.value = f"<b>{moved['windows']:,}</b> windows moved"


    alerts.sink(count_alerts)
    alert_count.value = "<b>0</b> windows moved"
    widgets.VBox([widgets.HBox([threshold, alert_count]), alert_table])
"""

CONTROLS = """
    ui = sn.controls(feed)
    views = [plot, table, alert_table]


    def start_when_shown(_=None):
        \"\"\"Start the feed once the page shows every plot, so no update is lost.\"\"\"
        if feed.stopped and not feed.started and all(v._view_count for v in views):
            feed.start()


    for view in views:
        view.observe(start_when_shown, "_view_count")
    ui
"""

cells = [
    new_markdown_cell(
        "# Market watch\n\n"
        "Live 1-second windows of a synthetic, seeded market feed: ticks arrive out of order, "
        "windows are in event time with a 2 s watermark."
    ),
    code(SETUP),
    hidden(CHECK),
    new_markdown_cell("## Mean price per symbol"),
    code(PLOT),
    new_markdown_cell("## Latest windows"),
    code(TABLE),
    new_markdown_cell(
        "## Price moves\n\nWindows whose max price is above their mean price by "
        "at least the threshold (drag it to change the rule live)."
    ),
    code(ALERTS),
    new_markdown_cell(
        "## Feed\n\nThe feed starts when the page is ready; pause, step or speed it up here."
    ),
    code(CONTROLS),
]

nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
out = ROOT / "notebooks" / "dashboards" / "market.ipynb"
out.parent.mkdir(parents=True, exist_ok=True)
nbformat.write(nb, out)
print(f"wrote {out}")
