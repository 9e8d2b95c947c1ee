"""Incremental CSV reading with pyarrow: every row is an event or one ``Unreadable``.

The file is read block by block (``block_size`` bytes) with ``pyarrow.csv.open_csv``, so memory
stays bounded (pyarrow reads up to about 32 blocks ahead). A ragged row (too many or too few
fields) goes to pyarrow's invalid-row handler and becomes one ``Unreadable`` at its place in the
file; every good row around it is still read. Rows are numbered as pyarrow numbers them: the
header is row 1, blank lines are skipped and not counted, and a quoted value may span lines. A
data row's position (its 0-based index among the file's events) is its row number minus 2.

Column types are decided here, not by pyarrow, so that they are the same in every block: each
column is read as bytes and converted, its type fixed by the first block where it holds a value
(integer, else float, else boolean, else text; ISO times stay text, as with ``pandas.read_csv``).
In a later block, an integer column holding a fraction or a missing value gives floats in that
block (as pandas does), and a value that does not fit its column's type ("oops" among numbers)
is kept as its text, never dropped: in the event-time column it then gets a dead letter. A row
holding bytes that are not UTF-8 is one ``Unreadable``.

>>> import tempfile
>>> tmp = tempfile.TemporaryDirectory()
>>> path = Path(tmp.name) / "ticks.csv"
>>> _ = path.write_text("ts,v\\n1,a\\n2,b,extra\\n\\n3,c\\n")
>>> for item in csv_frames(path, block_size=1 << 20):
...     print(item if isinstance(item, Unreadable) else item.to_dict("index"))
{0: {'ts': 1, 'v': 'a'}}
Unreadable(record='2,b,extra', reason='ragged CSV row 3 of ticks.csv: expected 2 fields, found 3')
{2: {'ts': 3, 'v': 'c'}}
>>> tmp.cleanup()
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from streamnb.sources.base import Unreadable

__all__ = ["csv_frames"]

_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)", re.I
)
_BOOL = {"true": True, "false": False, "1": True, "0": False}
_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


def csv_frames(
    path: Path, block_size: int = 1 << 20, max_block: int = 64 << 20
) -> Iterator[pd.DataFrame | Unreadable]:
    """The file's events in order: frames of consecutive good rows, one ``Unreadable`` per bad row.

    A frame's index holds its rows' positions. A row longer than ``block_size`` bytes makes the
    reader start again with larger blocks (skipping what it already gave), up to ``max_block``.
    """
    yield from _CsvReader(path, block_size, max_block)


def _number(text: str, integers: bool) -> Any:
    if integers and _INT.fullmatch(text):
        return int(text)
    if _INT.fullmatch(text) or _FLOAT.fullmatch(text):
        return float(text)
    return text


_PARSE: dict[str, Callable[[str], Any]] = {
    "int": lambda text: _number(text, integers=True),
    "float": lambda text: _number(text, integers=False),
    "bool": lambda text: _BOOL.get(text.lower(), text),
}


def _infer(text: pa.Array) -> str:
    """The type of a column from its first block with values: int, float, bool or str."""
    for kind in ("int", "float", "bool"):
        try:
            pc.cast(text, _ARROW[kind])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return kind
    return "str"


def _decode(raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Bytes as text, and a mask of the values that are not UTF-8 (those become null)."""
    try:
        return pc.cast(raw, pa.string()), np.zeros(len(raw), dtype=bool)
    except pa.ArrowInvalid:
        pass
    values: list[str | None] = []
    bad = np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw.to_pylist()):
        try:
            values.append(None if value is None else value.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(None)
            bad[i] = True
    return pa.array(values, pa.string()), bad


class _CsvReader:
    """One pass over a CSV file; see ``csv_frames``."""

    def __init__(self, path: Path, block_size: int, max_block: int) -> None:
        self.path = path
        self.block_size = block_size
        self.max_block = max(max_block, block_size)
        self.kinds: list[str | None] = []  # each column's type once it is decided
        self.done = 0  # events already given out: a restart skips them
        self.next = 0  # position of the next good row of the current pass
        self.pending: list[tuple[int, Unreadable]] = []  # ragged rows not yet given out

    def __iter__(self) -> Iterator[pd.DataFrame | Unreadable]:
        while True:
            try:
                yield from self._pass()
                return
            except pa.ArrowInvalid as exc:
                message = str(exc)
                if "straddl" in message and self.block_size < self.max_block:
                    self.block_size = min(self.block_size * 4, self.max_block)
                    continue  # a row longer than a block: read again with larger blocks
                if "Empty CSV file" in message or "cannot infer number of columns" in message:
                    return  # no header: no events
                yield from self._flush(np.inf)
                yield Unreadable(
                    None,
                    f"malformed CSV in {self.path.name} after {self.done} rows ({message}); "
                    "the rest of the file is skipped",
                )
                return

    def _names(self) -> list[str]:
        """The column names, parsed by pyarrow from the first complete lines of the file."""
        size = self.block_size
        with open(self.path, "rb") as f:
            while True:
                f.seek(0)
                head = f.read(size)
                if len(head) < size or b"\n" in head or size >= self.max_block:
                    break
                size = min(size * 4, self.max_block)  # no whole line yet: read more
        if len(head) == size and b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]  # parse whole lines only
        with self._open(pa.BufferReader(head), None, lambda row: "skip") as probe:
            return probe.schema.names

    def _open(self, source: Any, names: list[str] | None, handler: Any) -> Any:
        types = {name: pa.binary() for name in names} if names is not None else None
        return pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(block_size=self.block_size, use_threads=False),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )

    def _pass(self) -> Iterator[pd.DataFrame | Unreadable]:
        names = self._names()
        if not self.kinds:
            self.kinds = [None] * len(names)
        self.next = 0
        self.pending = []
        name = self.path.name

        def ragged(row: Any) -> str:
            # pyarrow numbers rows from the header (row 1) when it parses on one thread
            position = row.number - 2 if row.number > 0 else self.next
            reason = (
                f"ragged CSV row {row.number} of {name}: "
                f"expected {row.expected_columns} fields, found {row.actual_columns}"
            )
            self.pending.append((position, Unreadable(row.text, reason)))
            return "skip"

        with self._open(self.path, names, ragged) as reader:
            for batch in reader:
                positions = self._place(batch.num_rows)
                keep = positions >= self.done  # a restart skips what it already gave out
                if not keep.all():
                    batch, positions = batch.filter(pa.array(keep)), positions[keep]
                df, broken = self._convert(batch, names, positions)
                yield from self._merge(df, broken)
        yield from self._flush(np.inf)

    def _place(self, n: int) -> np.ndarray:
        """Positions of the next ``n`` good rows: the next ones no ragged row has taken."""
        out = np.empty(n, dtype=np.int64)
        filled = 0
        for position, _ in self.pending:
            if position < self.next:
                continue
            gap = position - self.next
            if gap >= n - filled:
                break
            out[filled : filled + gap] = np.arange(self.next, position)
            filled += gap
            self.next = position + 1
        out[filled:] = np.arange(self.next, self.next + n - filled)
        self.next += n - filled
        return out

    def _convert(
        self, batch: pa.RecordBatch, names: list[str], positions: np.ndarray
    ) -> tuple[pd.DataFrame, list[tuple[int, Unreadable]]]:
        """The batch as a frame indexed by position, and its rows that are not UTF-8."""
        columns: dict[int, Any] = {}
        not_utf8 = np.zeros(batch.num_rows, dtype=bool)
        bad_column: dict[int, str] = {}
        for i in range(batch.num_columns):
            text, bad = _decode(batch.column(i))
            for row in bad.nonzero()[0]:
                bad_column.setdefault(int(row), names[i])
            not_utf8 |= bad
            columns[i] = self._typed(i, text)
        df = pd.DataFrame(columns)
        df.columns = names
        df.index = pd.Index(positions, dtype="int64")
        broken: list[tuple[int, Unreadable]] = []
        if not_utf8.any():
            raw = batch.filter(pa.array(not_utf8)).to_pylist()
            for row, record in zip(not_utf8.nonzero()[0], raw, strict=True):
                position = int(positions[row])
                reason = (
                    f"CSV row {position + 2} of {self.path.name} is not UTF-8 text "
                    f"(column {bad_column[int(row)]!r})"
                )
                broken.append((position, Unreadable(record, reason)))
            df = df[~not_utf8]
        return df, broken

    def _typed(self, i: int, text: pa.Array) -> Any:
        """Column ``i`` of a block as pandas values of the column's type (see the module doc)."""
        kind = self.kinds[i]
        if kind is None:
            if text.null_count == len(text):
                return np.full(len(text), np.nan)  # no value yet: the type is still open
            kind = self.kinds[i] = _infer(text.drop_null())
        if kind == "str":
            return text.to_pandas()
        for arrow_type in (_ARROW[kind], pa.float64() if kind == "int" else None):
            if arrow_type is None:
                break
            try:
                return pc.cast(text, arrow_type).to_pandas()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        parse = _PARSE[kind]
        values = [np.nan if v is None else parse(v) for v in text.to_pylist()]
        return pd.Series(values, dtype=object)

    def _merge(
        self, df: pd.DataFrame, broken: list[tuple[int, Unreadable]]
    ) -> Iterator[pd.DataFrame | Unreadable]:
        """The frame's rows and the bad rows before its end, in file order."""
        bad = sorted([p for p in self.pending if p[0] < self.next] + broken, key=lambda p: p[0])
        self.pending = [p for p in self.pending if p[0] >= self.next]
        cuts = np.searchsorted(df.index.to_numpy(), [p for p, _ in bad])
        start = 0
        for (position, item), cut in zip(bad, cuts, strict=True):
            if cut > start:
                yield self._give(df.iloc[start:cut])
                start = cut
            if position >= self.done:
                self.done = position + 1
                yield item
        if start < len(df):
            yield self._give(df.iloc[start:])

    def _give(self, df: pd.DataFrame) -> pd.DataFrame:
        self.done = int(df.index[-1]) + 1
        return df

    def _flush(self, upto: float) -> Iterator[Unreadable]:
        """The ragged rows still pending before position ``upto``, in order."""
        for position, item in sorted(self.pending, key=lambda p: p[0]):
            if upto > position >= self.done:
                self.done = position + 1
                yield item
        self.pending = [p for p in self.pending if p[0] >= upto]
