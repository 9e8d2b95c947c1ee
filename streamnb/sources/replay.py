"""``sn.replay``: stream a recorded file (.json, .jsonl, .csv, .parquet) with bounded memory.

Files are read piece by piece, never loaded whole: a ``.json`` document through an incremental
decoder on a rolling text buffer and ``.jsonl`` line by line (``_jsonstream``), ``.csv`` block by
block with pyarrow (``_csvstream``) and ``.parquet`` with ``ParquetFile.iter_batches``. Every
event of the file is either emitted or sent to ``dead_letters`` with its reason and position
(its 0-based index among the file's events), so a file larger than memory replays fine and
nothing goes missing silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from streamz import Stream

from streamnb.sources._csvstream import csv_frames
from streamnb.sources._jsonstream import json_elements, jsonl_elements, locate_array
from streamnb.sources.base import EventSource, Unreadable
from streamnb.state.clock import Clock
from streamnb.state.timeparse import column_to_seconds, to_seconds

__all__ = ["Replay", "replay"]

_FORMATS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
_READ_ROWS = 8192  # rows read at a time from .parquet when emitting records
_NOTHING: Any = object()


class Replay(EventSource):
    """Replay a recorded file as a finite stream of records or DataFrame batches.

    The file is streamed with bounded memory: a file larger than memory replays fine. Events
    whose time is missing or unreadable, malformed lines, ragged CSV rows and non-record
    elements go to ``dead_letters`` with their reason and position (0-based index among the
    file's events). A CSV column's type is fixed by the first block where it holds a value;
    a later value that does not fit is kept as text (see ``streamnb.sources._csvstream``).

    Parameters
    ----------
    path
        A ``.json`` file (an array of records, ``[...]``, or an object holding one under
        ``key``, ``{"data": [...]}``), ``.jsonl``/``.ndjson`` (one record per line), ``.csv``
        or ``.parquet``.
    time
        Name of the event-time field; ``None`` for no event time.
    batch
        ``None`` emits records (dicts) one by one; ``k`` emits DataFrames of the next ``k``
        events of the file, less those dead-lettered (the last may be shorter). A batch's index
        holds the rows' positions in the file.
    clock
        Processing time for pacing; ``ManualClock`` makes live replay deterministic.
    speed
        ``None`` replays as fast as possible; a number paces by event time, ``speed`` times
        faster than real time, when the source runs live (``start()``).
    key
        For ``.json`` documents that are objects: the top-level key of the records array.
    chunk_size
        Bytes read at a time from a ``.json`` or ``.csv`` file.
    max_record
        Largest record of a ``.json`` document, in characters, or ``.csv`` row, in bytes;
        beyond, the rest of the file is reported as malformed instead of being buffered.

    Examples
    --------
    >>> import json, os, tempfile
    >>> import streamnb as sn
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "ticks.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"data": [{"ts": 0.5, "v": 1}, {"ts": "oops", "v": 2},
    ...                         {"ts": 1.5, "v": 3}]}, f)
    >>> src = sn.replay(path, time="ts")
    >>> seen = src.sink_to_list()
    >>> _ = src.run()
    >>> seen
    [{'ts': 0.5, 'v': 1}, {'ts': 1.5, 'v': 3}]
    >>> letter = src.dead_letters.recent[0]
    >>> letter["reason"], letter["position"]
    ("unreadable event time 'oops' in field 'ts'", 1)
    >>> src = sn.replay(path, time="ts", batch=2)
    >>> frames = src.sink_to_list()
    >>> _ = src.run()
    >>> [f["v"].tolist() for f in frames]
    [[1], [3]]
    >>> tmp.cleanup()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        time: str | None = None,
        batch: int | None = None,
        clock: Clock | None = None,
        speed: float | None = None,
        key: str = "data",
        chunk_size: int = 1 << 20,
        max_record: int = 64 << 20,
        **kwargs: Any,
    ) -> None:
        shown = os.fspath(path)
        self.path = Path(shown)
        fmt = _FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise ValueError(f"cannot replay {shown!r}: use .json, .jsonl, .csv or .parquet")
        if not self.path.exists():
            raise FileNotFoundError(
                f"cannot replay {shown!r}: no such file (relative paths start at "
                f"{os.getcwd()!r}); check the path"
            )
        if not self.path.is_file():
            raise IsADirectoryError(f"cannot replay {shown!r}: not a file; name one file")
        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)):
            raise ValueError(f"batch must be a positive int or None, got {batch!r}")
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be a positive int or None, got {batch!r}")
        for label, value in (("chunk_size", chunk_size), ("max_record", max_record)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive int, got {value!r}")
        self.format = fmt
        self.batch = batch
        self.key = key
        self.chunk_size = chunk_size
        self.max_record = max_record
        self._array_offset = 0
        if fmt == "json":
            self._array_offset = locate_array(self.path, key, chunk_size, max_record)
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                pq.read_metadata(self.path)
            except (pa.ArrowException, OSError) as exc:
                raise ValueError(
                    f"cannot replay {shown!r}: not a readable parquet file ({exc})"
                ) from None
        kwargs.setdefault("name", f"replay({self.path.name!r})")
        super().__init__(time=time, clock=clock, speed=speed, **kwargs)
        self.counters["read"] = 0
        self._units: Iterator[Any] = self._stream()
        self._left: pd.DataFrame | None = None  # the part of a frame not yet in a batch
        self._ahead: Any = _NOTHING  # the next (item, position) once peeked at
        self._read = 0  # events read from the file: the position of the next one

    # ------------------------------------------------------------ reading
    def _stream(self) -> Iterator[Any]:
        """The file's events in order: JSON values, ``Unreadable`` ones, and (with ``batch``)
        DataFrames of consecutive events from ``.csv`` and ``.parquet`` files."""
        if self.format == "json":
            return json_elements(self.path, self._array_offset, self.chunk_size, self.max_record)
        if self.format == "jsonl":
            return jsonl_elements(self.path)
        if self.format == "csv":
            frames = csv_frames(self.path, self.chunk_size, self.max_record)
        else:
            frames = self._parquet_frames(self.batch or _READ_ROWS)
        if self.batch is not None:
            return frames
        return (
            rec
            for unit in frames
            for rec in (unit.to_dict("records") if isinstance(unit, pd.DataFrame) else [unit])
        )

    def _parquet_frames(self, rows: int) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.path) as pf:
            for rb in pf.iter_batches(batch_size=rows):
                yield rb.to_pandas()

    def _next_unit(self) -> Any:
        """The next unit of ``_stream`` (a frame's rest first); ``_NOTHING`` at the end."""
        if self._left is not None:
            unit, self._left = self._left, None
            return unit
        for unit in self._units:
            if not isinstance(unit, pd.DataFrame) or len(unit):
                return unit
        return _NOTHING

    def _count_read(self, n: int) -> int:
        pos = self._read
        self._read += n
        self.counters["read"] += n
        return pos

    # ----------------------------------------------------------- pulling
    def _pull(self) -> tuple[Any, int] | None:
        """The next usable item and its position; dead-letters what comes before it."""
        if self.batch is not None:
            return self._pull_batch(self.batch)
        for unit in self._units:
            pos = self._count_read(1)
            if isinstance(unit, Unreadable):
                self._dead(unit.record, unit.reason, pos)
            elif self._check_record(unit, pos):
                return unit, pos
        return None

    def _pull_batch(self, size: int) -> tuple[pd.DataFrame, int] | None:
        """The usable events among the next ``size`` of the file, as one frame indexed by
        position, and its first position; ``None`` at the end of the file."""
        while True:
            parts: list[pd.DataFrame] = []
            items: list[Any] = []  # single events (JSON values), in a run
            start = self._read
            need = size
            while need:
                unit = self._next_unit()
                if unit is _NOTHING:
                    break
                if not isinstance(unit, pd.DataFrame):
                    if not items:
                        start = self._read
                    items.append(unit)
                    self._count_read(1)
                    need -= 1
                    continue
                if items:
                    parts.append(self._check_items(items, start))
                    items = []
                if len(unit) > need:
                    unit, self._left = unit.iloc[:need], unit.iloc[need:]
                pos = self._count_read(len(unit))
                unit.index = pd.RangeIndex(pos, pos + len(unit))
                parts.append(self._check_batch(unit))
                need -= len(unit)
            if items:
                parts.append(self._check_items(items, start))
            parts = [p for p in parts if len(p)]
            if parts:
                df = parts[0] if len(parts) == 1 else pd.concat(parts)
                return df, int(df.index[0])
            if need:
                return None  # the file ended

    # ----------------------------------------------------------- EventSource
    def _take(self) -> tuple[Any, int] | None:
        if self._ahead is not _NOTHING:
            got, self._ahead = self._ahead, _NOTHING
            return got
        return self._pull()

    def _next_item(self) -> Any:
        got = self._take()
        if got is None:
            self._position = self._read
            return None
        item, self._position = got
        return item

    def _peek_time(self) -> float | None:
        if self.time is None:
            return None
        if self._ahead is _NOTHING:
            self._ahead = self._pull()
        if self._ahead is None:
            return None
        item = self._ahead[0]
        if isinstance(item, pd.DataFrame):
            return float(column_to_seconds(item[self.time].iloc[:1])[0][0])
        return to_seconds(item[self.time])

    def __repr__(self) -> str:
        return f"<replay {str(self.path)!r} {self.format} time={self.time!r} {self.counters}>"


@Stream.register_api(staticmethod)
def replay(
    path: str | os.PathLike[str],
    time: str | None = None,
    speed: float | None = None,
    batch: int | None = None,
    clock: Clock | None = None,
    **kwargs: Any,
) -> Replay:
    """Replay a .json, .jsonl, .csv or .parquet file; see :class:`Replay`."""
    return Replay(path, time=time, batch=batch, clock=clock, speed=speed, **kwargs)
