"""Fixed event-time windows — tumbling and sliding — with watermarks and allowed lateness.

Pure logic (no streamz). Windows are ``[k*every, k*every + size)`` for every integer ``k``;
``every == size`` is tumbling. ``update(times, codes, values)`` takes one batch in arrival
order and returns what the contract in DESIGN.md says record-at-a-time processing would have
produced by the end of the batch: which events were too late, and the *last* pane of every
window that emitted. ``W`` is the watermark as it stood before an event:

- An event belongs to every window containing it. It is *late* (``dropped``: it goes to the
  ``.late`` stream) iff every one of them has ``end + lateness <= W``; otherwise it is added
  to those of its windows not yet dropped (``end + lateness > W``).
- With ``every > size`` windows leave gaps; an event in a gap belongs to no window: it is
  counted as ``filtered`` (not late, in no pane) and still moves the watermark.
- Then ``W`` advances; a window fires (``on_time`` pane) once ``end <= W``; a fired window that
  takes an event re-emits a ``late`` pane (accumulating); a window is dropped from state once
  ``end + lateness <= W``. An event is counted ``late_accepted`` when the watermark had passed
  the end of all its windows (it only lands in windows kept by ``lateness``), ``on_time``
  otherwise.

The batch path repeats each event once per window (``np.repeat``), groups the rows by
(key code, window) and folds them into one slot per (key, window) with numpy. The record path
(:meth:`FixedWindows.update_one`) decides in Python scalars and notes on-time events that
fire nothing, folding them as one batch before anything reads the windows. Slots are freed
once ``end + lateness <= W``, so state is bounded by the open windows.

>>> fw = FixedWindows(size=10, every=5, aggs={"v": ("sum",)})
>>> out = fw.update(np.array([1.0, 7.0, 12.0]), np.zeros(3, dtype=np.int64),
...                 {"v": np.array([1.0, 2.0, 3.0])})
>>> out.panes["window_start"].tolist(), out.panes["v_sum"].tolist()  # [-5, 5) and [0, 10)
([-5.0, 0.0], [1.0, 3.0])
>>> fw.advance_watermark(np.inf).panes["v_sum"].tolist()  # [5, 15) and [10, 20)
[5.0, 3.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from heapq import heappop, heappush
from itertools import repeat

import numpy as np

from streamnb.state._grouping import group as _group
from streamnb.state.aggregates import SlotStats

__all__ = [
    "DROPPED",
    "FILTERED",
    "LATE_ACCEPTED",
    "ON_TIME",
    "BatchOutcome",
    "FixedWindows",
]

PANE_EARLY, PANE_ON_TIME, PANE_LATE = "early", "on_time", "late"
# what happened to one event (``update_one``)
ON_TIME, LATE_ACCEPTED, DROPPED, FILTERED = 0, 1, 2, 3

_NO_ROW: dict[int, int] = {}  # what a window without slots looks up in: nothing


@dataclass
class BatchOutcome:
    """What one batch did: per-event masks, counts and the panes to emit.

    ``panes`` maps column name to array; ``__code`` holds the key codes (the operator turns
    them back into key columns). ``filtered`` counts events that belong to no window.
    """

    dropped: np.ndarray  # bool per event: too late, goes to the .late stream
    late_accepted: int = 0
    on_time: int = 0
    panes: dict[str, np.ndarray] = field(default_factory=dict)
    filtered: int = 0

    @property
    def n_panes(self) -> int:
        return len(self.panes.get("__code", ()))


class FixedWindows:
    """Keyed windows ``[k*every, k*every + size)`` over float epoch seconds.

    Parameters
    ----------
    size
        Window length in seconds.
    aggs
        ``{column: (agg, ...)}`` as returned by :func:`normalise_agg`.
    watermark
        Bounded out-of-orderness: ``W = max event time seen - watermark``.
    lateness
        Allowed lateness: a fired window keeps accepting events (emitting ``late`` panes)
        until ``end + lateness <= W``.
    every
        Distance between window starts (``None``: ``size``, tumbling). Smaller than ``size``:
        overlapping (sliding) windows; larger: gaps between windows.
    """

    def __init__(
        self,
        size: float,
        aggs: Mapping[str, tuple[str, ...]],
        watermark: float = 0.0,
        lateness: float = 0.0,
        every: float | None = None,
    ) -> None:
        if not size > 0:
            raise ValueError(f"window size must be positive, got {size!r}")
        if every is not None and not every > 0:
            raise ValueError(f"window step 'every' must be positive, got {every!r}")
        if watermark < 0 or lateness < 0:
            raise ValueError("watermark delay and lateness must be >= 0")
        self.size = float(size)
        self.every = self.size if every is None else float(every)
        self.sliding = self.every != self.size
        self.delay = float(watermark)
        self.lateness = float(lateness)
        self.aggs = dict(aggs)
        self.watermark = -np.inf
        self._capacity = cap = 64
        self.stats = SlotStats(self.aggs, cap)
        self._code = np.zeros(cap, dtype=np.int64)
        self._win = np.zeros(cap, dtype=np.int64)
        self._count = np.zeros(cap, dtype=np.int64)
        self._fired = np.zeros(cap, dtype=bool)
        self._active = np.zeros(cap, dtype=bool)
        self._dirty = np.zeros(cap, dtype=bool)  # took events since its last early pane
        self._free = np.arange(cap - 1, -1, -1, dtype=np.int64)  # a stack of free slots
        self._n_free = cap  # its height
        self._held = 0  # slots in use
        self._rows: dict[int, dict[int, int]] = {}  # window index -> {key code: slot}
        self._unfired: list[tuple[float, int]] = []  # heap (end, window) of windows to fire
        self._unfired_set: set[int] = set()
        self._by_end: list[tuple[float, int]] = []  # heap (end, window) of windows held
        self._next_fire = math.inf  # smallest end among windows with unfired slots
        self._next_drop = math.inf  # smallest end + lateness among windows held
        self._scratch = int(self._take_free(1)[0])  # where dropped events of a batch fold
        # on-time events of the record path not folded yet: (t, code, lo, m, values)
        self._pend: list[tuple[float, int, int, int, Mapping[str, float]]] = []

    # ------------------------------------------------------------------ state
    @property
    def open_windows(self) -> int:
        """How many (key, window) slots are held in memory."""
        self._flush()
        return self._held

    def windows_of(self, t: float) -> range:
        """Indices ``k`` of the windows ``[k*every, k*every + size)`` holding time ``t``.

        >>> list(FixedWindows(1.0, {}, every=0.25).windows_of(1.1))  # starts 0.25 ... 1.0
        [1, 2, 3, 4]
        >>> list(FixedWindows(1.0, {}, every=2.0).windows_of(1.5))  # in the gap [1, 2)
        []
        """
        every, size = self.every, self.size
        if not self.sliding:
            k = math.floor(t / every)
            return range(k, k + 1)
        hi = math.floor(t / every)
        if hi * every > t:
            hi -= 1
        elif (hi + 1) * every <= t:
            hi += 1
        lo = math.floor((t - size) / every) + 1
        if lo * every + size <= t:
            lo += 1
        elif (lo - 1) * every + size > t:
            lo -= 1
        return range(lo, hi + 1)

    def _grow(self) -> None:
        old = self._capacity
        self._capacity = new = old * 2
        for name in ("_code", "_win", "_count", "_fired", "_active", "_dirty"):
            arr = getattr(self, name)
            grown = np.zeros(new, dtype=arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        self.stats.grow(new)
        free = np.empty(new, dtype=np.int64)
        top = self._n_free
        free[: new - old] = np.arange(new - 1, old - 1, -1)
        free[new - old : new - old + top] = self._free[:top]
        self._free = free
        self._n_free = top + new - old

    def _open_window(self, k: int) -> dict[int, int]:
        row = self._rows[k] = {}
        end = k * self.every + self.size
        heappush(self._by_end, (end, k))
        if end + self.lateness < self._next_drop:
            self._next_drop = end + self.lateness
        return row

    def _to_fire(self, k: int) -> None:
        """Window ``k`` holds a slot that has not fired."""
        if k not in self._unfired_set:
            self._unfired_set.add(k)
            end = k * self.every + self.size
            heappush(self._unfired, (end, k))
            if end < self._next_fire:
                self._next_fire = end

    def _take_free(self, n: int) -> np.ndarray:
        """``n`` free slots."""
        while self._n_free < n:
            self._grow()
        top = self._n_free
        self._n_free = top - n
        return self._free[top - n : top].copy()

    def _slots_for(self, codes: np.ndarray, wins: np.ndarray) -> np.ndarray:
        """Slot of every (code, window) group, allocating new ones; groups come sorted by
        window. Lookups run as C-level passes over the dicts; a new window gets its dict
        in one piece."""
        n = len(codes)
        rows = self._rows
        starts = np.flatnonzero(np.r_[True, wins[1:] != wins[:-1]])
        run_wins = wins[starts].tolist()
        known = np.fromiter(map(rows.__contains__, run_wins), dtype=bool, count=len(starts))
        slots = np.empty(n, dtype=np.int64)
        codes_l = codes.tolist()
        new_parts: list[np.ndarray] = []
        if known.any():
            old = np.repeat(known, np.diff(np.r_[starts, n]))
            idx = np.arange(n) if known.all() else np.flatnonzero(old)
            old_wins = wins[idx].tolist()
            old_codes = codes_l if len(idx) == n else [codes_l[i] for i in idx.tolist()]
            found = map(dict.get, map(rows.__getitem__, old_wins), old_codes, repeat(-1))
            got = np.fromiter(found, dtype=np.int64, count=len(idx))
            slots[idx] = got
            miss = np.flatnonzero(got < 0)
            if len(miss):  # new keys in known windows
                fresh = self._take_free(len(miss))
                slots[idx[miss]] = fresh
                miss_l = miss.tolist()
                targets = [rows[old_wins[i]] for i in miss_l]
                any(map(dict.__setitem__, targets, [old_codes[i] for i in miss_l], fresh.tolist()))
                for k in {old_wins[i] for i in miss_l}:
                    self._to_fire(k)
                new_parts.append(idx[miss])
        if not known.all():  # new windows: every group is new, each window's dict in one go
            lens = np.diff(np.r_[starts, n])
            idx = np.flatnonzero(np.repeat(~known, lens))
            fresh = self._take_free(len(idx))
            slots[idx] = fresh
            fresh_l = fresh.tolist()
            starts_l, lens_l = starts.tolist(), lens.tolist()
            every, size, lateness = self.every, self.size, self.lateness
            by_end, unfired, unfired_set = self._by_end, self._unfired, self._unfired_set
            pos = 0
            for r in np.flatnonzero(~known).tolist():
                lo, width, k = starts_l[r], lens_l[r], run_wins[r]
                rows[k] = dict(
                    zip(codes_l[lo : lo + width], fresh_l[pos : pos + width], strict=True)
                )
                pos += width
                end = k * every + size
                heappush(by_end, (end, k))
                heappush(unfired, (end, k))
                unfired_set.add(k)
                if end < self._next_fire:
                    self._next_fire = end
                if end + lateness < self._next_drop:
                    self._next_drop = end + lateness
            new_parts.append(idx)
        if new_parts:
            idx = np.concatenate(new_parts) if len(new_parts) > 1 else new_parts[0]
            fresh_a = slots[idx]
            self._code[fresh_a] = codes[idx]
            self._win[fresh_a] = wins[idx]
            self._count[fresh_a] = 0
            self._fired[fresh_a] = False
            self._active[fresh_a] = True
            self.stats.init_slots(fresh_a)
            self._held += len(idx)
        return slots

    def _slot_one(self, code: int, k: int) -> int:
        row = self._rows.get(k)
        if row is None:
            row = self._open_window(k)
        slot = row.get(code)
        if slot is None:
            if not self._n_free:
                self._grow()
            self._n_free -= 1
            slot = row[code] = int(self._free[self._n_free])
            self._code[slot] = code
            self._win[slot] = k
            self._count[slot] = 0
            self._fired[slot] = False
            self._active[slot] = True
            self.stats.init_slots(slot)
            self._held += 1
            self._to_fire(k)
        return slot

    # ---------------------------------------------------------------- updates
    def update(
        self, times: np.ndarray, codes: np.ndarray, values: Mapping[str, np.ndarray]
    ) -> BatchOutcome:
        """Process one batch, in arrival order; ``times`` must be finite."""
        n = len(times)
        if n == 0:
            return self._nothing()
        if n == 1:
            t = float(times[0])
            status, panes = self.update_one(
                t, int(codes[0]), {c: float(values[c][0]) for c in self.aggs}
            )
            return BatchOutcome(
                dropped=np.array([status == DROPPED]),
                on_time=int(status == ON_TIME),
                late_accepted=int(status == LATE_ACCEPTED),
                filtered=int(status == FILTERED),
                panes=self._empty_panes() if panes is None else panes,
            )
        self._flush()
        w0 = self.watermark
        w_after = np.maximum.accumulate(times)
        w_after -= self.delay
        np.maximum(w_after, w0, out=w_after)
        w_before = np.empty(n)
        w_before[0] = w0
        w_before[1:] = w_after[:-1]
        outcome = BatchOutcome(dropped=np.zeros(0, dtype=bool))
        if self.sliding:
            touched, got_late = self._update_sliding(outcome, times, codes, values, w_before)
        else:
            touched, got_late = self._update_tumbling(outcome, times, codes, values, w_before)
        w_final = float(w_after[-1])
        outcome.panes = self._emit_and_evict(w_final, touched, got_late)
        self.watermark = w_final
        return outcome

    def _update_tumbling(
        self,
        outcome: BatchOutcome,
        times: np.ndarray,
        codes: np.ndarray,
        values: Mapping[str, np.ndarray],
        w_before: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One window per event. Fills ``outcome``'s counts; returns the slots touched and
        whether each took an event after the watermark had passed its end."""
        every, lateness, n = self.every, self.lateness, len(times)
        win = np.floor(times / every).astype(np.int64)
        end = win * every
        end += self.size
        # accepted after the watermark passed its end: only possible with lateness
        late_row = (end <= w_before) if lateness > 0 else None
        if lateness > 0:
            end += lateness
        dropped = end <= w_before
        n_dropped = int(np.count_nonzero(dropped))
        if n_dropped and late_row is not None:
            late_row &= ~dropped
        n_late = 0 if late_row is None else int(np.count_nonzero(late_row))
        outcome.dropped = dropped
        outcome.late_accepted = n_late
        outcome.on_time = n - n_dropped - n_late
        if n_dropped == n:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        cols = {c: values[c] for c in self.aggs}
        return self._fold_groups(codes, win, cols, times, dropped if n_dropped else None, late_row)

    def _fold_groups(
        self,
        codes: np.ndarray,
        win: np.ndarray,
        cols: Mapping[str, np.ndarray],
        times: np.ndarray,
        skip: np.ndarray | None,
        late_row: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold rows (one per event and window) into their (key, window) slots, but those in
        ``skip``; ``late_row`` marks rows taken after the watermark passed their window's
        end. Returns the slots touched and, per slot, whether it took such a row."""
        grouped = None
        n_skip = 0
        if skip is not None:
            # few rows to skip: group them aside (into a scratch slot that is never
            # emitted) rather than copy every column without them
            grouped = _group(codes, win, skip)
            if grouped is None:
                rows = np.flatnonzero(~skip)
                win, codes, times = win[rows], codes[rows], times[rows]
                cols = {c: v[rows] for c, v in cols.items()}
                if late_row is not None:
                    late_row = late_row[rows]
            else:
                n_skip = int(np.count_nonzero(skip))
        if grouped is None:
            grouped = _group(codes, win)
        inv, g_code, g_win, g_count = grouped
        n_groups = len(g_code)
        touched = self._slots_for(g_code, g_win)
        self._count[touched] += g_count
        self._dirty[touched] = True
        if n_skip:
            scratch = self._scratch
            self.stats.init_slots(scratch)
            slots, counts = np.append(touched, scratch), np.append(g_count, n_skip)
            self.stats.merge(slots, inv, n_groups + 1, cols, times, counts=counts)
        else:
            self.stats.merge(touched, inv, n_groups, cols, times, counts=g_count)
        if late_row is not None and late_row.any():
            if n_skip:
                late_row = late_row & ~skip
            got_late = np.bincount(inv, weights=late_row, minlength=n_groups + 1)
            return touched, got_late[:n_groups] > 0
        return touched, np.zeros(n_groups, dtype=bool)

    def _update_sliding(
        self,
        outcome: BatchOutcome,
        times: np.ndarray,
        codes: np.ndarray,
        values: Mapping[str, np.ndarray],
        w_before: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``lo .. hi`` per event (none in a gap); as :meth:`_update_tumbling`."""
        every, size, lateness, n = self.every, self.size, self.lateness, len(times)
        lo, hi = self._window_range(times)
        m = hi - lo + 1
        filtered = m <= 0
        end_hi = hi * every
        end_hi += size
        dropped = end_hi + lateness <= w_before
        dropped &= ~filtered
        outcome.dropped = dropped
        outcome.filtered = int(np.count_nonzero(filtered))
        n_dropped = int(np.count_nonzero(dropped))
        if lateness > 0:
            outcome.late_accepted = int(
                np.count_nonzero((end_hi <= w_before) & ~dropped & ~filtered)
            )
        outcome.on_time = n - n_dropped - outcome.late_accepted - outcome.filtered
        take = ~(dropped | filtered)
        if not take.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        return self._fold_rows(times, codes, values, w_before, lo, m, take)

    def _fold_rows(
        self,
        times: np.ndarray,
        codes: np.ndarray,
        values: Mapping[str, np.ndarray],
        w_before: np.ndarray,
        lo: np.ndarray,
        m: np.ndarray,
        take: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold the events ``take`` into those of their windows ``lo .. lo + m - 1`` not
        dropped yet, one row per (event, window); returns the window slots touched and
        whether each took an event after the watermark had passed its end."""
        every, size, lateness = self.every, self.size, self.lateness
        cols = {c: values[c] for c in self.aggs}
        if not take.all():
            idx = np.flatnonzero(take)
            times, codes, w_before, lo, m = times[idx], codes[idx], w_before[idx], lo[idx], m[idx]
            cols = {c: v[idx] for c, v in cols.items()}
        width = int(m[0])
        if (m == width).all():  # as many windows for every event: repeat, no gathers
            win = (lo[:, None] + np.arange(width)).ravel()

            def expand(a: np.ndarray) -> np.ndarray:
                return np.repeat(a, width)

        else:
            rows = np.repeat(np.arange(len(times)), m)
            first = np.cumsum(m)
            first -= m
            win = np.arange(len(rows), dtype=np.int64)
            win -= np.repeat(first, m)
            win += lo[rows]

            def expand(a: np.ndarray) -> np.ndarray:
                return a[rows]

        r_codes, r_times = expand(codes), expand(times)
        r_cols = {c: expand(v) for c, v in cols.items()}
        late_row = skip = None
        end_lo = lo * every
        end_lo += size
        if (end_lo <= w_before).any():  # some windows are late, or dropped: row by row
            end = win * every
            end += size
            wb = expand(w_before)
            if lateness > 0:
                late_row = end <= wb
            end += lateness
            skip = end <= wb
            if not skip.any():
                skip = None
            elif skip.all():
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        return self._fold_groups(r_codes, win, r_cols, r_times, skip, late_row)

    def _window_range(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last window index of each time (as :meth:`windows_of`, vectorised)."""
        every, size = self.every, self.size
        hi = np.floor(times / every).astype(np.int64)
        hi -= hi * every > times
        hi += (hi + 1) * every <= times
        lo = np.floor((times - size) / every).astype(np.int64)
        lo += 1
        lo += lo * every + size <= times
        lo -= (lo - 1) * every + size > times
        return lo, hi

    def update_one(
        self, t: float, code: int, values: Mapping[str, float]
    ) -> tuple[int, dict[str, np.ndarray] | None]:
        """One event (the record-at-a-time path), in Python scalars: the decisions of
        :meth:`update` for a batch of one event, at a fraction of the cost. Returns the
        event's fate (``ON_TIME``, ``LATE_ACCEPTED``, ``DROPPED`` or ``FILTERED``) and the
        panes it made emit (``None`` if none). ``t`` must be finite, ``|t / every| < 2**62``.

        An on-time event that makes nothing fire is only noted; noted events are folded
        into their windows as one batch (the same statistics, up to float rounding of sums)
        before anything reads them: a pane, an eviction, a batch, or 4096 of them.
        """
        w0, lateness = self.watermark, self.lateness
        w = t - self.delay
        w_final = w if w > w0 else w0  # as np.maximum(w, w0)
        every, size = self.every, self.size
        touched: list[int] = []
        late: list[bool] = []
        emit = False
        if self.sliding:
            wins = self.windows_of(t)
            if not wins:
                status = FILTERED
            elif wins[0] * every + size > w0:  # no window of it is late: note it
                status = ON_TIME
                self._note(t, code, values, wins[0], len(wins), wins[0] * every + size)
            else:
                self._flush()
                status, touched, late, emit = self._add_one(t, code, values, wins, w0)
        else:
            k = math.floor(t / every)
            end = k * every + size
            if end > w0:
                status = ON_TIME
                self._note(t, code, values, k, 1, end)
            elif end + lateness <= w0:
                status = DROPPED
            else:  # late, but within the lateness: into its window now
                self._flush()
                slot = self._slot_one(code, k)
                self._count[slot] += 1
                self._dirty[slot] = True
                self.stats.merge_one(slot, values, t)
                status = LATE_ACCEPTED
                touched, late = [slot], [True]
                emit = bool(self._fired[slot])
        panes = None
        if emit or w_final >= self._next_fire or w_final >= self._next_drop:
            self._flush()
            panes = self._emit_and_evict(
                w_final, np.array(touched, dtype=np.int64), np.array(late, dtype=bool)
            )
            if not len(panes["pane"]):
                panes = None
        self.watermark = w_final
        return status, panes

    def _note(
        self, t: float, code: int, values: Mapping[str, float], lo: int, m: int, end: float
    ) -> None:
        """Keep an on-time event for the next :meth:`_flush`; its first window ends at
        ``end``, so the fire and drop thresholds already count it."""
        pend = self._pend
        pend.append((t, code, lo, m, values))
        if end < self._next_fire:
            self._next_fire = end
        if end + self.lateness < self._next_drop:
            self._next_drop = end + self.lateness
        if len(pend) >= 4096:
            self._flush()

    def _flush(self) -> None:
        """Fold the noted events into their windows, as one batch (none is late)."""
        pend = self._pend
        n = len(pend)
        if not n:
            return
        ts, codes_t, los, ms, vals = zip(*pend, strict=True)
        pend.clear()
        times = np.array(ts, dtype=np.float64)
        codes = np.array(codes_t, dtype=np.int64)
        cols = {c: np.array([v[c] for v in vals], dtype=np.float64) for c in self.aggs}
        lo = np.array(los, dtype=np.int64)
        if self.sliding:
            m = np.array(ms, dtype=np.int64)
            self._fold_rows(times, codes, cols, np.full(n, -np.inf), lo, m, np.ones(n, bool))
        else:
            self._fold_groups(codes, lo, cols, times, None, None)

    def _add_one(
        self, t: float, code: int, values: Mapping[str, float], wins: range, w0: float
    ) -> tuple[int, list[int], list[bool], bool]:
        every, size, lateness = self.every, self.size, self.lateness
        end_hi = wins[-1] * every + size
        if end_hi + lateness <= w0:
            return DROPPED, [], [], False
        touched, late, emit = [], [], False
        for k in wins:
            end = k * every + size
            if end + lateness <= w0:
                continue
            slot = self._slot_one(code, k)
            self._count[slot] += 1
            self._dirty[slot] = True
            self.stats.merge_one(slot, values, t)
            touched.append(slot)
            late.append(lateness > 0 and end <= w0)
            emit = emit or bool(self._fired[slot])
        status = LATE_ACCEPTED if lateness > 0 and end_hi <= w0 else ON_TIME
        return status, touched, late, emit

    def advance_watermark(self, watermark: float) -> BatchOutcome:
        """Move the watermark to ``watermark`` (never back): fires and evicts windows.
        ``np.inf`` is the end of a finite stream: every open window fires."""
        if watermark <= self.watermark:
            return self._nothing()
        self._flush()
        panes = self._emit_and_evict(
            float(watermark), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        )
        self.watermark = float(watermark)
        return BatchOutcome(dropped=np.zeros(0, dtype=bool), panes=panes)

    def early_panes(self) -> dict[str, np.ndarray]:
        """An ``early`` pane for every open window that has not fired and took events since
        its last early pane (accumulating: all its events so far).

        >>> fw = FixedWindows(10, {"v": ("sum",)})
        >>> _ = fw.update(np.array([1.0, 2.0]), np.array([0, 1]), {"v": np.array([1.0, 2.0])})
        >>> fw.early_panes()["v_sum"].tolist(), fw.early_panes()["v_sum"].tolist()
        ([1.0, 2.0], [])
        """
        self._flush()
        slots = np.flatnonzero(self._dirty & self._active & ~self._fired)
        self._dirty[slots] = False
        kinds = np.empty(len(slots), dtype=object)
        kinds[:] = PANE_EARLY
        return self._pane_columns(slots, kinds)

    def _nothing(self) -> BatchOutcome:
        return BatchOutcome(dropped=np.zeros(0, dtype=bool), panes=self._empty_panes())

    def _empty_panes(self) -> dict[str, np.ndarray]:
        """What ``_pane_columns`` gives for no slots: every column, no rows."""
        cols: dict[str, np.ndarray] = {
            "__code": np.zeros(0, dtype=np.int64),
            "window_start": np.zeros(0),
            "window_end": np.zeros(0),
            "count": np.zeros(0, dtype=np.int64),
        }
        for col, names in self.aggs.items():
            for agg in names:
                cols[f"{col}_{agg}"] = np.zeros(0)
        cols["pane"] = np.zeros(0, dtype=object)
        return cols

    def _emit_and_evict(
        self, w_final: float, touched: np.ndarray, got_late: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Emit the last pane of every window that fired or took late events; free windows
        past their lateness. A pane is ``late`` when its window took an event after the
        watermark had passed its end (Beam's LATE timing), ``on_time`` otherwise."""
        late_slots = touched[self._fired[touched]] if len(touched) else touched
        pane_slots = [late_slots]
        kinds = np.empty(len(late_slots), dtype=object)
        kinds[:] = PANE_LATE
        pane_kinds = [kinds]
        if w_final >= self._next_fire:
            heap, rows, fire_set = self._unfired, self._rows, self._unfired_set
            due: list[int] = []
            while heap and heap[0][0] <= w_final:
                k = heappop(heap)[1]
                fire_set.discard(k)
                due.extend(rows[k].values())
            firing = np.array(due, dtype=np.int64)
            firing = firing[~self._fired[firing]]
            kinds = np.empty(len(firing), dtype=object)
            kinds[:] = PANE_ON_TIME
            if len(firing) and got_late.any():
                # record by record, a window that took an event after the watermark passed
                # its end emits a late pane last
                late_now = np.zeros(self._capacity, dtype=bool)
                late_now[touched[got_late]] = True
                kinds[late_now[firing]] = PANE_LATE
            self._fired[firing] = True
            pane_slots.append(firing)
            pane_kinds.append(kinds)
            self._next_fire = heap[0][0] if heap else math.inf
        # re-emitted (late) panes first, then the windows the watermark fired, as record by
        # record: an event updates its fired windows, then the watermark moves
        if len(pane_slots) > 1 and len(late_slots):
            firing, kinds = pane_slots[1], pane_kinds[1]
            if len(firing) > 1:
                order = np.lexsort((self._code[firing], self._win[firing]))
                firing, kinds = firing[order], kinds[order]
            slots = np.concatenate([self._ordered(late_slots), firing])
            kinds = np.concatenate([pane_kinds[0], kinds])
            panes = self._pane_columns(slots, kinds, ordered=True)
        else:
            panes = self._pane_columns(pane_slots[-1], pane_kinds[-1])
        if w_final >= self._next_drop:
            self._evict(w_final)
        return panes

    def _evict(self, w_final: float) -> None:
        heap, rows, lateness = self._by_end, self._rows, self.lateness
        gone: list[int] = []
        while heap and heap[0][0] + lateness <= w_final:
            gone.extend(rows.pop(heappop(heap)[1]).values())
        top, n_gone = self._n_free, len(gone)
        gone_a = np.array(gone, dtype=np.int64)
        self._active[gone_a] = False
        self._free[top : top + n_gone] = gone_a
        self._n_free = top + n_gone
        self._held -= n_gone
        self._next_drop = heap[0][0] + lateness if heap else math.inf

    def _ordered(self, slots: np.ndarray) -> np.ndarray:
        """``slots`` by window, then key."""
        if len(slots) > 1:
            return slots[np.lexsort((self._code[slots], self._win[slots]))]
        return slots

    def _pane_columns(
        self, slots: np.ndarray, kinds: np.ndarray, ordered: bool = False
    ) -> dict[str, np.ndarray]:
        if len(slots) > 1 and not ordered:
            order = np.lexsort((self._code[slots], self._win[slots]))
            slots, kinds = slots[order], kinds[order]
        start = self._win[slots] * self.every
        cols: dict[str, np.ndarray] = {
            "__code": self._code[slots],
            "window_start": start,
            "window_end": start + self.size,
            "count": self._count[slots],
        }
        for col, names in self.aggs.items():
            for agg in names:
                cols[f"{col}_{agg}"] = self.stats.result(slots, col, agg)
        cols["pane"] = kinds
        return cols
