"""Write notebooks/01-quickstart.ipynb, outputs stripped: python scripts/make_quickstart.py"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def hidden(source: str) -> nbformat.NotebookNode:
    """A check cell: collapsed in the notebook, run by nbval in CI."""
    cell = new_code_cell(source)
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["tags"] = ["hide-input", "check"]
    return cell


cells = [
    new_markdown_cell(
        "# streamnb quickstart: live 1-second windows of a market feed\n\n"
        "In five cells you will build a streaming pipeline, watch it update live, and drive it "
        "with widgets:\n\n"
        "1. a **source**: a synthetic, seeded market feed whose ticks arrive *out of order*;\n"
        "2. an **operator**: 1-second tumbling windows in *event time*, per symbol;\n"
        "3. two **live views**: a line plot of the mean price and a table of the latest windows;\n"
        "4. **controls**: play, pause, step, speed and live counters."
    ),
    new_code_cell(
        "import streamnb as sn\n\n"
        "sn.notebook.setup()  # loads BokehJS inline: plots render with no internet access"
    ),
    new_markdown_cell(
        "## The source\n\n"
        "`sn.market` generates ticks for five symbols at 200 events per second of *event time* "
        "(`ts`). 5 % of them are delayed by up to 2 seconds, so they arrive after later ticks: "
        "event time and arrival order differ, as they do on real networks. The same `seed` "
        "always gives the same ticks."
    ),
    new_code_cell('feed = sn.market(seed=42, rate=200, disorder=0.05, max_delay="2s")\nfeed'),
    new_markdown_cell(
        "## One-second windows in event time\n\n"
        "`.window` groups ticks by `symbol` into windows `[k s, k+1 s)` of their *event time*. "
        "The **watermark** trails the largest event time seen by 2 s: a window fires when the "
        "watermark passes its end, so ticks delayed by up to 2 s still land in the right "
        "window. Anything later goes to `w.late`; anything unreadable to `w.dead_letters`."
    ),
    new_code_cell(
        'w = feed.window("1s", key="symbol", time="ts",\n'
        '                agg={"price": ["mean", "max"], "volume": "sum"}, watermark="2s")\n'
        "w"
    ),
    new_markdown_cell(
        "## Live views\n\n"
        "Each view is a HoloViews `DynamicMap`. Updates are coalesced to at most 20 a second "
        "and the plot keeps the last 300 windows, so a fast stream never freezes the page."
    ),
    new_code_cell(
        'w.plot.line(x="window_end", y="price_mean", by="symbol", length=300,\n'
        '            title="mean price per 1 s window", width=700, height=300)'
    ),
    new_code_cell(
        'w.plot.table(columns=["symbol", "window_start", "count", "price_mean", '
        '"price_max", "volume_sum", "pane"], length=10)'
    ),
    new_markdown_cell(
        "## Drive it\n\n"
        "**▶ play** streams live, **⏸ pause** holds it, **⏭ step** emits one tick's worth of "
        "events, and the slider sets the speed (2 = twice real time). The counters show "
        "events in, windows emitted, late events and dead letters. The next cell starts the "
        "feed; pause and play it from the buttons."
    ),
    new_code_cell("sn.controls(feed)"),
    new_code_cell("feed.start()  # live: ticks stream into the windows, the plot and the table"),
    new_markdown_cell(
        "## Check the numbers\n\n"
        "The cells below replay the same seeded feed as a *finite* stream "
        "(`n=20_000`, fixed start time) and check what the windows hold. They are how CI "
        "proves this notebook: expand them to read."
    ),
    hidden(
        'check = sn.market(seed=42, rate=200, disorder=0.05, max_delay="2s", n=20_000,\n'
        '                  start="2026-01-02 09:30", batch=1_000)\n'
        'cw = check.window("1s", key="symbol",\n'
        '                  agg={"price": ["mean", "max"], "volume": "sum"}, watermark="2s")\n'
        "panes = cw.sink_to_list()\n"
        "check.run()\n"
        "import pandas as pd\n"
        "result = pd.concat(panes).drop_duplicates(['symbol', 'window_start'], keep='last')\n"
        "# every event is accounted for: in windows, late, or dead letters\n"
        "assert result['count'].sum() + cw.counters['dropped'] + cw.counters['dead_letters'] "
        "== 20_000\n"
        "assert cw.counters['dropped'] == 0  # a 2 s watermark covers the 2 s max delay\n"
        "assert set(result['symbol']) == set(check.symbols)\n"
        "assert (result['price_max'] >= result['price_mean']).all()\n"
        "result.tail()"
    ),
    hidden(
        "# the same ticks, grouped by pandas after the fact, give the same windows\n"
        "import numpy as np\n"
        'ticks = sn.market(seed=42, rate=200, disorder=0.05, max_delay="2s", n=20_000,\n'
        '                  start="2026-01-02 09:30", batch=20_000)\n'
        "frames = ticks.sink_to_list(); ticks.run(); ticks_df = frames[0]\n"
        "expected = (ticks_df.assign(window_start=ticks_df['ts'].dt.floor('1s'))\n"
        "            .groupby(['symbol', 'window_start'])\n"
        "            .agg(count=('price', 'size'), price_mean=('price', 'mean'),\n"
        "                 volume_sum=('volume', 'sum')).reset_index())\n"
        "merged = expected.merge(result, on=['symbol', 'window_start'], suffixes=('', '_sn'))\n"
        "assert len(merged) == len(expected) == len(result)\n"
        "assert (merged['count'] == merged['count_sn']).all()\n"
        "assert np.allclose(merged['price_mean'], merged['price_mean_sn'])\n"
        "assert np.allclose(merged['volume_sum'], merged['volume_sum_sn'])\n"
        "print(f'{len(result)} windows match pandas')"
    ),
    new_markdown_cell(
        "## Step by step\n\n"
        "A paused source can be stepped from code too: each `step()` emits one tick "
        "(50 ms of feed time) as one batch."
    ),
    new_code_cell(
        'stepper = sn.market(seed=7, start="2026-01-02 09:30")\n'
        "batches = stepper.sink_to_list()\n"
        "first = stepper.step()\n"
        "len(batches), len(first)"
    ),
    hidden("assert len(batches) == 1 and len(first) > 0"),
    new_markdown_cell(
        "## Stop\n\n"
        "`sn.stop_all()` stops every running source (uncomment to stop the live feed above)."
    ),
    new_code_cell("# sn.stop_all()"),
]

nb = new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
out = ROOT / "notebooks" / "01-quickstart.ipynb"
nbformat.write(nb, out)
print(f"wrote {out}")
