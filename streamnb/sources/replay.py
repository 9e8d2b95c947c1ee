"""``sn.replay``: stream a recorded file (.json, .jsonl, .csv, .parquet) with bounded memory.

Files are read piece by piece, never loaded whole: a ``.json`` document through an incremental
decoder on a rolling text buffer, ``.jsonl`` line by line, ``.csv`` with
``pandas.read_csv(chunksize=...)`` and ``.parquet`` with ``ParquetFile.iter_batches``. Every
event of the file is either emitted or sent to ``dead_letters`` with its reason and position
(its 0-based index among the file's events), so a file larger than memory replays fine and
nothing goes missing silently.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import pandas as pd
from streamz import Stream

from streamnb.sources.base import EventSource
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
_BOM = codecs.BOM_UTF8
_READ_ROWS = 8192  # rows read at a time from .csv/.parquet when emitting records
_SNIPPET = 200  # characters of a malformed document kept in its dead letter
_DECODER = json.JSONDecoder()
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_STRUCTURE = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'["\\]')
_NUMBER_TAIL = re.compile(r"[0-9.eE+\-]*")  # what may still follow a number
_NOTHING: Any = object()


class _Bad(NamedTuple):
    """An event of the file that could not be read: what there was, and why."""

    record: Any
    reason: str


class _Malformed(ValueError):
    """The JSON document is broken at ``pos`` (an index into the buffer)."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class _TextBuffer:
    """A rolling window of decoded UTF-8 text over a binary file, with byte offsets.

    ``buf[pos:]`` is what is left to parse; ``more()`` drops the parsed part and appends the
    next chunk, so memory stays at about one chunk plus the element being decoded.
    """

    def __init__(self, f: BinaryIO, chunk_size: int, offset: int, max_element: int) -> None:
        self.f = f
        self.chunk_size = chunk_size
        self.max_element = max_element
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.base = offset  # byte offset of buf[0] in the file
        self.eof = False
        self.broken = False

    def more(self) -> bool:
        """Read the next chunk; ``False`` at the end of the file."""
        if self.eof:
            return False
        if self.broken:  # the text ends at bytes that are not UTF-8
            raise _Malformed("not UTF-8 text", len(self.buf))
        data = self.f.read(self.chunk_size)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:  # keep the text before the bad bytes
            text = exc.object[: exc.start].decode("utf-8")
            self.broken = True
        done = self.buf[: self.pos]
        self.base += len(done) if done.isascii() else len(done.encode("utf-8"))
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        self.eof = not data and not self.broken
        return not self.eof

    def byte_offset(self, index: int) -> int:
        part = self.buf[:index]
        return self.base + (len(part) if part.isascii() else len(part.encode("utf-8")))

    def peek(self) -> str | None:
        """Skip whitespace; the next character, or ``None`` at the end of the file."""
        while True:
            m = _NON_SPACE.search(self.buf, self.pos)
            if m is not None:
                self.pos = m.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if not self.more():
                return None

    def expect(self, allowed: str, where: str) -> str:
        c = self.peek()
        if c is None or c not in allowed:
            found = "the end of the file" if c is None else repr(c)
            wanted = " or ".join(repr(a) for a in allowed)
            raise _Malformed(f"expected {wanted} {where}, found {found}", self.pos)
        self.pos += 1
        return c

    def decode(self) -> Any:
        """Decode the JSON value at ``pos``, reading more text while it may be incomplete."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # the decoder ran off the end of the buffer: more text may complete the value
                incomplete = exc.pos >= len(self.buf) - 8 or exc.msg.startswith("Unterminated")
                if self.eof or not incomplete:
                    raise _Malformed(exc.msg, exc.pos) from None
                if len(self.buf) - self.pos > self.max_element:
                    raise _Malformed(
                        f"a record longer than {self.max_element} characters", self.pos
                    ) from None
                self.more()
                continue
            if (
                isinstance(value, (int, float))
                and _NUMBER_TAIL.fullmatch(self.buf, end) is not None
                and self.more()
            ):
                continue  # a number at the end of the buffer may go on: "1" + "2.5e3"
            self.pos = end
            return value

    def skip_value(self) -> None:
        """Move past the value at ``pos`` without building it (bounded memory)."""
        if self.peek() not in ("{", "["):
            self.decode()
            return
        depth = 0
        while True:
            m = _STRUCTURE.search(self.buf, self.pos)
            if m is None:
                self.pos = len(self.buf)
                if not self.more():
                    raise _Malformed("the document ends inside a value", self.pos)
                continue
            self.pos = m.end()
            ch = m.group()
            if ch == '"':
                self._skip_string()
            elif ch in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return

    def _skip_string(self) -> None:
        while True:
            m = _IN_STRING.search(self.buf, self.pos)
            if m is None or (m.group() == "\\" and m.end() >= len(self.buf)):
                # no closing quote yet, or a backslash whose escaped char is still unread
                self.pos = len(self.buf) if m is None else m.start()
                if not self.more():
                    raise _Malformed("the document ends inside a string", self.pos)
                continue
            self.pos = m.end() + (m.group() == "\\")
            if m.group() == '"':
                return


def _open_text(
    path: Path, offset: int | None, chunk_size: int, max_element: int
) -> tuple[BinaryIO, _TextBuffer]:
    f = open(path, "rb")  # noqa: SIM115  (closed by the caller's ``with``)
    if offset is None:
        offset = len(_BOM) if f.read(len(_BOM)) == _BOM else 0
    f.seek(offset)
    return f, _TextBuffer(f, chunk_size, offset, max_element)


def _locate_array(path: Path, key: str, chunk_size: int, max_element: int) -> int:
    """Byte offset just past the ``[`` of the records array (top level, or under ``key``)."""
    shown = str(path)
    f, buf = _open_text(path, None, chunk_size, max_element)
    with f:
        try:
            c = buf.peek()
            if c == "[":
                buf.pos += 1
                return buf.byte_offset(buf.pos)
            if c != "{":
                found = "nothing" if c is None else repr(c)
                raise ValueError(
                    f"cannot replay {shown!r}: a .json file holds an array of records or an "
                    f'object such as {{"{key}": [...]}}, but it starts with {found}; '
                    "use .jsonl for one record per line"
                )
            buf.pos += 1
            keys: list[str] = []
            if buf.peek() != "}":
                while True:
                    if buf.peek() != '"':
                        raise _Malformed("expected a key in double quotes", buf.pos)
                    name = buf.decode()
                    keys.append(name)
                    buf.expect(":", f"after key {name!r}")
                    if name == key:
                        if buf.peek() != "[":
                            raise ValueError(
                                f"cannot replay {shown!r}: {key!r} holds "
                                f"{_describe(buf.peek())}, not an array of records; "
                                "pass key='...' naming the array"
                            )
                        buf.pos += 1
                        return buf.byte_offset(buf.pos)
                    buf.skip_value()
                    if buf.expect(",}", "between the keys of the top-level object") == "}":
                        break
            raise ValueError(
                f"cannot replay {shown!r}: no {key!r} array at the top level (keys: {keys}); "
                "pass key='...' naming the array of records, or use .jsonl for one record "
                "per line"
            )
        except _Malformed as exc:
            at = buf.byte_offset(exc.pos)
            raise ValueError(
                f"cannot replay {shown!r}: malformed JSON at byte {at}: {exc.msg}"
            ) from None


def _describe(c: str | None) -> str:
    kinds = {"{": "an object", '"': "a string", "n": "null", "t": "true", "f": "false"}
    return "nothing" if c is None else kinds.get(c, "a number")


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


class Replay(EventSource):
    """Replay a recorded file as a finite stream of records or DataFrame batches.

    The file is streamed with bounded memory: a file larger than memory replays fine. Events
    whose time is missing or unreadable, malformed lines and non-record elements go to
    ``dead_letters`` with their reason and position (0-based index among the file's events).

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
        Bytes read at a time from a ``.json`` document.
    max_record
        Largest record of a ``.json`` document, in characters; beyond, the document is
        reported as malformed instead of being buffered.

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
            self._array_offset = _locate_array(self.path, key, chunk_size, max_record)
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
        self._ahead: Any = _NOTHING  # the next (item, position) once peeked at
        self._read = 0  # events read from the file: the position of the next one

    # ------------------------------------------------------------ reading
    def _stream(self) -> Iterator[Any]:
        """The file's events: records (any JSON value), ``_Bad`` ones, or DataFrame chunks."""
        if self.format == "json":
            return self._json_elements()
        if self.format == "jsonl":
            return self._jsonl_elements()
        rows = self.batch or _READ_ROWS
        frames = self._csv_frames(rows) if self.format == "csv" else self._parquet_frames(rows)
        if self.batch is not None:
            return frames
        return (
            rec
            for chunk in frames
            for rec in ([chunk] if isinstance(chunk, _Bad) else chunk.to_dict("records"))
        )

    def _json_elements(self) -> Iterator[Any]:
        name = self.path.name
        f, buf = _open_text(self.path, self._array_offset, self.chunk_size, self.max_record)
        with f:
            try:
                first = True
                while True:
                    c = buf.peek()
                    if c == "]":
                        return
                    if not first:
                        buf.expect(",", "between records")
                        if buf.peek() is None:
                            raise _Malformed("the document ends inside the array", buf.pos)
                    elif c is None:
                        raise _Malformed("the document ends inside the array", buf.pos)
                    first = False
                    yield buf.decode()
            except _Malformed as exc:
                at = buf.byte_offset(exc.pos)
                start = min(buf.pos, exc.pos)  # the start of the broken record, if known
                yield _Bad(
                    buf.buf[start : start + _SNIPPET],
                    f"malformed JSON at byte {at} of {name}: {exc.msg}; "
                    "the rest of the file is skipped",
                )

    def _jsonl_elements(self) -> Iterator[Any]:
        name = self.path.name
        with open(self.path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                line = raw[len(_BOM) :] if lineno == 1 and raw.startswith(_BOM) else raw
                try:
                    text = line.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    yield _Bad(raw, f"line {lineno} of {name} is not UTF-8 text: {exc.reason}")
                    continue
                if not text:
                    continue
                try:
                    yield json.loads(text)
                except json.JSONDecodeError as exc:
                    yield _Bad(text, f"malformed JSON on line {lineno} of {name}: {exc.msg}")

    def _csv_frames(self, rows: int) -> Iterator[Any]:
        done = 0
        try:
            with pd.read_csv(self.path, chunksize=rows) as reader:
                for df in reader:
                    done += len(df)
                    yield df
        except pd.errors.EmptyDataError:
            return
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            yield _Bad(
                None,
                f"malformed CSV in {self.path.name} after {done} rows "
                f"({str(exc).strip()}); the rest of the file is skipped",
            )

    def _parquet_frames(self, rows: int) -> Iterator[Any]:
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.path) as pf:
            for rb in pf.iter_batches(batch_size=rows):
                yield rb.to_pandas()

    # ---------------------------------------------------------- checking
    def _count_read(self, n: int) -> int:
        pos = self._read
        self._read += n
        self.counters["read"] += n
        return pos

    def _dead_at(self, record: Any, reason: str, pos: int) -> None:
        self._position = pos
        self._dead(record, reason)

    def _usable(self, rec: Any, pos: int) -> bool:
        self._position = pos
        if self.time is not None and isinstance(rec, dict) and _is_missing(rec.get(self.time, 0)):
            self._dead(rec, f"missing event time in field {self.time!r}")
            return False
        return self._check_record(rec)

    def _checked(self, df: pd.DataFrame, pos: int) -> pd.DataFrame:
        df.index = pd.RangeIndex(pos, pos + len(df))
        self._position = pos
        return self._check_batch(df)

    # ----------------------------------------------------------- pulling
    def _pull(self) -> tuple[Any, int] | None:
        """The next usable item and its position; dead-letters what comes before it."""
        if self.batch is None:
            for unit in self._units:
                pos = self._count_read(1)
                if isinstance(unit, _Bad):
                    self._dead_at(unit.record, unit.reason, pos)
                elif self._usable(unit, pos):
                    return unit, pos
            return None
        if self.format in ("csv", "parquet"):
            for unit in self._units:
                if isinstance(unit, _Bad):
                    self._dead_at(unit.record, unit.reason, self._count_read(1))
                    continue
                good = self._checked(unit, self._count_read(len(unit)))
                if len(good):
                    return good, int(good.index[0])
            return None
        while True:
            got = self._json_batch()
            if got is not _NOTHING:
                return got

    def _json_batch(self) -> Any:
        """The next ``batch`` JSON events as one frame (``_NOTHING`` if all were dead)."""
        parts: list[pd.DataFrame] = []
        run: list[dict[str, Any]] = []
        start = self._read

        def flush() -> None:
            if run:
                good = self._checked(pd.DataFrame.from_records(run), start)
                if len(good):
                    parts.append(good)
                run.clear()

        taken = 0
        for unit in self._units:
            pos = self._count_read(1)
            taken += 1
            if isinstance(unit, dict):
                if not run:
                    start = pos
                run.append(unit)
            else:
                flush()
                bad = unit if isinstance(unit, _Bad) else _Bad(unit, _not_a_record(unit))
                self._dead_at(bad.record, bad.reason, pos)
            if taken == self.batch:
                break
        flush()
        if parts:
            df = parts[0] if len(parts) == 1 else pd.concat(parts)
            return df, int(df.index[0])
        return None if taken < self.batch else _NOTHING

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


def _not_a_record(value: Any) -> str:
    return f"expected a record (dict), got {type(value).__name__}"


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
