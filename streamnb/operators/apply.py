"""``.apply(func)`` and ``.keep(predicate)``: user functions with an error policy.

streamz's ``map`` and ``filter`` let an exception escape into whatever emitted the event.
These two nodes run user code under ``on_error``:

* ``"dead_letter"`` (default) — the event goes to the node's ``dead_letters`` with the
  exception and its traceback, is counted in ``counters["errors"]``, and the stream goes on;
* ``"skip"`` — the event is counted in ``counters["errors"]`` and dropped on purpose;
* ``"raise"`` — the exception propagates (a streamnb source upstream still catches it, counts
  it and dead-letters the event: a source never stops on a bad event).

``keep`` counts the events its predicate rejects in ``counters["filtered"]``, so
events in = out + filtered + errors always holds.

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": t, "v": t % 3} for t in range(6)], time="ts")
>>> inv = src.apply(lambda r: 1 / r["v"]); out = inv.sink_to_list()
>>> _ = src.run()
>>> out, inv.counters
([1.0, 0.5, 1.0, 0.5], {'in': 6, 'out': 4, 'dead_letters': 2, 'errors': 2, 'filtered': 0})
>>> inv.dead_letters.recent[0]["reason"]
'ZeroDivisionError in apply(<lambda>): division by zero'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamz import Stream

from streamnb.operators.base import NODE_ERRORS, StreamnbNode

__all__ = ["ON_ERROR", "Apply", "Keep"]

ON_ERROR = ("dead_letter", "skip", "raise")


class _UserCode(StreamnbNode):
    counter_names = ("in", "out", "dead_letters", "errors", "filtered")

    def __init__(
        self, upstream: Stream, func: Callable[..., Any], on_error: str, label: str, **kw: Any
    ) -> None:
        if not callable(func):
            raise TypeError(f"{label}() needs a function, got {type(func).__name__}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}; got {on_error!r}")
        name = getattr(func, "__name__", type(func).__name__)
        kw.setdefault("stream_name", f"{label}({name})")
        super().__init__(upstream, **kw)
        self.func = func
        self.on_error = on_error
        self._position = 0

    def _call(self, x: Any) -> tuple[bool, Any]:
        """(ok, result) of the user function under the error policy."""
        pos = self._position
        self._position += 1
        self.counters["in"] += 1
        try:
            return True, self.func(x)
        except Exception as exc:
            self.counters["errors"] += 1
            NODE_ERRORS[self] = NODE_ERRORS.get(self, 0) + 1
            if self.on_error == "raise":
                raise
            if self.on_error == "dead_letter":
                self.counters["dead_letters"] += 1
                reason = f"{type(exc).__name__} in {self.name}: {exc}"
                self.dead_letters.put(x, reason, pos, error=exc)
            return False, None


@Stream.register_api(attribute_name="apply")
class Apply(_UserCode):
    """Apply ``func`` to every event (record or batch) under an error policy; see module."""

    def __init__(
        self, upstream: Stream, func: Callable[[Any], Any], on_error: str = "dead_letter", **kw: Any
    ) -> None:
        super().__init__(upstream, func, on_error, "apply", **kw)

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        ok, result = self._call(x)
        if ok:
            self.counters["out"] += 1
            return self._emit(result)
        return None


@Stream.register_api(attribute_name="keep")
class Keep(_UserCode):
    """Pass on the events for which ``predicate(event)`` is true; count the rest as filtered.

    >>> import streamnb as sn
    >>> src = sn.from_records([{"ts": t} for t in range(5)], time="ts")
    >>> even = src.keep(lambda r: r["ts"] % 2 == 0); out = even.sink_to_list()
    >>> _ = src.run()
    >>> len(out), even.counters["filtered"]
    (3, 2)
    """

    def __init__(
        self,
        upstream: Stream,
        predicate: Callable[[Any], bool],
        on_error: str = "dead_letter",
        **kw: Any,
    ) -> None:
        super().__init__(upstream, predicate, on_error, "keep", **kw)

    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        ok, verdict = self._call(x)
        if not ok:
            return None
        if verdict:
            self.counters["out"] += 1
            return self._emit(x)
        self.counters["filtered"] += 1
        return None
