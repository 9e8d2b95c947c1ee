"""Cell-scoped graphs in an in-process IPython shell: re-running a cell replaces its nodes."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

import streamnb as sn
from streamnb.notebook import ErrorBadge, registry


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    assert sn.notebook.install(sh)
    sh.run_cell("import streamnb as sn\nfrom streamz import Stream", cell_id="imports")
    return sh


def run(shell, code, cell_id=None):
    result = shell.run_cell(code, cell_id=cell_id)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def test_rerunning_a_cell_processes_each_event_once(shell):
    run(shell, "src = sn.from_records([{'ts': t} for t in range(10)], time='ts')", "make-src")
    pipeline = "seen = []\nsrc.map(lambda r: r['ts']).sink(seen.append)"
    for _ in range(3):  # the learner re-runs the pipeline cell three times
        run(shell, pipeline, "pipeline")
    run(shell, "src.run()", "go")
    assert shell.user_ns["seen"] == list(range(10))
    assert registry.runs["id:pipeline"] == 3


def test_plain_streamz_nodes_are_cell_scoped_too(shell):
    run(shell, "s = Stream()", "plain-src")
    for _ in range(2):
        run(shell, "got = []\ns.map(str).sink(got.append)", "plain-pipe")
    run(shell, "s.emit(1); s.emit(2)", "plain-emit")
    assert shell.user_ns["got"] == ["1", "2"]


def test_without_cell_ids_the_source_text_identifies_the_cell(shell):
    run(shell, "s2 = Stream()")
    for _ in range(2):
        run(shell, "hits = []\ns2.sink(hits.append)")
    run(shell, "s2.emit('x')")
    assert shell.user_ns["hits"] == ["x"]


def test_rerunning_a_source_cell_stops_its_running_source(shell):
    run(shell, "feed = sn.market(seed=1)", "feed")
    old = shell.user_ns["feed"]
    old.stopped = False  # as if started
    run(shell, "feed = sn.market(seed=1)", "feed")
    assert old.stopped and shell.user_ns["feed"] is not old


def test_a_window_cell_rerun_leaves_one_window_on_the_source(shell):
    run(shell, "m = sn.market(seed=4, n=2000, start=0.0, batch=500)", "m")
    for _ in range(3):
        run(shell, "w = m.window('1s', key='symbol', agg={'price': 'mean'})", "w")
    windows = [d for d in shell.user_ns["m"].downstreams if isinstance(d, sn.Window)]
    assert len(windows) == 1


def test_graph_lists_live_nodes_with_their_cells(shell):
    run(shell, "g_src = sn.from_records([{'ts': 1}], time='ts')\ng_w = g_src.window('1s')", "g")
    table = sn.graph()
    rows = table[table["cell"] == "id:g"]
    assert {"FromRecords", "Window"} <= set(rows["type"])
    assert list(table.columns) == ["cell", "node", "type", "upstreams", "running", "in", "errors"]


def test_errors_in_a_user_function_show_on_the_badge_and_do_not_stop_the_source(shell):
    run(shell, "e_src = sn.from_records([{'ts': t, 'v': t % 3} for t in range(9)], time='ts')", "e")
    run(shell, "inv = []\ne_map = e_src.map(lambda r: 1 / r['v'])\ne_map.sink(inv.append)", "f")
    badge = ErrorBadge("id:f")
    badge.refresh()
    assert badge.widget.layout.display == "none"  # hidden while all is well
    run(shell, "e_src.run()", "e-run")
    assert len(shell.user_ns["inv"]) == 6  # the source went on after each failure
    src = shell.user_ns["e_src"]
    assert src.counters["errors"] == 3 and src.dead_letters.count == 3
    assert src.dead_letters.recent[0]["failed_node"] is shell.user_ns["e_map"]
    badge.refresh()
    assert badge.widget.layout.display is None
    assert "3 errors in this cell" in badge.widget.value
    assert "ZeroDivisionError" in badge.widget.value
    # the cell that built the source does not own the failing map: no errors there
    own = ErrorBadge("id:e")
    own.refresh()
    assert own.widget.layout.display == "none"


def test_stop_all_stops_every_running_source(shell):
    run(shell, "a = sn.market(seed=1); b = sn.market(seed=2)", "ab")
    for name in ("a", "b"):
        shell.user_ns[name].stopped = False
    assert sn.stop_all() >= 2
    assert shell.user_ns["a"].stopped and shell.user_ns["b"].stopped
