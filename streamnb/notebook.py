"""Jupyter integration: cell-scoped graphs, error badges, ``sn.graph()``, offline plots.

Once ``streamnb`` is imported in an IPython kernel, every streamz node (streamnb's and plain
streamz's) built while a cell runs belongs to that cell. Re-running the cell first tears down
what its previous run built — sources are stopped, nodes disconnected from their upstreams,
sinks released — so an event is processed once however often a cell was run.

Cells are identified by the cell id the front end sends with each execution (JupyterLab,
Notebook 7 and VS Code send one). **Fallback**: front ends that send none (the IPython
terminal, nbval, older clients) identify a cell by its source text, so re-running the same
text replaces its previous run, and an edited cell counts as a new one.

A cell that built nodes shows an error badge under its output: hidden while all is well, it
appears with the count and the last traceback as soon as one of the cell's nodes (or a node
downstream of one of its sources) raises, and it updates live.

>>> import streamnb as sn
>>> from streamnb.notebook import registry
>>> registry.begin("cell-1")     # what the pre_run_cell hook does in a kernel
>>> src = sn.from_records([{"ts": 1}], time="ts"); w = src.window("1s")
>>> registry.end()
>>> len(registry.live_nodes("cell-1")) >= 2
True
>>> registry.begin("cell-1")     # the same cell runs again: its old nodes are torn down
>>> registry.end()
>>> len(src.downstreams), src.stopped, registry.live_nodes("cell-1")
(0, True, [])
"""

from __future__ import annotations

import html
import weakref
from collections.abc import Callable
from typing import Any

from streamz import Stream
from streamz.sinks import Sink, _global_sinks

from streamnb.operators.base import StreamnbNode
from streamnb.operators.tracking import add_collector
from streamnb.sources.base import EventSource, all_sources, kernel_loop

__all__ = ["CellRegistry", "graph", "install", "registry", "setup"]


def setup(inline: bool = True) -> None:
    """Load HoloViews' bokeh extension (BokehJS inlined by default) for live plots.

    HoloViews loads BokehJS from a public CDN by default; with no internet (a lab network, a
    train, a CI machine) nothing would render. Call this once at the top of a notebook.
    """
    import holoviews as hv

    hv.extension("bokeh", inline=inline, logo=False)


class CellRegistry:
    """Which cell built which node, and the teardown of a cell's previous run."""

    def __init__(self) -> None:
        self.current: str | None = None
        self._nodes: dict[str, list[weakref.ref[Stream]]] = {}
        self._teardowns: dict[str, list[Callable[[], None]]] = {}
        self._owner: weakref.WeakKeyDictionary[Stream, str] = weakref.WeakKeyDictionary()
        self.runs: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle
    def begin(self, cell: str) -> None:
        """A cell starts running: tear down what its previous run built."""
        self.teardown(cell)
        self.current = cell
        self.runs[cell] = self.runs.get(cell, 0) + 1

    def end(self) -> None:
        self.current = None

    def add(self, node: Stream) -> None:
        """Record that the running cell built ``node`` (called for every new streamz node)."""
        if self.current is None:
            return
        self._nodes.setdefault(self.current, []).append(weakref.ref(node))
        self._owner[node] = self.current

    def on_teardown(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the running cell is re-run (stop a timer, close a widget)."""
        if self.current is not None:
            self._teardowns.setdefault(self.current, []).append(action)

    def teardown(self, cell: str) -> int:
        """Stop, disconnect and release everything ``cell`` built; returns the node count."""
        nodes = [n for ref in self._nodes.pop(cell, []) if (n := ref()) is not None]
        for action in self._teardowns.pop(cell, []):
            action()
        for node in nodes:
            if isinstance(node, EventSource) or hasattr(node, "stopped"):
                node.stop()
        for node in nodes:
            node.destroy()
            for down in list(node.downstreams):  # nodes of other cells hanging below
                if self._owner.get(down) != cell:
                    node.disconnect(down)
            if isinstance(node, Sink):
                _global_sinks.discard(node)
        return len(nodes)

    # -------------------------------------------------------------- queries
    def owner(self, node: Stream) -> str | None:
        return self._owner.get(node)

    def live_nodes(self, cell: str) -> list[Stream]:
        return [n for ref in self._nodes.get(cell, []) if (n := ref()) is not None]

    def cells(self) -> list[str]:
        return [c for c in self._nodes if self.live_nodes(c)]


registry = CellRegistry()
_installed: dict[str, Any] = {}


def graph() -> Any:
    """Every live streamz node with the cell that built it, as a DataFrame.

    Columns: ``cell``, ``node`` (its name), ``type``, ``upstreams``, ``running`` (sources),
    ``in`` and ``errors`` (when the node counts them).
    """
    import pandas as pd

    rows = []
    for cell in registry.cells():
        for node in registry.live_nodes(cell):
            counters = getattr(node, "counters", {}) or {}
            rows.append(
                {
                    "cell": cell,
                    "node": str(node.name or type(node).__name__),
                    "type": type(node).__name__,
                    "upstreams": ", ".join(str(u.name or type(u).__name__) for u in node.upstreams),
                    "running": (not node.stopped) if hasattr(node, "stopped") else None,
                    "in": counters.get("in", counters.get("events")),
                    "errors": counters.get("errors", 0),
                }
            )
    for src in all_sources():  # sources built outside any cell (imported modules, scripts)
        if registry.owner(src) is None:
            rows.append(
                {
                    "cell": None,
                    "node": str(src.name or type(src).__name__),
                    "type": type(src).__name__,
                    "upstreams": "",
                    "running": not src.stopped,
                    "in": src.counters["events"],
                    "errors": src.counters["errors"],
                }
            )
    columns = ["cell", "node", "type", "upstreams", "running", "in", "errors"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------ badges
class ErrorBadge:
    """A widget under a cell's output: errors raised in the nodes that cell built."""

    def __init__(self, cell: str) -> None:
        import ipywidgets as widgets

        self.cell = cell
        self.widget = widgets.HTML(layout={"display": "none"})
        self.widget.add_class("streamnb-error-badge")
        self.shown = 0

    def sources(self) -> list[EventSource]:
        """The sources whose errors this cell owns: its own, and those feeding its nodes."""
        nodes = registry.live_nodes(self.cell)
        found: dict[int, EventSource] = {}
        todo = list(nodes)
        while todo:
            n = todo.pop()
            if isinstance(n, EventSource):
                found[id(n)] = n
            todo.extend(u for u in n.upstreams if u is not None and id(u) not in found)
        return list(found.values())

    def errors(self) -> list[dict[str, Any]]:
        """Dead letters with an exception, raised in a node of this cell."""
        nodes = registry.live_nodes(self.cell)
        mine = {id(n) for n in nodes}
        letters = []
        for n in nodes:  # operators running user code under on_error="dead_letter"
            own = getattr(n, "dead_letters", None)
            if own is not None and not isinstance(n, EventSource):
                letters.extend(letter for letter in own.recent if "error" in letter)
        for src in self.sources():
            for letter in src.dead_letters.recent:
                if "error" not in letter:
                    continue
                failed = letter.get("failed_node")
                owned = failed is not None and registry.owner(failed) is not None
                if (id(failed) in mine) if owned else (id(src) in mine):
                    letters.append(letter)
        return letters

    def refresh(self) -> None:
        errors = self.errors()
        if len(errors) == self.shown:
            return
        self.shown = len(errors)
        if not errors:
            self.widget.layout.display = "none"
            return
        last = errors[-1]
        failed = last.get("failed_node")
        where = (getattr(failed, "name", None) or type(failed).__name__) if failed else "a node"
        self.widget.value = (
            "<details class='streamnb-error'><summary style='color:#b00020'>"
            f"⚠ {len(errors)} error{'s' if len(errors) != 1 else ''} in this cell's graph "
            f"(last in {html.escape(str(where))}: {html.escape(last['reason'])})</summary>"
            f"<pre>{html.escape(last.get('traceback', ''))}</pre></details>"
        )
        self.widget.layout.display = None


_badges: dict[str, ErrorBadge] = {}


def _refresh_badges() -> None:
    for cell, badge in list(_badges.items()):
        if not registry.live_nodes(cell):
            _badges.pop(cell, None)
            continue
        badge.refresh()


# ----------------------------------------------------------------- IPython
def _cell_key(info: Any) -> str:
    cell_id = getattr(info, "cell_id", None)
    if cell_id:
        return f"id:{cell_id}"
    return f"source:{getattr(info, 'raw_cell', '')}"


def install(shell: Any | None = None) -> bool:
    """Hook streamnb into the running IPython shell (done on import); idempotent.

    Returns True when a shell was found.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or _installed.get("shell") is shell:
        return shell is not None

    def pre_run_cell(info: Any) -> None:
        registry.begin(_cell_key(info))

    def post_run_cell(result: Any) -> None:
        cell = registry.current
        registry.end()
        if cell is None or not registry.live_nodes(cell):
            return
        if shell.__class__.__name__ == "ZMQInteractiveShell":  # a kernel: show the badge
            from IPython.display import display

            badge = _badges[cell] = ErrorBadge(cell)
            display(badge.widget)
            _start_badge_timer()

    shell.events.register("pre_run_cell", pre_run_cell)
    shell.events.register("post_run_cell", post_run_cell)
    _installed["shell"] = shell
    return True


def _start_badge_timer() -> None:
    if "timer" in _installed:
        return
    loop = kernel_loop()
    if loop is None:
        return
    from tornado.ioloop import PeriodicCallback

    timer = PeriodicCallback(_refresh_badges, 500)
    timer.start()
    _installed["timer"] = timer


# Every streamz node built from now on is recorded with the running cell.
add_collector(registry.add)


def _on_widget(widget: Any) -> None:
    """Controls and pipeline views built by a cell stop their timers when it is re-run."""
    from streamnb.widgets import Controls, PipelineView

    if isinstance(widget, (Controls, PipelineView)):
        registry.on_teardown(widget.close)


def _watch_widgets() -> None:
    import ipywidgets

    if not _installed.get("widgets"):
        ipywidgets.Widget.on_widget_constructed(_on_widget)
        _installed["widgets"] = True


_watch_widgets()
install()


def _display_as_pipeline(self: Stream) -> None:
    """Rich display of a streamnb node in a kernel: the live pipeline view around it."""
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
        from streamnb.widgets import show

        display(show(self))
    else:
        print(repr(self))


for _cls in (StreamnbNode, EventSource):
    _cls._ipython_display_ = _display_as_pipeline  # type: ignore[attr-defined]
