"""``sn.interact(src, build, **controls)``: a branch of the graph rebuilt by widgets, live.

``build(src, **values)`` builds the part of the graph downstream of ``src`` and returns its
last node. Whenever a control changes, the previous branch is torn down — its nodes
disconnected from ``src``, its sources stopped, its sinks released — and ``build`` runs again
with the new values and attaches to the *running* source: no restart, no duplicate
subscribers, nothing upstream loses state. With ``plot=dict(kind=..., x=..., y=...)`` the
branch's output feeds one live plot that switches to the new results in place.

Controls are widgets, or abbreviations as in ``ipywidgets.interact``: ``(1, 10)`` an integer
slider, ``(0.5, 5.0)`` a float slider, ``["1s", "5s"]`` a dropdown, ``True`` a checkbox.

>>> import streamnb as sn
>>> feed = sn.market(seed=0, start=0.0, batch=500)
>>> def build(src, size):
...     return src.window(size, key="symbol", agg={"price": "mean"})
>>> ui = sn.interact(feed, build, size=["1s", "5s"])
>>> for _ in range(100):
...     _ = feed.step()
>>> ui.controls["size"].value = "5s"      # re-window the live feed
>>> ui.rebuilds, ui.end.size, len([d for d in feed.downstreams if isinstance(d, sn.Window)])
(2, 5.0, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from ipywidgets import interactive
from streamz import Stream
from streamz.sinks import Sink, _global_sinks

from streamnb.operators.tracking import collect_nodes

__all__ = ["Interactive", "interact"]


def _as_widget(name: str, spec: Any) -> widgets.Widget:
    if isinstance(spec, widgets.Widget):
        return spec
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(v, str) for v in spec):
        widget = widgets.Dropdown(options=list(spec), value=spec[0])
    else:
        widget = interactive.widget_from_abbrev(spec, None)
    if widget is None:
        raise ValueError(
            f"cannot make a control for {name}={spec!r}: pass a widget, (min, max), "
            "a list of choices, a bool or a str"
        )
    widget.description = widget.description or name
    return widget


class Interactive:
    """The controls, the current branch and (optionally) its live plot; see :func:`interact`."""

    def __init__(
        self,
        source: Stream,
        build: Callable[..., Stream],
        plot: Mapping[str, Any] | None = None,
        **controls: Any,
    ) -> None:
        if not callable(build):
            raise TypeError("interact() needs build(src, **values) returning the branch's end")
        self.source = source
        self.build = build
        self.controls = {name: _as_widget(name, spec) for name, spec in controls.items()}
        self.status = widgets.HTML()
        self.box = widgets.VBox([*self.controls.values(), self.status])
        self.nodes: list[Stream] = []
        self.end: Stream | None = None
        self.rebuilds = 0
        self.plot: Any = None
        self._rebuild()
        if plot is not None:
            from streamnb.plots.live import PlotAccessor

            self.plot = PlotAccessor(self.end)(**dict(plot))
        for widget in self.controls.values():
            widget.observe(self._on_change, names="value")

    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.controls.items()}

    def _on_change(self, _: Any) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        view = getattr(self.plot, "streamnb", None)
        old_end = self.end
        self._teardown()
        with collect_nodes() as made:
            end = self.build(self.source, **self.values())
        if not isinstance(end, Stream):
            for node in made:
                node.destroy()
            raise TypeError(
                f"build() must return the last node of the branch it built, "
                f"not {type(end).__name__}"
            )
        self.nodes, self.end = made, end
        self.rebuilds += 1
        if view is not None:
            if old_end is not None:
                old_end.disconnect(view)
            view.buffer.clear()
            end.connect(view)
            from streamnb.plots.live import _expected_schema, _window_identity

            view.buffer.dedupe = _window_identity(end)
            view.schema = _expected_schema(end)
            view.flush()
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        self.status.value = f"branch #{self.rebuilds}: <code>{shown}</code>"

    def _teardown(self) -> None:
        for node in self.nodes:
            if hasattr(node, "stopped") and hasattr(node, "stop"):
                node.stop()
        for node in self.nodes:
            node.destroy()
            if isinstance(node, Sink):
                _global_sinks.discard(node)
        self.nodes = []

    def close(self) -> None:
        """Tear the branch down and detach the controls."""
        for widget in self.controls.values():
            widget.unobserve(self._on_change, names="value")
        self._teardown()
        self.box.close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)
        if self.plot is not None:
            display(self.plot)


def interact(
    source: Stream,
    build: Callable[..., Stream],
    plot: Mapping[str, Any] | None = None,
    **controls: Any,
) -> Interactive:
    """Rebuild the graph downstream of ``source`` with ``build(source, **values)`` whenever a
    control changes; see the module docstring."""
    return Interactive(source, build, plot=plot, **controls)
