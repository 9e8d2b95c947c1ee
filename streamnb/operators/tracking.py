"""Which code built which node: collectors notified of every new streamz node.

streamnb patches ``Stream.__init__`` once, so every node — streamnb's and plain streamz's —
is announced to the active collectors. The notebook layer uses this to scope nodes to the
cell that built them; ``sn.interact`` to know which nodes a rebuild made.

>>> from streamz import Stream
>>> with collect_nodes() as made:
...     s = Stream(); m = s.map(str)
>>> made == [s, m]
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from streamz import Stream

__all__ = ["add_collector", "collect_nodes", "remove_collector"]

_collectors: list[Callable[[Stream], None]] = []


def add_collector(collector: Callable[[Stream], None]) -> None:
    """Call ``collector(node)`` for every streamz node built from now on."""
    _collectors.append(collector)


def remove_collector(collector: Callable[[Stream], None]) -> None:
    if collector in _collectors:
        _collectors.remove(collector)


@contextmanager
def collect_nodes() -> Iterator[list[Stream]]:
    """The nodes built inside the ``with`` block, in order."""
    made: list[Stream] = []
    add_collector(made.append)
    try:
        yield made
    finally:
        remove_collector(made.append)


_original_init = Stream.__init__


def _announcing_init(self: Stream, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    for collector in list(_collectors):
        collector(self)


if not getattr(Stream.__init__, "_streamnb", False):
    _announcing_init._streamnb = True  # type: ignore[attr-defined]
    Stream.__init__ = _announcing_init  # type: ignore[method-assign]
