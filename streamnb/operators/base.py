"""What every streamnb node shares: counters, dead letters and watermark propagation.

Watermarks travel beside the data, not in it: ``propagate_watermark(node, w)`` walks the
graph below ``node`` and calls ``on_watermark(w)`` on each streamnb node it meets, passing
through plain streamz nodes. A finite source sends ``inf`` when it ends, so every open
window fires. Processing time travels the same way: a live source calls
``propagate_tick(node, now)`` every interval (``on_tick``), and ``src.tick()`` does it by hand.
"""

from __future__ import annotations

import logging
import math
import traceback
import weakref
from collections import deque
from typing import Any

from streamz import Stream

__all__ = [
    "NODE_ERRORS",
    "DeadLetters",
    "StreamnbNode",
    "failing_node",
    "propagate_tick",
    "propagate_watermark",
]


class DeadLetters(Stream):
    """The stream of input a node could not use: ``{"record", "reason", "position", "node"}``.

    It also keeps a count and the most recent letters (``recent``), so nothing is lost when
    no one has subscribed yet.

    >>> dl = DeadLetters(owner="demo")
    >>> seen = dl.sink_to_list()
    >>> dl.put({"ts": "x"}, "unreadable event time 'x' in column 'ts'", 3)
    >>> dl.count, seen[0]["reason"], seen[0]["position"]
    (1, "unreadable event time 'x' in column 'ts'", 3)
    """

    def __init__(self, owner: str = "", keep: int = 1000) -> None:
        super().__init__(stream_name=f"{owner}.dead_letters" if owner else "dead_letters")
        self.owner = owner
        self.count = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def put(
        self, record: Any, reason: str, position: int | None, error: BaseException | None = None
    ) -> None:
        letter: dict[str, Any] = {
            "record": record,
            "reason": reason,
            "position": position,
            "node": self.owner,
        }
        if error is not None:
            letter["error"] = error
            letter["traceback"] = "".join(traceback.format_exception(error))
            failed = failing_node(error)
            if failed is not None:
                letter["failed_node"] = failed
                NODE_ERRORS[failed] = NODE_ERRORS.get(failed, 0) + 1
        self.count += 1
        self.recent.append(letter)
        self._emit(letter)


class _QuietStreamzErrors(logging.Filter):
    """streamz logs every exception raised in a node (``logger.exception``) and re-raises it.
    streamnb catches it at the source, counts it and dead-letters it with its traceback (and a
    notebook shows it on the cell's error badge), so the log line is a duplicate that would
    print a traceback per bad event under whatever cell is running: drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


logging.getLogger("streamz.core").addFilter(_QuietStreamzErrors())

NODE_ERRORS: weakref.WeakKeyDictionary[Stream, int] = weakref.WeakKeyDictionary()
"""Exceptions raised in each node (any streamz node) and caught at a streamnb source."""


def failing_node(error: BaseException) -> Stream | None:
    """The deepest streamz node on the traceback of ``error``: where a user function raised.

    >>> from streamz import Stream
    >>> s = Stream(); m = s.map(lambda x: 1 / x)
    >>> try:
    ...     s.emit(0)
    ... except ZeroDivisionError as exc:
    ...     failing_node(exc) is m
    True
    """
    found = None
    tb = error.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, Stream):
            found = candidate
        tb = tb.tb_next
    return found


class StreamnbNode(Stream):
    """Base of streamnb operators: ``counters``, ``dead_letters`` and ``on_watermark``."""

    counter_names: tuple[str, ...] = ("in", "out", "dead_letters")

    def __init__(self, upstream: Stream | None = None, **kwargs: Any) -> None:
        super().__init__(upstream, **kwargs)
        label = kwargs.get("stream_name") or type(self).__name__.lower()
        self.dead_letters = DeadLetters(owner=label)
        self.counters: dict[str, int] = dict.fromkeys(self.counter_names, 0)
        self.watermark_seconds = -math.inf

    def _dead(self, record: Any, reason: str, position: int | None) -> None:
        self.counters["dead_letters"] += 1
        self.dead_letters.put(record, reason, position)

    def on_watermark(self, watermark: float) -> None:
        """React to an upstream watermark (seconds); the default passes it on."""
        self.watermark_seconds = max(self.watermark_seconds, watermark)
        propagate_watermark(self, watermark)

    def on_tick(self, now: float) -> None:
        """React to processing time passing (live sources tick every interval); the default
        passes it on. Processing-time windows, idle timeouts and early panes use it."""
        propagate_tick(self, now)


def propagate_watermark(node: Stream, watermark: float) -> None:
    """Tell every streamnb node below ``node`` that event time has reached ``watermark``."""
    for child in list(node.downstreams):
        handler = getattr(child, "on_watermark", None)
        if handler is not None:
            handler(watermark)
        else:
            propagate_watermark(child, watermark)


def propagate_tick(node: Stream, now: float) -> None:
    """Tell every streamnb node below ``node`` that processing time is now ``now``."""
    for child in list(node.downstreams):
        handler = getattr(child, "on_tick", None)
        if handler is not None:
            handler(now)
        else:
            propagate_tick(child, now)
