"""Apply detection rules per key in event time, behind a watermark: the ``Detector``.

Pure logic (no streamz); ``stream.detect(...)`` wraps it. The contract (``W`` is the watermark
as it stood before an event, ``delay`` the ``watermark=`` setting):

- ``W`` = largest event time seen − ``delay``; it never goes back. An event with time
  ``t < W`` is *late*: it is not given to the rules (it goes to the ``.late`` stream).
- Other events are held in a buffer until ``W >= t``; they are then *released* and the rules
  see each key's released events in order of event time, ties in arrival order. Released
  events always come after (in that order) the ones released before, so every rule sees one
  ordered sequence per key, whatever the batching: **batches and records give the same
  alerts**. With ``delay = 0`` an in-order stream is processed at once; set ``watermark=`` to
  the largest delay you expect (``sn.vitals(max_delay="2s")`` → ``watermark="2s"``), or
  out-of-order events are late.
- Alerts carry the event time they happened at (``time``: the triggering event's time; for
  ``absence``, ``last + within``). ``absence`` also fires when ``W > last + within``; when a
  finite stream ends (``advance_watermark(inf)``) every held event is released and
  ``absence`` uses the largest event time seen as its horizon.
- Each update returns the alerts raised, sorted by time, then rule (in the order given), then
  the arrival position of the triggering event.

>>> import numpy as np
>>> from streamnb.state.rules import threshold
>>> det = Detector([threshold("v", above=10, for_=2)], watermark=1)
>>> t = np.array([0.0, 1.0, 3.0, 2.0, 4.0, 5.0])      # t=2 arrives after t=3: held, not late
>>> out = det.update(t, np.zeros(6, dtype=np.int64), np.arange(6),
...                  {"v": np.array([11.0, 12, 14, 13, 9, 1])}, np.zeros((6, 0), dtype=bool))
>>> out.late.tolist(), out.alerts["time"].tolist(), out.alerts["message"]
([False, False, False, False, False, False], [2.0], ['v above 10 for 2 s (max 13)'])
>>> out.alerts["positions"]      # first event of the episode, and the one that completed it
[(0, 3)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from collections.abc import Sequence as SequenceType
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from streamnb.state._matchers import Alerts, Released, make_matcher
from streamnb.state.rules import Rule, When

__all__ = ["Detector", "Outcome", "collect_conditions"]


@dataclass
class Outcome:
    """What one ``update`` (or ``advance_watermark``) produced.

    ``late``: one bool per input event. ``alerts``: columns ``rule``, ``code``, ``time``,
    ``start``, ``value``, ``message``, ``positions``. ``n_released``: events released;
    ``released``: their positions, in event-time order, and ``matched``: per released event
    and rule, whether the rule alerted at it or was in alarm there (both only with
    ``track_matches``).
    """

    late: np.ndarray
    alerts: dict[str, Any]
    released: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    matched: np.ndarray | None = None
    n_released: int = 0

    @property
    def n_alerts(self) -> int:
        return len(self.alerts["time"])


_NO_POSITIONS = np.zeros(0, dtype=np.int64)
_NO_ALERTS: dict[str, Any] = {
    "rule": np.zeros(0, dtype=object),
    "code": np.zeros(0, dtype=np.int64),
    "time": np.zeros(0),
    "start": np.zeros(0),
    "value": np.zeros(0),
    "message": [],
    "positions": [],
}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def collect_conditions(rules: SequenceType[Rule]) -> list[When]:
    """Every distinct condition the rules read, in order of appearance.

    Parameters
    ----------
    rules
        The rules (combinations included).

    Returns
    -------
    list of When

    Examples
    --------
    >>> from streamnb.state.rules import all_of, predicate, sequence
    >>> low = predicate("spo2 < 90")
    >>> [w.label for w in collect_conditions([sequence("hr > 120", "spo2 < 90", within=60),
    ...                                       all_of(low, low)])]
    ['hr > 120', 'spo2 < 90', 'spo2 < 90']
    """
    seen: dict[int, When] = {}
    for rule in rules:
        for when in rule.conditions():
            seen.setdefault(id(when), when)
    return list(seen.values())


class Detector:
    """Rules applied per key, in event time, behind a watermark; see the module docstring.

    Parameters
    ----------
    rules
        One rule or a list of rules (``streamnb.rules.threshold(...)``, ...); names must differ.
    watermark
        Bounded out-of-orderness in seconds: events are held until the watermark (largest
        event time seen minus this) passes them; events older than the watermark are late.
    track_matches
        Also report, per released event, which rules matched it (``Outcome.matched``).
    """

    def __init__(
        self,
        rules: Rule | SequenceType[Rule],
        watermark: float = 0.0,
        track_matches: bool = False,
    ) -> None:
        self.rules: list[Rule] = [rules] if isinstance(rules, Rule) else list(rules)
        if not self.rules:
            raise ValueError("detect needs at least one rule")
        names: set[str] = set()
        for r in self.rules:
            if not isinstance(r, Rule):
                raise TypeError(f"not a rule: {r!r}; use sn.rules.threshold(...) and friends")
            if r.name in names:
                raise ValueError(f"two rules are named {r.name!r}; give one of them name=...")
            names.add(r.name)
        if not math.isfinite(watermark) or watermark < 0:
            raise ValueError(f"watermark must be a duration >= 0, got {watermark!r}")
        self.delay = float(watermark)
        self.track_matches = track_matches
        self.conditions = collect_conditions(self.rules)
        column = {id(w): j for j, w in enumerate(self.conditions)}
        self.fields: list[str] = list(dict.fromkeys(f for r in self.rules for f in r.fields()))
        self.columns: list[str] = list(dict.fromkeys(c for w in self.conditions for c in w.columns))
        self.needs_frame = any(w.needs_frame for w in self.conditions)
        self.matchers = [make_matcher(r, column) for r in self.rules]
        self.watermark = -math.inf
        self.max_time = -math.inf
        self.n_keys = 0
        self._empty: dict[str, np.ndarray] = {
            "t": np.zeros(0),
            "code": np.zeros(0, dtype=np.int64),
            "pos": np.zeros(0, dtype=np.int64),
            "conds": np.zeros((0, len(self.conditions)), dtype=bool),
            **{f: np.zeros(0) for f in self.fields},
        }
        self._held: dict[str, np.ndarray] | None = None  # events waiting for the watermark

    @property
    def pending(self) -> int:
        """Events held until the watermark passes them."""
        return 0 if self._held is None else len(self._held["t"])

    # ----------------------------------------------------------------- conditions
    def evaluate(
        self, columns: Any, frame: Callable[[], pd.DataFrame] | None = None, n: int = 1
    ) -> np.ndarray:
        """The conditions on ``n`` events: an ``(n, conditions)`` bool array.

        ``columns`` maps column names to values (a DataFrame does); ``frame()`` gives the
        events as a DataFrame for callable conditions. Raises ``KeyError``/``ValueError``/the
        callable's exception.
        """
        out = np.empty((n, len(self.conditions)), dtype=bool)
        for j, when in enumerate(self.conditions):
            out[:, j] = when.evaluate(columns, frame)
        return out

    # --------------------------------------------------------------------- events
    def update(
        self,
        times: np.ndarray,
        codes: np.ndarray,
        positions: np.ndarray,
        values: Mapping[str, np.ndarray],
        conds: np.ndarray,
    ) -> Outcome:
        """Take a batch in arrival order: event times (float seconds), key codes (small ints),
        arrival positions (increasing), ``values[field]`` for each of ``fields`` and the
        ``conds`` array from :meth:`evaluate`. Returns the late mask and what was released."""
        n = len(times)
        if not n:
            return Outcome(np.zeros(0, dtype=bool), self._alerts([]))
        runmax = np.maximum.accumulate(times)
        before = np.empty(n)
        before[0] = self.max_time
        np.maximum(runmax[:-1], self.max_time, out=before[1:])
        late = times < np.maximum(self.watermark, before - self.delay)
        self.n_keys = max(self.n_keys, int(codes.max()) + 1)
        batch = {"t": times, "code": codes, "pos": positions, "conds": conds}
        for f in self.fields:
            batch[f] = values[f]
        if late.any():
            keep = ~late
            batch = {c: v[keep] for c, v in batch.items()}
        self.max_time = max(self.max_time, float(runmax[-1]))
        self.watermark = max(self.watermark, self.max_time - self.delay)
        out = self._release(self.watermark, self.watermark, batch)
        out.late = late
        return out

    def advance_watermark(self, watermark: float) -> Outcome:
        """Move the watermark (from upstream); ``inf`` ends the stream: release everything."""
        if watermark == math.inf:
            self.watermark = math.inf
            return self._release(math.inf, self.max_time)
        if watermark > self.watermark:
            self.watermark = watermark
        return self._release(self.watermark, self.watermark)

    # -------------------------------------------------------------------- helpers
    def _release(
        self, limit: float, timer: float, new: dict[str, np.ndarray] | None = None
    ) -> Outcome:
        """Release the held (and ``new``) events with time <= ``limit``, oldest arrivals
        first, and run the rules on them; ``timer`` is the watermark ``absence`` reads."""
        cols = _concat([p for p in (self._held, new) if p is not None and len(p["t"])])
        if cols is None:
            cols = self._empty
        t = cols["t"]
        # held events are in arrival order: a stable sort by time gives (time, arrival)
        if limit == math.inf:
            self._held = None
            by_time = np.argsort(t, kind="stable")
        else:
            wait = t > limit
            hold = np.flatnonzero(wait)
            self._held = {c: v[hold] for c, v in cols.items()} if len(hold) else None
            if len(hold):
                go = np.flatnonzero(~wait)
                by_time = go[np.argsort(t[go], kind="stable")]
            else:
                by_time = np.argsort(t, kind="stable")
        code = cols["code"]
        small = code[by_time].astype(np.uint16 if self.n_keys < 65536 else np.int64)
        by_key = np.argsort(small, kind="stable")  # a radix sort for 16-bit codes
        order = by_time[by_key]
        pos = cols["pos"]
        ev = Released(
            code[order],
            t[order],
            pos[order],
            {f: cols[f][order] for f in self.fields},
            cols["conds"][order],
        )
        parts: list[tuple[int, Alerts]] = []
        matched = None
        if self.track_matches:
            matched = np.zeros((ev.n, len(self.matchers)), dtype=bool)
        for j, m in enumerate(self.matchers):
            if m.size < self.n_keys:
                m.ensure(self.n_keys)
            alerts, alarm = m.step(ev, timer)
            parts.append((j, alerts))
            if matched is not None and alarm is not None and ev.n:
                matched[by_key, j] = alarm
        return Outcome(
            np.zeros(0, dtype=bool),
            self._alerts(parts),
            pos[by_time] if matched is not None else _NO_POSITIONS,
            matched,
            ev.n,
        )

    def _alerts(self, parts: list[tuple[int, Alerts]]) -> dict[str, Any]:
        if not any(len(a) for _, a in parts):
            return _NO_ALERTS
        rule_idx = np.concatenate([np.full(len(a), j) for j, a in parts]) if parts else []
        merged = Alerts.concat([a for _, a in parts])
        if len(merged) > 1:
            order = np.lexsort((merged.trigger, rule_idx, merged.time))
            merged, rule_idx = merged.take(order), np.asarray(rule_idx)[order]
        names = np.array([r.name for r in self.rules], dtype=object)
        return {
            "rule": names[np.asarray(rule_idx, dtype=np.int64)],
            "code": merged.code,
            "time": merged.time,
            "start": merged.start,
            "value": merged.value,
            "message": merged.message,
            "positions": merged.positions,
        }
