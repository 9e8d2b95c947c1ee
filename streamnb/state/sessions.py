"""Session windows per key, with watermarks and allowed lateness, on numpy arrays.

Pure logic (no streamz), the same shape as :class:`~streamnb.state.tumbling.TumblingWindows`.
The contract of DESIGN.md, read for sessions (``W`` is the watermark as it stood before an
event, ``gap`` the inactivity gap, ``lateness`` the allowed lateness):

- An event at ``t`` makes a proto-session ``[t, t + gap)``. It is *late* (``dropped``: it goes
  to the ``.late`` stream) iff ``t + gap + lateness <= W``, whatever it might have joined.
- Otherwise it merges with every retained session of its key that overlaps or touches
  ``[t, t + gap)`` (``[s1, e1)`` and ``[s2, e2)`` merge when ``s1 <= e2`` and ``s2 <= e1``), so
  an out-of-order event can bridge two sessions. A session spans
  ``[first event time, last event time + gap)``: ``window_start`` and ``window_end``.
- Then ``W`` advances (``max event time - watermark``, never back). A session fires when
  ``end <= W``: the first time with an ``on_time`` pane. A session that has fired (or merged
  with one that has) and then takes an event re-emits a ``late`` pane, accumulating (all its
  events), once ``end <= W`` (at once if it already is). As for tumbling windows, a session
  that takes an event when ``W`` has already passed its end fires at once with a ``late`` pane
  even if it never fired before (Beam's LATE timing). Such events, and events joining a
  session that has fired, are counted as ``late_accepted``.
- A session is dropped from state once ``end + lateness <= W``, so state is bounded by the
  open sessions. ``advance_watermark(inf)``, the end of a finite stream, fires every session.
- Batch equivalence: ``update`` returns the late events and, of the panes record-at-a-time
  processing would emit during the batch, those not superseded later in the batch by a pane
  of the same session (grown or merged), with the contents they had when emitted. So the last
  pane of every session is the same for any batching.

The session bookkeeping runs per event in Python (bisect over each key's sorted sessions,
heaps of ends); the statistics live in :class:`SlotStats`, one slot per session, and are
folded per batch with numpy.

>>> sw = SessionWindows(gap=5, aggs={"v": ("sum",)})
>>> codes = np.zeros(3, dtype=np.int64)
>>> out = sw.update(np.array([0.0, 12.0, 6.0]), codes, {"v": np.array([1.0, 2.0, 4.0])})
>>> out.panes["window_start"].tolist(), out.panes["window_end"].tolist(), out.panes["pane"]
([0.0], [5.0], array(['on_time'], dtype=object))
>>> out.dropped.tolist()  # t=6 came after W=12 passed 6 + 5
[False, False, True]
>>> sw.advance_watermark(np.inf).panes["v_sum"].tolist()
[2.0]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from heapq import heappop, heappush

import numpy as np
import pandas as pd

from streamnb.state.aggregates import SlotStats
from streamnb.state.tumbling import PANE_LATE, PANE_ON_TIME, BatchOutcome

__all__ = ["SessionWindows"]


class _Batch:
    """Bookkeeping of one ``update`` (or ``advance_watermark``) call.

    Slots freed during a call are reused only after it, so within a call a slot names one
    session: ``members[s]`` lists the slots merged into ``s`` (itself first), ``pend[s]`` the
    panes of its lineage not superseded yet.
    """

    __slots__ = ("freed", "members", "new", "panes", "pend", "superseded", "touched")

    def __init__(self) -> None:
        self.new: set[int] = set()  # slots allocated in this call
        self.touched: set[int] = set()  # slots that took events or absorbed sessions
        self.freed: list[int] = []
        self.members: dict[int, list[int]] = {}
        self.pend: dict[int, list[int]] = {}
        # pane: (event index, slot, kind, code, start, end, count, members at that time)
        self.panes: list[tuple[int, int, str, int, float, float, int, tuple[int, ...]]] = []
        self.superseded: list[bool] = []


class SessionWindows:
    """Keyed session windows over float epoch seconds; see the module docstring.

    Parameters
    ----------
    gap
        Inactivity gap in seconds: events of a key closer than this share a session.
    aggs
        ``{column: (agg, ...)}`` as returned by :func:`normalise_agg`.
    watermark
        Bounded out-of-orderness: ``W = max event time seen - watermark``.
    lateness
        Allowed lateness: a fired session keeps accepting events (emitting ``late`` panes)
        until ``end + lateness <= W``.
    """

    def __init__(
        self,
        gap: float,
        aggs: Mapping[str, tuple[str, ...]],
        watermark: float = 0.0,
        lateness: float = 0.0,
    ) -> None:
        if not gap > 0:
            raise ValueError(f"session gap must be positive, got {gap!r}")
        if watermark < 0 or lateness < 0:
            raise ValueError("watermark delay and lateness must be >= 0")
        self.gap = float(gap)
        self.delay = float(watermark)
        self.lateness = float(lateness)
        self.aggs = dict(aggs)
        self._names = [f"{c}_{a}" for c, names in self.aggs.items() for a in names]
        self.watermark = -np.inf
        self._capacity = cap = 64
        self.stats = SlotStats(self.aggs, cap)
        # per-slot session metadata, as Python lists: the bookkeeping reads them per event
        self._code = [0] * cap
        self._start = [0.0] * cap
        self._last = [0.0] * cap
        self._count = [0] * cap
        self._fired = [False] * cap
        self._dirty = [False] * cap  # fired, then took events: owes a late pane
        self._behind = [False] * cap  # took an event with W already past its end
        self._live = [False] * cap
        self._gen = [0] * cap  # bumped when a slot is freed: older heap entries are stale
        self._in_fire = [False] * cap
        self._free: list[int] = list(range(cap - 1, -1, -1))
        self._by_key: dict[int, tuple[list[float], list[int]]] = {}  # starts, slots
        self._fire_heap: list[tuple[float, int, int]] = []  # (<= end, slot, gen), due slots
        self._drop_heap: list[tuple[float, int, int]] = []  # (<= end + lateness, slot, gen)
        self._open = 0

    # ------------------------------------------------------------------ state
    @property
    def open_windows(self) -> int:
        """How many sessions are held in memory."""
        return self._open

    def _grow(self) -> None:
        old = self._capacity
        self._capacity = new = old * 2
        for name, fill in (
            ("_code", 0),
            ("_start", 0.0),
            ("_last", 0.0),
            ("_count", 0),
            ("_fired", False),
            ("_dirty", False),
            ("_behind", False),
            ("_live", False),
            ("_gen", 0),
            ("_in_fire", False),
        ):
            getattr(self, name).extend([fill] * (new - old))
        self.stats.grow(new)
        self._free.extend(range(new - 1, old - 1, -1))

    def _alloc(self) -> int:
        if not self._free:
            self._grow()
        return self._free.pop()

    # ---------------------------------------------------------------- updates
    def update(
        self, times: np.ndarray, codes: np.ndarray, values: Mapping[str, np.ndarray]
    ) -> BatchOutcome:
        """Process one batch, in arrival order; ``times`` must hold no NaN."""
        n = len(times)
        if n == 0:
            return self._finish(_Batch(), np.zeros(0, dtype=bool), times, values, [], 0)
        gap, lateness, delay = self.gap, self.lateness, self.delay
        code, start, last, count = self._code, self._start, self._last, self._count
        fired, dirty, behind = self._fired, self._dirty, self._behind
        live, gen, in_fire = self._live, self._gen, self._in_fire
        by_key, fire_heap, drop_heap = self._by_key, self._fire_heap, self._drop_heap
        b = _Batch()
        w = self.watermark
        dropped = [False] * n
        ev_slot = [-1] * n
        late_acc = 0
        for i, (t, k) in enumerate(zip(times.tolist(), codes.tolist(), strict=True)):
            if t + gap + lateness <= w:
                dropped[i] = True
                continue
            entry = by_key.get(k)
            if entry is None:
                entry = by_key[k] = ([], [])
            starts, slots = entry
            j = bisect_right(starts, t + gap)  # sessions [0, j) start at or before t + gap
            m = j
            while m and last[slots[m - 1]] + gap >= t:  # ... and [m, j) end at or after t
                m -= 1
            if m == j:  # a new session
                s = self._alloc()
                b.new.add(s)
                code[s], start[s], last[s], count[s] = k, t, t, 1
                fired[s] = dirty[s] = behind[s] = False
                live[s] = in_fire[s] = True
                starts.insert(j, t)
                slots.insert(j, s)
                heappush(fire_heap, (t + gap, s, gen[s]))
                heappush(drop_heap, (t + gap + lateness, s, gen[s]))
                self._open += 1
            else:
                s = slots[m]
                if j - m > 1:
                    self._merge(b, s, slots[m + 1 : j])
                    del starts[m + 1 : j]
                    del slots[m + 1 : j]
                if t < start[s]:
                    start[s] = starts[m] = t
                if t > last[s]:
                    last[s] = t
                count[s] += 1
            b.touched.add(s)
            ev_slot[i] = s
            if fired[s]:
                late_acc += 1
                dirty[s] = True
                if not in_fire[s]:
                    in_fire[s] = True
                    heappush(fire_heap, (last[s] + gap, s, gen[s]))
            elif last[s] + gap <= w:
                late_acc += 1
                behind[s] = True
            if t - delay > w:
                w = t - delay
            if fire_heap and fire_heap[0][0] <= w:
                self._fire(b, w, i)
            if drop_heap and drop_heap[0][0] <= w:
                self._drop(b, w)
        self.watermark = w
        return self._finish(b, np.array(dropped), times, values, ev_slot, late_acc)

    def advance_watermark(self, watermark: float) -> BatchOutcome:
        """Move the watermark to ``watermark`` (never back): fires and evicts sessions.
        ``np.inf`` is the end of a finite stream: every open session fires."""
        b = _Batch()
        if watermark > self.watermark:
            self.watermark = w = float(watermark)
            self._fire(b, w, -1)
            self._drop(b, w)
        return self._finish(b, np.zeros(0, dtype=bool), np.zeros(0), {}, [], 0)

    # ----------------------------------------------------- session bookkeeping
    def _merge(self, b: _Batch, dst: int, srcs: list[int]) -> None:
        """Merge the sessions ``srcs`` into ``dst`` (which starts first)."""
        members = b.members.setdefault(dst, [dst])
        pend = b.pend.setdefault(dst, [])
        for s in srcs:
            members.extend(b.members.pop(s, (s,)))
            pend.extend(b.pend.pop(s, ()))
            self._count[dst] += self._count[s]
            self._last[dst] = max(self._last[dst], self._last[s])
            self._fired[dst] = self._fired[dst] or self._fired[s]
            self._free_slot(b, s)

    def _free_slot(self, b: _Batch, s: int) -> None:
        self._live[s] = self._in_fire[s] = False
        self._gen[s] += 1
        b.freed.append(s)
        self._open -= 1

    def _fire(self, b: _Batch, w: float, i: int) -> None:
        """Emit a pane for every due session (unfired, or owing a late pane) with end <= w."""
        heap, gap = self._fire_heap, self.gap
        fired, dirty, gen = self._fired, self._dirty, self._gen
        while heap and heap[0][0] <= w:
            _, s, g = heappop(heap)
            if g != gen[s]:
                continue
            self._in_fire[s] = False
            if fired[s] and not dirty[s]:
                continue
            end = self._last[s] + gap
            if end > w:  # the session grew since this entry was pushed
                self._in_fire[s] = True
                heappush(heap, (end, s, g))
                continue
            kind = PANE_LATE if fired[s] or self._behind[s] else PANE_ON_TIME
            fired[s], dirty[s], self._behind[s] = True, False, False
            p = len(b.panes)
            for q in b.pend.get(s, ()):
                b.superseded[q] = True
            b.pend[s] = [p]
            members = tuple(b.members.get(s, (s,)))
            b.panes.append(
                (i, s, kind, self._code[s], self._start[s], end, self._count[s], members)
            )
            b.superseded.append(False)

    def _drop(self, b: _Batch, w: float) -> None:
        """Forget every session with ``end + lateness <= w`` (they have fired already)."""
        heap, reach = self._drop_heap, self.gap + self.lateness
        while heap and heap[0][0] <= w:
            _, s, g = heappop(heap)
            if g != self._gen[s]:
                continue
            until = self._last[s] + reach
            if until > w:
                heappush(heap, (until, s, g))
                continue
            k = self._code[s]
            starts, slots = self._by_key[k]
            idx = bisect_left(starts, self._start[s])
            del starts[idx], slots[idx]
            if not starts:
                del self._by_key[k]
            self._free_slot(b, s)

    # --------------------------------------------------------------- statistics
    def _finish(
        self,
        b: _Batch,
        dropped: np.ndarray,
        times: np.ndarray,
        values: Mapping[str, np.ndarray],
        ev_slot: list[int],
        late_acc: int,
    ) -> BatchOutcome:
        """Fold the batch's events into the slots and compute the panes' statistics."""
        panes = [p for p, gone in zip(b.panes, b.superseded, strict=True) if not gone]
        n_ev = len(ev_slot)
        cols = {c: values[c] for c in self.aggs} if n_ev else {}
        ev = np.array(ev_slot, dtype=np.int64)
        # panes whose contents differ from their slot's state after the batch (a snapshot
        # taken mid-batch, or a session dropped or merged away) are computed in spare slots
        live, count = self._live, self._count
        direct = [n_ev == 0 or (live[p[1]] and count[p[1]] == p[6]) for p in panes]
        results: dict[str, np.ndarray] = {
            name: np.full(len(panes), np.nan) if panes else np.zeros(0) for name in self._names
        }
        snap = [k for k, d in enumerate(direct) if not d]
        if snap and self.aggs:
            self._snapshot([panes[k] for k in snap], np.array(snap), b, ev, times, cols, results)
        if n_ev and self.aggs:
            self._fold_batch(b, ev, times, cols)
        if panes and self.aggs and len(snap) < len(panes):
            idx = np.flatnonzero(direct)
            slots = np.array([panes[k][1] for k in idx], dtype=np.int64)
            for col, names in self.aggs.items():
                for agg in names:
                    results[f"{col}_{agg}"][idx] = self.stats.result(slots, col, agg)
        self._free.extend(b.freed)
        n_dropped = int(np.count_nonzero(dropped))
        outcome = BatchOutcome(
            dropped=dropped, late_accepted=late_acc, on_time=n_ev - n_dropped - late_acc
        )
        outcome.panes = self._pane_columns(panes, results)
        return outcome

    def _snapshot(self, panes, where, b, ev, times, cols, results) -> None:
        """Statistics of ``panes`` as they were when emitted, computed in spare slots from the
        slots' state before the batch and the batch's events up to each pane."""
        k = len(panes)
        spare = np.array([self._alloc() for _ in range(k)], dtype=np.int64)
        stats = self.stats
        stats.init_slots(spare)
        pane_of: dict[int, int] = {}
        dst, src = [], []
        for g, p in enumerate(panes):
            for m in p[7]:  # the lineages of surviving panes are disjoint
                pane_of[m] = g
                if m not in b.new:
                    dst.append(spare[g])
                    src.append(m)
        if src:
            stats.combine(np.array(dst, dtype=np.int64), np.array(src, dtype=np.int64))
        if len(ev):
            group = np.fromiter((pane_of.get(s, -1) for s in ev.tolist()), np.int64, len(ev))
            cutoff = np.array([p[0] for p in panes] + [-1], dtype=np.int64)
            take = np.flatnonzero(np.arange(len(ev)) <= cutoff[group])
            if len(take):
                stats.merge(
                    spare, group[take], k, {c: v[take] for c, v in cols.items()}, times[take]
                )
        for col, names in self.aggs.items():
            for agg in names:
                results[f"{col}_{agg}"][where] = stats.result(spare, col, agg)
        self._free.extend(spare.tolist())

    def _fold_batch(self, b: _Batch, ev: np.ndarray, times: np.ndarray, cols) -> None:
        """Bring the slots of the sessions alive after the batch up to date."""
        roots = [s for s in b.touched if self._live[s]]
        if not roots:
            return
        stats = self.stats
        fresh = [s for s in roots if s in b.new]
        if fresh:
            stats.init_slots(np.array(fresh, dtype=np.int64))
        root_of: dict[int, int] = {}
        dst, src = [], []
        for r in roots:
            for m in b.members.get(r, (r,)):
                root_of[m] = r
                if m != r and m not in b.new:
                    dst.append(r)
                    src.append(m)
        if src:
            stats.combine(np.array(dst, dtype=np.int64), np.array(src, dtype=np.int64))
        if len(ev) == 1:  # record at a time: skip the array machinery
            if (r := root_of.get(int(ev[0]), -1)) >= 0:
                stats.merge_one(r, {c: float(v[0]) for c, v in cols.items()}, float(times[0]))
            return
        root = np.fromiter((root_of.get(s, -1) for s in ev.tolist()), np.int64, len(ev))
        take = np.flatnonzero(root >= 0)
        if len(take):
            inv, uniq = pd.factorize(root[take])
            stats.merge(
                np.asarray(uniq, dtype=np.int64),
                inv.astype(np.int64),
                len(uniq),
                {c: v[take] for c, v in cols.items()},
                times[take],
            )

    def _pane_columns(self, panes, results: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(panes)
        if not n:
            empty = np.zeros(0)
            cols = {"__code": np.zeros(0, dtype=np.int64), "window_start": empty}
            cols.update(window_end=empty, count=np.zeros(0, dtype=np.int64))
            cols.update(dict.fromkeys(results, empty), pane=np.zeros(0, dtype=object))
            return cols
        code = np.fromiter((p[3] for p in panes), np.int64, n)
        start = np.fromiter((p[4] for p in panes), np.float64, n)
        order = np.lexsort((code, start)) if n > 1 else np.arange(n)
        cols: dict[str, np.ndarray] = {
            "__code": code[order],
            "window_start": start[order],
            "window_end": np.fromiter((p[5] for p in panes), np.float64, n)[order],
            "count": np.fromiter((p[6] for p in panes), np.int64, n)[order],
        }
        for name, arr in results.items():
            cols[name] = arr[order]
        kinds = np.empty(n, dtype=object)
        kinds[:] = [p[2] for p in panes]
        cols["pane"] = kinds[order]
        return cols
