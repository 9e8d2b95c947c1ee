"""Incremental readers for JSON documents and JSON lines, with bounded memory.

A ``.json`` document is decoded element by element from a rolling text buffer, so a file
larger than memory streams fine; a broken document yields one ``Unreadable`` for the rest of
the file. ``.jsonl`` is read line by line: a malformed line is one ``Unreadable``.

>>> import tempfile
>>> tmp = tempfile.TemporaryDirectory()
>>> path = Path(tmp.name) / "doc.json"
>>> _ = path.write_text('{"meta": {"n": [1, 2]}, "data": [{"ts": 1}, 7, {"ts": 2} x]}')
>>> offset = locate_array(path, "data", chunk_size=4, max_element=1000)
>>> items = list(json_elements(path, offset, chunk_size=4, max_element=1000))
>>> items[:3]
[{'ts': 1}, 7, {'ts': 2}]
>>> items[3]
Unreadable(record='x]}', reason="malformed JSON at byte 57 of doc.json: expected ',' ...")
>>> lines = Path(tmp.name) / "doc.jsonl"
>>> _ = lines.write_text('{"ts": 1}\\n\\n{"ts": \\n[3]\\n')
>>> [getattr(x, "reason", x) for x in jsonl_elements(lines)]
[{'ts': 1}, 'malformed JSON on line 3 of doc.jsonl: Expecting value', [3]]
>>> tmp.cleanup()
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from streamnb.sources.base import Unreadable

__all__ = ["json_elements", "jsonl_elements", "locate_array"]

_BOM = codecs.BOM_UTF8
_SNIPPET = 200  # characters of a malformed document kept in its dead letter
_DECODER = json.JSONDecoder()
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_STRUCTURE = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'["\\]')
_NUMBER_TAIL = re.compile(r"[0-9.eE+\-]*")  # what may still follow a number


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


def locate_array(path: Path, key: str, chunk_size: int, max_element: int) -> int:
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


def json_elements(path: Path, offset: int, chunk_size: int, max_element: int) -> Iterator[Any]:
    """The elements of the array starting at byte ``offset`` (see ``locate_array``), in order.

    A broken document ends with one ``Unreadable`` holding the start of the broken element.
    """
    name = path.name
    f, buf = _open_text(path, offset, chunk_size, max_element)
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
            yield Unreadable(
                buf.buf[start : start + _SNIPPET],
                f"malformed JSON at byte {at} of {name}: {exc.msg}; "
                "the rest of the file is skipped",
            )


def jsonl_elements(path: Path) -> Iterator[Any]:
    """The values of a JSON-lines file, line by line; blank lines are skipped.

    A line that is not UTF-8 or not JSON is one ``Unreadable`` holding the line.
    """
    name = path.name
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw[len(_BOM) :] if lineno == 1 and raw.startswith(_BOM) else raw
            try:
                text = line.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                yield Unreadable(raw, f"line {lineno} of {name} is not UTF-8 text: {exc.reason}")
                continue
            if not text:
                continue
            try:
                yield json.loads(text)
            except json.JSONDecodeError as exc:
                yield Unreadable(text, f"malformed JSON on line {lineno} of {name}: {exc.msg}")
