"""Widgets as sources: ``sn.from_widget(slider)`` emits a record per change of a trait.

Each record holds the processing time of the change (``time``, from the source's clock), the
widget's name (its ``description``, or ``name=``), the trait, the new and old values. A
``Button`` emits one record per click (``value`` is the click count). ``sn.from_widgets``
merges several widgets into one stream whose records also carry every widget's current value.
Records go through the same machinery as any other source: windows, plots, dead letters.

The source is live as soon as it is made; ``pause()`` holds changes in a queue (nothing is
lost) that ``resume()`` or ``step()`` emits; ``stop()`` detaches it from the widgets.

>>> import ipywidgets as widgets
>>> import streamnb as sn
>>> slider = widgets.IntSlider(value=1, description="rate")
>>> src = sn.from_widget(slider, clock=sn.ManualClock(start=10))
>>> seen = src.sink_to_list()
>>> slider.value = 5
>>> seen
[{'time': 10.0, 'widget': 'rate', 'name': 'value', 'value': 5, 'old': 1}]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from streamz import Stream

from streamnb.sources.base import EventSource
from streamnb.state.clock import Clock

__all__ = ["FromWidget", "from_widget", "from_widgets"]


def _widget_name(widget: Any, fallback: str) -> str:
    return str(getattr(widget, "description", "") or fallback)


class FromWidget(EventSource):
    """Records from trait changes (and button clicks) of one or more widgets."""

    def __init__(
        self,
        widgets: Mapping[str, Any],
        names: str | Sequence[str] = "value",
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(time="time", clock=clock, **kwargs)
        if not widgets:
            raise ValueError("from_widgets() needs at least one widget")
        self.widgets = dict(widgets)
        self.names = [names] if isinstance(names, str) else list(names)
        self._queue: deque[dict[str, Any]] = deque()
        self._clicks: dict[str, int] = {}
        self._handlers: list[tuple[Any, Any, str | None]] = []
        self.combined = len(self.widgets) > 1
        for label, widget in self.widgets.items():
            self._attach(label, widget)
        self.stopped = False  # live from the start: a widget change is an event now

    def _attach(self, label: str, widget: Any) -> None:
        if hasattr(widget, "on_click") and not hasattr(widget, "value"):

            def clicked(_: Any, label: str = label) -> None:
                self._clicks[label] = self._clicks.get(label, 0) + 1
                self._arrive(label, "click", self._clicks[label], self._clicks[label] - 1)

            widget.on_click(clicked)
            self._handlers.append((widget, clicked, None))
            return
        missing = [n for n in self.names if not widget.has_trait(n)]
        if missing:
            raise ValueError(
                f"widget {label!r} ({type(widget).__name__}) has no trait {missing[0]!r}; "
                f"pass names=... (e.g. names='value')"
            )

        def changed(change: dict[str, Any], label: str = label) -> None:
            self._arrive(label, change["name"], change["new"], change["old"])

        widget.observe(changed, names=self.names)
        self._handlers.append((widget, changed, "observe"))

    def _arrive(self, label: str, name: str, new: Any, old: Any) -> None:
        rec: dict[str, Any] = {
            "time": self.clock.now(),
            "widget": label,
            "name": name,
            "value": new,
            "old": old,
        }
        if self.combined:
            for other, w in self.widgets.items():
                rec.setdefault(other, self._clicks.get(other, 0) if other != label else new)
                if hasattr(w, "value"):
                    rec[other] = w.value
        if self.stopped:
            return
        if self.paused:
            self._queue.append(rec)
            return
        self._send(rec)

    @property
    def finite(self) -> bool:
        return False

    def _next_item(self) -> Any:
        return self._queue.popleft() if self._queue else None

    def step(self) -> Any:
        """Emit one held change (while paused); ``None`` if none is held."""
        item = self._next_item()
        if item is not None:
            self._send(item)
        return item

    def start(self) -> None:
        self.stopped = False
        self.resume()

    def resume(self) -> None:
        self.paused = False
        while self._queue:
            self._send(self._queue.popleft())

    def stop(self) -> None:
        """Detach from the widgets: later changes are not events of this source."""
        self.stopped = True
        for widget, handler, kind in self._handlers:
            if kind == "observe":
                widget.unobserve(handler, names=self.names)
            else:
                widget.on_click(handler, remove=True)
        self._handlers = []

    def __repr__(self) -> str:
        return f"<from_widget {list(self.widgets)} counters={self.counters}>"


@Stream.register_api(staticmethod)
def from_widget(
    widget: Any, names: str | Sequence[str] = "value", clock: Clock | None = None, **kw: Any
) -> FromWidget:
    """A source emitting one record per change of ``widget``'s traits (or per click)."""
    name = kw.pop("name", None) or _widget_name(widget, type(widget).__name__.lower())
    return FromWidget({name: widget}, names=names, clock=clock, **kw)


@Stream.register_api(staticmethod)
def from_widgets(*widgets: Any, clock: Clock | None = None, **named: Any) -> FromWidget:
    """One stream of records from several widgets (positional: named by description).

    >>> import ipywidgets as widgets
    >>> import streamnb as sn
    >>> a, b = widgets.FloatSlider(value=1.0), widgets.Checkbox(value=False)
    >>> src = sn.from_widgets(delay=a, on=b, clock=sn.ManualClock())
    >>> seen = src.sink_to_list()
    >>> b.value = True
    >>> seen[0]["widget"], seen[0]["delay"], seen[0]["on"]
    ('on', 1.0, True)
    """
    mapping: dict[str, Any] = {}
    for i, w in enumerate(widgets):
        mapping[_widget_name(w, f"widget{i}")] = w
    mapping.update(named)
    return FromWidget(mapping, clock=clock)
