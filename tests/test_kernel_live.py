"""In a real IPython kernel, a started feed streams on the kernel's own event loop between
cells: windows fire, the plot's data source grows, and renders stay within max_fps."""

from __future__ import annotations

import ast
import json
import time

import pytest
from jupyter_client.manager import start_new_kernel

SETUP = """
import holoviews as hv, streamnb as sn
from bokeh.models import ColumnDataSource
hv.extension("bokeh")
feed = sn.market(seed=5, rate=400, speed=10)
w = feed.window("1s", key="symbol", agg={"price": "mean"}, watermark="1s")
dmap = w.plot.line(x="window_end", y="price_mean", by="symbol", max_fps=10)
plot = hv.renderer("bokeh").get_plot(dmap)
def rows():
    return sum(len(c.data["window_end"]) for c in plot.state.select({"type": ColumnDataSource}))
feed.start()
"""

STATE = (
    "json.dumps({'events': feed.counters['events'], 'windows': w.counters['windows'], "
    "'rows': rows(), 'renders': dmap.streamnb.counters['renders'], "
    "'running': not feed.stopped})"
)


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code, expr=None):
    reply = kc.execute_interactive(
        code, user_expressions={"r": expr} if expr else {}, timeout=60, output_hook=lambda m: None
    )
    content = reply["content"]
    assert content["status"] == "ok", content
    if expr:
        data = content["user_expressions"]["r"]
        assert data["status"] == "ok", data
        return json.loads(ast.literal_eval(data["data"]["text/plain"]))
    return None


def test_feed_streams_live_between_cells_and_the_plot_grows(kernel):
    _run(kernel, "import json\n" + SETUP)
    t0 = time.monotonic()
    time.sleep(1.5)
    first = _run(kernel, "pass", STATE)
    time.sleep(2.5)
    second = _run(kernel, "pass", STATE)
    elapsed = time.monotonic() - t0
    assert second["running"]
    assert second["events"] > first["events"] > 0  # no user action: the feed moved
    assert second["windows"] > first["windows"]
    assert second["rows"] > first["rows"] > 0  # the bokeh data source grew
    assert second["renders"] <= 10 * elapsed + 2  # the governor held renders to max_fps
    _run(kernel, "assert sn.stop_all() == 1")
    time.sleep(0.3)
    stopped = _run(kernel, "pass", STATE)
    time.sleep(0.5)
    assert _run(kernel, "pass", STATE)["events"] == stopped["events"]
