"""``FrameBuffer``: the bounded pandas frame behind a live view.

Records and DataFrames go in; ``frame()`` gives the latest ``length`` rows as one DataFrame.
Window panes are *updates* of a window (a late pane replaces the on-time one), so with
``dedupe=[key columns..., "window_start"]`` only the last pane of each window is kept.
Appends are cheap (a list of chunks); the concatenation happens once per render.

>>> buf = FrameBuffer(length=3, dedupe=["k", "window_start"])
>>> buf.add(pd.DataFrame({"k": ["a", "b"], "window_start": [0, 0], "n": [1, 1]}))
>>> buf.add({"k": "a", "window_start": 0, "n": 2})          # a late pane for window a/0
>>> buf.add(pd.DataFrame({"k": ["a", "a"], "window_start": [1, 2], "n": [5, 6]}))
>>> buf.frame().to_dict("list")
{'k': ['a', 'a', 'a'], 'window_start': [0, 1, 2], 'n': [2, 5, 6]}
>>> buf.rows_in, buf.replaced, buf.evicted
(5, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["FrameBuffer"]


class FrameBuffer:
    """The last ``length`` rows of a stream of records and DataFrames.

    Parameters
    ----------
    length
        Rows kept (after de-duplication); older rows are evicted and counted.
    dedupe
        Columns identifying a row that later rows replace (a window's key and start).
    """

    def __init__(self, length: int = 1000, dedupe: Sequence[str] | None = None) -> None:
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive int, got {length!r}")
        self.length = length
        self.dedupe = list(dedupe) if dedupe else None
        self.rows_in = 0
        self.evicted = 0  # rows pushed out by ``length``
        self.replaced = 0  # rows superseded by a later row with the same ``dedupe`` values
        self._chunks: list[pd.DataFrame] = []
        self._records: list[dict[str, Any]] = []
        self._pending_rows = 0
        self._frame: pd.DataFrame | None = None

    def add(self, item: Any) -> None:
        """Buffer one record (dict) or DataFrame; anything else is shown as ``{"value": x}``."""
        if isinstance(item, pd.DataFrame):
            if not len(item):
                return
            self._flush_records()
            self._chunks.append(item)
            n = len(item)
        else:
            self._records.append(item if isinstance(item, dict) else {"value": item})
            n = 1
        self.rows_in += n
        self._pending_rows += n
        if self._pending_rows > 4 * self.length:  # keep memory bounded between renders
            self.frame()

    def _flush_records(self) -> None:
        if self._records:
            self._chunks.append(pd.DataFrame.from_records(self._records))
            self._records = []

    def frame(self) -> pd.DataFrame:
        """The buffered rows, oldest first, at most ``length`` of them."""
        self._flush_records()
        if self._chunks:
            parts = [self._frame, *self._chunks] if self._frame is not None else self._chunks
            parts = [p for p in parts if len(p)]
            df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if self.dedupe and set(self.dedupe) <= set(df.columns):
                before = len(df)
                df = df.drop_duplicates(self.dedupe, keep="last")
                self.replaced += before - len(df)
            if len(df) > self.length:
                self.evicted += len(df) - self.length
                df = df.iloc[-self.length :]
            self._frame = df.reset_index(drop=True)
            self._chunks = []
            self._pending_rows = 0
        return self._frame if self._frame is not None else pd.DataFrame()

    def clear(self) -> None:
        self._chunks, self._records, self._frame = [], [], None
        self._pending_rows = 0
