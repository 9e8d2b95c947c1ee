"""Live plots of any stream: ``stream.plot.line(...)`` returns a HoloViews ``DynamicMap``.

A :class:`LiveView` sink buffers what reaches it (records or DataFrames) in a bounded
:class:`FrameBuffer` and sends the latest frame to an ``hv.streams.Pipe`` through a
:class:`RenderGovernor`, so a fast stream renders at most ``max_fps`` times a second. Each frame
is drawn with hvplot's keyword API (``x=``, ``y=``, ``by=``, ``title=``, ``width=`` ...).

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": t, "v": float(t)} for t in range(5)], time="ts", batch=2)
>>> dmap = src.plot.line(x="ts", y="v", length=3)
>>> _ = src.run()
>>> dmap.streamnb.frame()["v"].tolist()     # the last 3 rows, flushed at the end of the stream
[2.0, 3.0, 4.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import holoviews as hv
import pandas as pd
from streamz import Stream
from streamz.sinks import Sink

from streamnb.plots.buffer import FrameBuffer
from streamnb.plots.governor import RenderGovernor
from streamnb.state.clock import Clock

__all__ = ["KINDS", "LiveView", "PlotAccessor"]

_ELEMENTS = {"line": hv.Curve, "step": hv.Curve, "scatter": hv.Scatter, "area": hv.Area}
KINDS = (*_ELEMENTS, "table")
_PLACEHOLDER_KEY = "(waiting for data)"


class LiveView(Sink):
    """A sink that keeps the last ``length`` rows and pushes them to a HoloViews ``Pipe``.

    Parameters
    ----------
    length
        Rows kept and plotted (older rows are evicted and counted in ``buffer.evicted``).
    max_fps
        At most this many renders a second (the render governor).
    dedupe
        Columns identifying a row that later rows replace; by default a window's key columns
        and ``window_start`` when the stream comes from ``.window``.
    """

    def __init__(
        self,
        upstream: Stream,
        length: int = 1000,
        max_fps: float = 20.0,
        dedupe: Sequence[str] | None = None,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(upstream, **kwargs)
        if dedupe is None:
            dedupe = _window_identity(upstream)
        self.buffer = FrameBuffer(length=length, dedupe=dedupe)
        self.schema = _expected_schema(upstream)
        self.kind = "plot"
        self.pipe = hv.streams.Pipe(data=pd.DataFrame())
        self.governor = RenderGovernor(self._render, max_fps=max_fps, clock=clock)
        self.counters = {"in": 0, "renders": 0}
        self.required: list[str] = []  # columns the plot draws; checked on every update

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> None:
        if self.required:
            have = x.columns if isinstance(x, pd.DataFrame) else x if isinstance(x, dict) else ()
            missing = [c for c in self.required if c not in have]
            if missing:  # raised to the source, which dead-letters the item with this reason
                raise ValueError(
                    f"{self.kind}: column(s) {missing} not in the stream's data; "
                    f"columns are {list(have)}"
                )
        self.counters["in"] += len(x) if isinstance(x, pd.DataFrame) else 1
        self.buffer.add(x)
        self.governor.request()

    def on_watermark(self, watermark: float) -> None:
        if watermark == math.inf:  # the stream ended: show its last state now
            self.governor.flush()

    def flush(self) -> None:
        """Render whatever is buffered now (a paused source, the end of a cell)."""
        self.governor.flush()

    def frame(self) -> pd.DataFrame:
        """The rows the plot shows (after the next render)."""
        return self.buffer.frame()

    def _render(self) -> None:
        self.counters["renders"] += 1
        self.pipe.send(self.buffer.frame())

    def empty_frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """Zero rows with the expected dtypes, so axes are typed right before data arrives."""
        return pd.DataFrame(
            {c: pd.Series([], dtype=self.schema.get(c, "float64")) for c in columns if c}
        )

    def __repr__(self) -> str:
        return (
            f"<LiveView rows={len(self.buffer.frame())} in={self.counters['in']} "
            f"renders={self.counters['renders']} max_fps={self.governor.max_fps}>"
        )


class PlotAccessor:
    """``stream.plot``: live HoloViews plots in hvplot's keyword style.

    ``stream.plot(kind="line", x=..., y=..., by=...)`` or ``stream.plot.line(x=..., y=...)``;
    ``length``, ``max_fps`` and ``dedupe`` configure the live buffer, every other keyword goes
    to hvplot (``title``, ``width``, ``height``, ``color``, ``legend``, ...).
    """

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def __call__(
        self,
        kind: str = "line",
        x: str | None = None,
        y: str | Sequence[str] | None = None,
        by: str | None = None,
        length: int = 1000,
        max_fps: float = 20.0,
        dedupe: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        clock: Clock | None = None,
        **opts: Any,
    ) -> hv.DynamicMap:
        if kind not in KINDS:
            raise ValueError(f"unknown plot kind {kind!r}; choose from {', '.join(KINDS)}")
        view = LiveView(self._stream, length=length, max_fps=max_fps, dedupe=dedupe, clock=clock)
        view.kind = f"plot.{kind}"
        if kind == "table":
            view.required = list(columns or [])
            draw = _table_drawer(view, columns, opts)
        else:
            if x is None or y is None:
                raise ValueError(f"plot.{kind}() needs x= and y= column names")
            ys = [y] if isinstance(y, str) else list(y)
            view.required = [x, *ys, *([by] if by else [])]
            draw = _chart_drawer(view, kind, x, y, by, opts)
        dmap = hv.DynamicMap(draw, streams=[view.pipe])
        dmap.streamnb = view  # the live view behind the plot: .frame(), .flush(), .counters
        return dmap

    def line(self, x: str | None = None, y: str | None = None, **kwargs: Any) -> hv.DynamicMap:
        """A live line plot; ``by=`` draws one line per value of a column."""
        return self(kind="line", x=x, y=y, **kwargs)

    def step(self, x: str | None = None, y: str | None = None, **kwargs: Any) -> hv.DynamicMap:
        """A live step plot."""
        return self(kind="step", x=x, y=y, **kwargs)

    def scatter(self, x: str | None = None, y: str | None = None, **kwargs: Any) -> hv.DynamicMap:
        """A live scatter plot; ``by=`` colours points by a column."""
        return self(kind="scatter", x=x, y=y, **kwargs)

    def area(self, x: str | None = None, y: str | None = None, **kwargs: Any) -> hv.DynamicMap:
        """A live area plot."""
        return self(kind="area", x=x, y=y, **kwargs)

    def timeline(self, length: int = 5000, max_fps: float = 10.0, **opts: Any) -> hv.DynamicMap:
        """The live event-time plane of a window node (:mod:`streamnb.plots.timeline`)."""
        from streamnb.plots.timeline import timeline

        return timeline(self._stream, length=length, max_fps=max_fps, **opts)

    def timeline_explorer(
        self, delays: tuple[float, float] = (0.0, 5.0), step: float = 0.25
    ) -> hv.DynamicMap:
        """Replay the recorded timeline under another watermark delay (a slider)."""
        from streamnb.plots.timeline import timeline_explorer

        return timeline_explorer(self._stream, delays=delays, step=step)

    def table(self, columns: Sequence[str] | None = None, **kwargs: Any) -> hv.DynamicMap:
        """A live table of the latest ``length`` rows (newest last)."""
        return self(kind="table", columns=columns, **kwargs)


def _chart_drawer(view: LiveView, kind: str, x: str, y: Any, by: str | None, opts: dict) -> Any:
    from hvplot import hvPlotTabular  # imported on first use: hvplot pulls in panel

    ys = [y] if isinstance(y, str) else list(y)
    element = _ELEMENTS[kind]
    sort_x = kind in ("line", "step", "area")

    def draw(data: pd.DataFrame) -> Any:
        needed = [x, *ys, *([by] if by else [])]
        if not len(data):
            empty = view.empty_frame(needed)
            placeholder = element(empty, x, ys).opts(**_element_opts(opts))
            if by:
                return hv.NdOverlay({_PLACEHOLDER_KEY: placeholder}, kdims=[by])
            return placeholder
        if sort_x:
            data = data.sort_values(x, kind="stable")
        return hvPlotTabular(data).__call__(kind=kind, x=x, y=y, by=by, **opts)

    return draw


def _table_drawer(view: LiveView, columns: Sequence[str] | None, opts: dict) -> Any:
    cols = list(columns) if columns else None

    def draw(data: pd.DataFrame) -> hv.Table:
        use = cols or list(data.columns) or list(view.schema) or ["value"]
        if not len(data):
            data = view.empty_frame(use)
        return hv.Table(data[use]).opts(**_element_opts(opts))

    return draw


def _element_opts(opts: dict) -> dict:
    """The hvplot keywords that are also plain element options (for placeholders)."""
    keep = ("width", "height", "title", "responsive")
    # framewise: the axes follow each new frame (the placeholder's options are the plot's)
    return {"framewise": True, **{k: v for k, v in opts.items() if k in keep}}


def _window_identity(node: Stream) -> list[str] | None:
    """Key columns + ``window_start`` when ``node`` emits window panes."""
    if getattr(node, "key_columns", None) is not None and hasattr(node, "size"):
        return [*node.key_columns, "window_start"]
    return None


def _expected_schema(node: Stream) -> dict[str, str]:
    """Column dtypes a node will emit, when it can say (``output_schema()``)."""
    schema = getattr(node, "output_schema", None)
    return dict(schema()) if callable(schema) else {}


def _plot_property(self: Stream) -> PlotAccessor:
    return PlotAccessor(self)


_plot_property.__doc__ = PlotAccessor.__doc__
Stream.plot = property(_plot_property)  # type: ignore[attr-defined]
