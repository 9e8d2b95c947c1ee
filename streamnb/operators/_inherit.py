"""Settings a node takes from the graph above it when not given (the source's time column)."""

from __future__ import annotations

from typing import Any

from streamnb.operators._batch import upstream_attr

__all__ = ["inherited_time"]

_MISSING = object()


def inherited_time(upstream: Any, default: Any) -> Any:
    """The time column named by ``upstream`` or the first node above it that names one;
    ``default`` when none does. ``None`` (processing time) counts as named.

    >>> import streamnb as sn
    >>> src = sn.from_records([], time="ts")
    >>> inherited_time(src.map(dict), default="?"), inherited_time(src, "?")
    ('ts', 'ts')
    >>> from streamz import Stream
    >>> inherited_time(Stream(), default="?")
    '?'
    """
    value = getattr(upstream, "time", _MISSING)
    if value is _MISSING:
        value = upstream_attr(upstream, "time", default=_MISSING)
    return default if value is _MISSING else value
