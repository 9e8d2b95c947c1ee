"""``stream.capture(where=..., max_rows=...)``: keep events in memory, query them with SQL.

A :class:`Capture` is a sink that keeps the events (records or DataFrame rows) passing
``where`` in a bounded ring of DataFrame chunks: once it holds ``max_rows`` rows the oldest are
evicted and counted in ``evicted``, so nothing leaves silently and memory stays bounded.

* ``cap.df`` — a pandas snapshot of what is kept, oldest first;
* ``cap.sql("select ... from capture_1")`` — DuckDB over *every* live capture of the process,
  each registered under its name (``name=`` or ``capture_1``, ``capture_2`` ...; a name given
  twice now names the newer capture), so captures can be joined; each query sees a snapshot;
* ``cap.to_parquet(path)``; ``cap.plot.table()`` (any ``stream.plot`` view, starting from what
  is already captured); ``cap.counters``: ``in`` = ``out`` + ``filtered`` + ``dead_letters``
  + ``skipped``, and ``evicted``.

Captured rows also pass downstream, so a capture can feed other nodes.

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": t, "hr": hr} for t, hr in enumerate([90, 125, 130, 80])],
...                       time="ts", batch=2)
>>> cap = src.capture(where="hr > 120", max_rows=1, name="tachy")
>>> _ = src.run()
>>> cap.df
   ts   hr
0   2  130
>>> cap.evicted, cap.counters["filtered"]
(1, 2)
>>> cap.sql("select count(*) as n, max(hr) as top from tachy")
   n  top
0  1  130
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream
from streamz.sinks import Sink

from streamnb.operators.apply import ON_ERROR
from streamnb.operators.base import NODE_ERRORS, StreamnbNode
from streamnb.state.rules import When

__all__ = ["Capture", "captures", "sql"]

_LOCK = threading.RLock()
_REGISTRY: dict[str, weakref.ref[Capture]] = {}
_NUMBERS = itertools.count(1)
_CONNECTION: Any = None
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FLUSH = 1024  # records buffered before they become a chunk


def captures() -> dict[str, Capture]:
    """The live captures of this process, by name.

    >>> import streamnb as sn
    >>> cap = sn.from_records([], time="ts").capture(name="demo_captures")
    >>> captures()["demo_captures"] is cap
    True
    """
    with _LOCK:
        live = {name: c for name, ref in _REGISTRY.items() if (c := ref()) is not None}
        for name in set(_REGISTRY) - set(live):
            del _REGISTRY[name]
        return live


def sql(query: str) -> pd.DataFrame:
    """Run a DuckDB query over every live capture (each a table named after it).

    >>> import streamnb as sn
    >>> src = sn.from_records([{"ts": 1, "v": 2}, {"ts": 2, "v": 5}], time="ts")
    >>> cap = src.capture(name="demo_sql"); _ = src.run()
    >>> sql("select sum(v) as total from demo_sql")["total"].tolist()
    [7.0]
    """
    import duckdb  # imported on first use

    global _CONNECTION
    with _LOCK:
        if _CONNECTION is None:
            _CONNECTION = duckdb.connect(":memory:")
        con = _CONNECTION
        registered, empty = [], []
        words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)}
        try:
            for name, cap in captures().items():
                if name.lower() not in words:
                    continue
                frame = cap._frame()
                if len(frame.columns):
                    con.register(name, frame)
                    registered.append(name)
                else:
                    empty.append(name)
            try:
                return con.execute(query).df()
            except duckdb.CatalogException as exc:
                hint = f" (captures with no data yet: {empty})" if empty else ""
                raise ValueError(f"{exc}; live captures are {sorted(captures())}{hint}") from None
        finally:
            for name in registered:
                con.unregister(name)


@Stream.register_api(attribute_name="capture")
class Capture(StreamnbNode, Sink):
    """Keep the events passing ``where`` (bounded by ``max_rows``); see the module docstring.

    Parameters
    ----------
    where
        ``None`` (keep everything), a safe expression such as ``"hr > 120"``, or a callable of
        a DataFrame returning one bool per row.
    columns
        Columns to keep (default: all).
    max_rows
        Rows kept; older rows are evicted (and counted in ``evicted``).
    name
        Table name for :meth:`sql` (an identifier); default ``capture_1``, ``capture_2`` ...
    on_error
        ``"dead_letter"`` (default), ``"skip"`` or ``"raise"`` when ``where`` raises.
    """

    counter_names = ("in", "out", "filtered", "evicted", "dead_letters", "errors", "skipped")

    def __init__(
        self,
        upstream: Stream,
        where: str | Callable[[pd.DataFrame], Any] | None = None,
        columns: Sequence[str] | None = None,
        max_rows: int = 100_000,
        name: str | None = None,
        on_error: str = "dead_letter",
        **kwargs: Any,
    ) -> None:
        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
            raise ValueError(f"max_rows must be a positive int, got {max_rows!r}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}; got {on_error!r}")
        if name is None:
            with _LOCK:
                while (name := f"capture_{next(_NUMBERS)}") in _REGISTRY:
                    pass
        elif not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"capture name must be an SQL identifier (letters, digits, _), got {name!r}"
            )
        self.where = None if where is None else When(where)
        self.columns = None if columns is None else list(columns)
        self.max_rows = max_rows
        self.on_error = on_error
        kwargs["stream_name"] = name
        super().__init__(upstream, **kwargs)
        self._chunks: deque[pd.DataFrame] = deque()
        self._records: list[dict[str, Any]] = []
        self._rows = 0  # rows in _chunks
        self._position = 0
        with _LOCK:
            _REGISTRY[name] = weakref.ref(self)

    # ------------------------------------------------------------------ reading
    @property
    def df(self) -> pd.DataFrame:
        """A snapshot of the captured rows (oldest first) as a new DataFrame."""
        return self._frame().copy()

    def _frame(self) -> pd.DataFrame:
        """The captured rows as one frame, shared (not copied): the chunks are merged into it."""
        with _LOCK:
            self._flush()
            if not self._chunks:
                return pd.DataFrame(columns=self.columns or [])
            if len(self._chunks) > 1 or self._chunks[0].index[0] != 0:
                merged = pd.concat(list(self._chunks), ignore_index=True)
                self._chunks = deque([merged])
            return self._chunks[0]

    @property
    def evicted(self) -> int:
        """Rows evicted to keep at most ``max_rows``."""
        with _LOCK:
            self._flush()
            return self.counters["evicted"]

    def __bool__(self) -> bool:  # a node is truthy (streamz tests upstreams with ``if``)
        return True

    def __len__(self) -> int:
        with _LOCK:
            self._flush()
            return self._rows

    def sql(self, query: str) -> pd.DataFrame:
        """Run a DuckDB query; every live capture is a table named after it (see :func:`sql`).

        >>> import streamnb as sn
        >>> src = sn.from_records([{"ts": 1, "v": 2}], time="ts")
        >>> cap = src.capture(name="demo_method"); _ = src.run()
        >>> cap.sql(f"select v from {cap.name}")["v"].tolist()
        [2]
        """
        return sql(query)

    def to_parquet(self, path: str | Path) -> Path:
        """Write the captured rows to a Parquet file; returns its path.

        >>> import streamnb as sn, tempfile, pathlib
        >>> src = sn.from_records([{"ts": 1, "v": 2}], time="ts")
        >>> cap = src.capture(); _ = src.run()
        >>> out = cap.to_parquet(pathlib.Path(tempfile.mkdtemp()) / "cap.parquet")
        >>> pd.read_parquet(out)["v"].tolist()
        [2]
        """
        path = Path(path)
        self.df.to_parquet(path, index=False)
        return path

    def output_schema(self) -> dict[str, str]:
        """Column dtypes of the captured rows, as far as the graph above says (for views).

        >>> import streamnb as sn
        >>> det = sn.vitals(seed=0).detect(sn.rules.absence("10s"), key="patient")
        >>> det.capture(columns=["patient", "ts"]).output_schema()
        {'patient': 'object', 'ts': 'datetime64[ns]'}
        """
        above = getattr(self.upstreams[0], "output_schema", None) if self.upstreams else None
        schema = dict(above()) if callable(above) else {}
        if self.columns is not None:
            schema = {c: schema.get(c, "object") for c in self.columns}
        return schema

    @property
    def plot(self) -> Any:
        """``stream.plot`` views of the capture, starting from the rows already captured."""
        return _SeededPlot(Stream.plot.fget(self), self)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ streamz
    def update(self, x: Any, who: Any = None, metadata: Any = None) -> Any:
        if isinstance(x, pd.DataFrame):
            return self._update_batch(x)
        return self._update_record(x)

    def destroy(self, streams: Any = None) -> None:
        with _LOCK:
            ref = _REGISTRY.get(self.name)
            if ref is not None and ref() is self:
                del _REGISTRY[self.name]
        super().destroy()

    # ------------------------------------------------------------------ helpers
    def _update_batch(self, df: pd.DataFrame) -> Any:
        n = len(df)
        pos0 = self._position
        self._position += n
        self.counters["in"] += n
        if not n:
            return None
        if self.columns is not None:
            missing = [c for c in self.columns if c not in df.columns]
            if missing:
                reason = f"column {missing[0]!r} missing; columns are {list(df.columns)}"
                for i, rec in enumerate(df.to_dict("records")):
                    self._dead(rec, reason, pos0 + i)
                return None
        if self.where is not None:
            keep = self._where_batch(df, pos0)
            if not keep.all():
                df = df[keep]
        if self.columns is not None:
            df = df[self.columns]
        kept = len(df)
        if not kept:
            return None
        self.counters["out"] += kept
        with _LOCK:
            self._flush()
            self._chunks.append(df)
            self._rows += kept
            self._evict()
        return self._emit(df)

    def _update_record(self, rec: Any) -> Any:
        pos = self._position
        self._position += 1
        self.counters["in"] += 1
        if not isinstance(rec, dict):
            self._dead(
                rec, f"expected a record (dict) or a DataFrame, got {type(rec).__name__}", pos
            )
            return None
        if self.columns is not None:
            missing = [c for c in self.columns if c not in rec]
            if missing:
                self._dead(rec, f"field {missing[0]!r} missing; fields are {list(rec)}", pos)
                return None
        if self.where is not None:
            cols = self.where.columns
            missing = [c for c in cols if c not in rec]
            if missing:
                self._dead(rec, f"field {missing[0]!r} missing; fields are {list(rec)}", pos)
                return None
            try:
                ok = self.where.evaluate({c: [rec[c]] for c in cols}, lambda: pd.DataFrame([rec]))
            except Exception as exc:
                self._failed(rec, exc, pos)
                return None
            if not ok[0]:
                self.counters["filtered"] += 1
                return None
        if self.columns is not None:
            rec = {c: rec[c] for c in self.columns}
        self.counters["out"] += 1
        with _LOCK:
            self._records.append(rec)
            if len(self._records) >= _FLUSH:
                self._flush()
        return self._emit(rec)

    def _where_batch(self, df: pd.DataFrame, pos0: int) -> np.ndarray:
        """Rows of ``df`` passing ``where``; rows where it fails are handled by ``on_error``."""
        where = self.where
        missing = [c for c in where.columns if c not in df.columns]
        if missing:
            reason = f"column {missing[0]!r} missing; columns are {list(df.columns)}"
            for i, rec in enumerate(df.to_dict("records")):
                self._dead(rec, reason, pos0 + i)
            return np.zeros(len(df), dtype=bool)
        try:
            keep = where.evaluate(df, lambda: df)
        except Exception:
            if self.on_error == "raise":
                raise
            return self._where_rows(df, pos0)
        self.counters["filtered"] += int(len(df) - keep.sum())
        return keep

    def _where_rows(self, df: pd.DataFrame, pos0: int) -> np.ndarray:
        """``where`` row by row, after it failed on the whole batch."""
        keep = np.zeros(len(df), dtype=bool)
        for i in range(len(df)):
            row = df.iloc[i : i + 1]
            try:
                keep[i] = self.where.evaluate(row, lambda row=row: row)[0]
            except Exception as exc:
                self._failed(row.iloc[0].to_dict(), exc, pos0 + i)
                continue
            if not keep[i]:
                self.counters["filtered"] += 1
        return keep

    def _failed(self, record: Any, exc: BaseException, pos: int) -> None:
        self.counters["errors"] += 1
        NODE_ERRORS[self] = NODE_ERRORS.get(self, 0) + 1
        if self.on_error == "raise":
            raise exc
        if self.on_error == "dead_letter":
            self.counters["dead_letters"] += 1
            self.dead_letters.put(record, f"{type(exc).__name__} in {self.name}: {exc}", pos, exc)
        else:
            self.counters["skipped"] += 1

    def _flush(self) -> None:
        """Turn buffered records into a chunk, then evict."""
        if self._records:
            chunk = pd.DataFrame.from_records(self._records)
            self._records = []
            self._chunks.append(chunk)
            self._rows += len(chunk)
            self._evict()

    def _evict(self) -> None:
        excess = self._rows - self.max_rows
        while excess > 0:
            oldest = self._chunks[0]
            if len(oldest) <= excess:
                self._chunks.popleft()
                gone = len(oldest)
            else:
                self._chunks[0] = oldest.iloc[excess:]
                gone = excess
            self._rows -= gone
            self.counters["evicted"] += gone
            excess -= gone

    def __repr__(self) -> str:
        return (
            f"<capture {self.name!r} rows={len(self)} max_rows={self.max_rows} "
            f"counters={self.counters}>"
        )


class _SeededPlot:
    """``capture.plot``: the stream's plot accessor, with each view seeded from ``cap.df``."""

    def __init__(self, accessor: Any, capture: Capture) -> None:
        self._accessor = accessor
        self._capture = capture

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._seed(self._accessor(*args, **kwargs))

    def __getattr__(self, kind: str) -> Any:
        method = getattr(self._accessor, kind)

        def view(*args: Any, **kwargs: Any) -> Any:
            return self._seed(method(*args, **kwargs))

        view.__doc__ = method.__doc__
        return view

    def _seed(self, dmap: Any) -> Any:
        live = getattr(dmap, "streamnb", None)
        frame = self._capture.df
        if live is not None and len(frame):
            live.buffer.add(frame.tail(live.buffer.length))
            live.flush()
        return dmap
