"""``sn.show(stream)``: a live drawing of the pipeline graph, with per-node counts.

Sources, operators and sinks are drawn left to right by depth, with their edges; each box
shows the node's events in and out, its rate, its errors (exceptions raised in it, caught at
a source) and its last value. It is an SVG in an ipywidgets ``HTML``: no graphviz, nothing to
install. In a Jupyter kernel it refreshes itself on the kernel's event loop.

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": t, "v": t} for t in range(5)], time="ts")
>>> w = src.window("2s", agg={"v": "sum"}); out = w.sink_to_list()
>>> _ = src.run()
>>> view = sn.show(w)
>>> [(n["label"], n["in"], n["out"]) for n in view.snapshot()]
[('FromRecords', 5, 5), ("window('2s')", 5, 3), ('sink', 3, 0)]
>>> "<svg" in view.value
True
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets
import pandas as pd
from streamz import Stream
from tornado.ioloop import PeriodicCallback

from streamnb.operators.base import NODE_ERRORS, DeadLetters
from streamnb.sources.base import EventSource, kernel_loop

__all__ = ["PipelineView", "emitted", "show"]

BOX_W, BOX_H, GAP_X, GAP_Y = 200, 78, 60, 24

# -------------------------------------------------------- emission counting
_EMITTED: dict[int, list[int]] = {}  # id(node) -> [items, rows]
_original_emit = Stream._emit


def _counting_emit(self: Stream, x: Any, metadata: Any = None) -> Any:
    c = _EMITTED.get(id(self))
    if c is None:
        c = _EMITTED[id(self)] = [0, 0]
    c[0] += 1
    c[1] += len(x) if isinstance(x, pd.DataFrame) else 1
    return _original_emit(self, x, metadata=metadata)


if not getattr(Stream._emit, "_streamnb", False):
    _counting_emit._streamnb = True  # type: ignore[attr-defined]
    Stream._emit = _counting_emit  # type: ignore[method-assign]


def emitted(node: Stream) -> int:
    """Rows (events) a node has emitted: a DataFrame counts its rows, anything else one."""
    return _EMITTED.get(id(node), [0, 0])[1]


# ------------------------------------------------------------------ graph
def _graph(stream: Stream) -> list[Stream]:
    """Every node connected to ``stream``: up to the roots, then down from them."""
    roots, todo, seen = [], [stream], set()
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        ups = [u for u in n.upstreams if u is not None]
        if not ups:
            roots.append(n)
        todo.extend(ups)
    order, todo, seen = [], list(roots), set()
    while todo:
        n = todo.pop(0)
        if id(n) in seen or isinstance(n, DeadLetters):
            continue
        seen.add(id(n))
        order.append(n)
        todo.extend(n.downstreams)
    return order


def _label(node: Stream) -> str:
    if node.name and isinstance(node.name, str):
        return node.name
    return type(node).__name__


def _rows_in(node: Stream) -> int:
    counters = getattr(node, "counters", None) or {}
    if "in" in counters:
        return int(counters["in"])
    if isinstance(node, EventSource):
        return int(node.counters["events"])
    return sum(emitted(u) for u in node.upstreams if u is not None)


def _short(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, pd.DataFrame):
        return f"DataFrame {len(value)}×{value.shape[1]}"
    text = repr(value)
    return text if len(text) <= 28 else text[:27] + "…"


class PipelineView(widgets.HTML):
    """A live SVG of the graph around one stream; see :func:`show`."""

    def __init__(self, stream: Stream, refresh: float = 1.0) -> None:
        super().__init__()
        self.stream = stream
        self._last: dict[int, tuple[float, int]] = {}
        self._timer: PeriodicCallback | None = None
        self.add_class("streamnb-pipeline")
        self.refresh()
        if kernel_loop() is not None and refresh > 0:
            self._timer = PeriodicCallback(self.refresh, refresh * 1000)
            self._timer.start()

    def snapshot(self) -> list[dict[str, Any]]:
        """One dict per node: label, type, depth, in, out, rate (rows/s), errors, last."""
        nodes = _graph(self.stream)
        depth: dict[int, int] = {}
        for n in nodes:  # breadth-first order: upstreams first
            ups = [depth[id(u)] for u in n.upstreams if u is not None and id(u) in depth]
            depth[id(n)] = max(ups) + 1 if ups else 0
        now = time.monotonic()
        rows = []
        for n in nodes:
            out = emitted(n)
            t0, out0 = self._last.get(id(n), (now, out))
            rate = (out - out0) / (now - t0) if now > t0 else 0.0
            self._last[id(n)] = (now, out)
            errors = NODE_ERRORS.get(n, 0)
            if isinstance(n, EventSource):
                errors = max(errors, 0)
            rows.append(
                {
                    "node": n,
                    "label": _label(n),
                    "type": type(n).__name__,
                    "depth": depth[id(n)],
                    "in": _rows_in(n),
                    "out": out,
                    "rate": rate,
                    "errors": errors,
                    "dead_letters": getattr(getattr(n, "dead_letters", None), "count", 0),
                    "last": _short(getattr(n, "current_value", None)),
                }
            )
        return rows

    def refresh(self) -> None:
        self.value = self._svg(self.snapshot())

    def _svg(self, rows: list[dict[str, Any]]) -> str:
        pos: dict[int, tuple[int, int]] = {}
        per_depth: dict[int, int] = {}
        for r in rows:
            d = r["depth"]
            i = per_depth.get(d, 0)
            per_depth[d] = i + 1
            pos[id(r["node"])] = (10 + d * (BOX_W + GAP_X), 10 + i * (BOX_H + GAP_Y))
        width = 20 + (max(per_depth) + 1) * (BOX_W + GAP_X) if rows else 100
        height = 20 + max(per_depth.values(), default=1) * (BOX_H + GAP_Y)
        parts = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            "font-family='sans-serif' font-size='11'>"
        ]
        for r in rows:
            x1, y1 = pos[id(r["node"])]
            for d in r["node"].downstreams:
                if id(d) in pos:
                    x2, y2 = pos[id(d)]
                    ax, ay, bx, by = x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2
                    mid = (ax + bx) // 2
                    parts.append(
                        f"<path d='M{ax},{ay} C{mid},{ay} {mid},{by} {bx},{by}' "
                        "fill='none' stroke='#888' stroke-width='1.5'/>"
                    )
        for r in rows:
            x, y = pos[id(r["node"])]
            bad = r["errors"] or r["dead_letters"]
            fill = "#e8f1fb" if isinstance(r["node"], EventSource) else "#f4f4f4"
            stroke = "#b00020" if r["errors"] else "#555"
            lines = [
                f"<tspan font-weight='bold'>{html.escape(r['label'][:30])}</tspan>",
                f"in {r['in']:,} · out {r['out']:,} · {r['rate']:,.0f}/s",
                (
                    f"<tspan fill='#b00020'>errors {r['errors']:,} · dead letters "
                    f"{r['dead_letters']:,}</tspan>"
                    if bad
                    else "errors 0"
                ),
                f"last: {html.escape(r['last'])}",
            ]
            parts.append(
                f"<g class='streamnb-node' data-label='{html.escape(r['label'], quote=True)}' "
                f"data-in='{r['in']}' data-out='{r['out']}' data-errors='{r['errors']}'>"
                f"<rect x='{x}' y='{y}' width='{BOX_W}' height='{BOX_H}' rx='6' "
                f"fill='{fill}' stroke='{stroke}'/>"
            )
            for i, line in enumerate(lines):
                parts.append(f"<text x='{x + 8}' y='{y + 17 + i * 17}'>{line}</text>")
            parts.append("</g>")
        parts.append("</svg>")
        return "".join(parts)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        super().close()


def show(stream: Stream, refresh: float = 1.0) -> PipelineView:
    """Draw the pipeline around ``stream`` live: nodes, edges, counts, rates, errors.

    Parameters
    ----------
    stream
        Any node of the graph (a source, an operator or a sink).
    refresh
        Seconds between redraws in a Jupyter kernel (0: only on ``refresh()``).
    """
    return PipelineView(stream, refresh=refresh)
