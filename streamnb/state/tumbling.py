"""Tumbling event-time windows with watermarks and allowed lateness, on numpy arrays.

Pure logic (no streamz): ``update(times, codes, values)`` takes one batch in arrival order and
returns what the contract in DESIGN.md says record-at-a-time processing would have produced by
the end of the batch — which events were too late, and the *last* pane of every window that
emitted. A window is one slot of the arrays; slots are freed once ``end + lateness <= W``, so
state is bounded by the open windows.

>>> tw = TumblingWindows(size=10, aggs={"v": ("sum",)})
>>> out = tw.update(np.array([1.0, 4.0, 12.0]), np.zeros(3, dtype=np.int64),
...                 {"v": np.array([1.0, 2.0, 3.0])})
>>> out.panes["window_start"].tolist(), out.panes["v_sum"].tolist(), out.panes["pane"].tolist()
([0.0], [3.0], ['on_time'])
>>> tw.advance_watermark(np.inf).panes["v_sum"].tolist()
[3.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat

import numpy as np
import pandas as pd

from streamnb.state.aggregates import SlotStats

__all__ = ["BatchOutcome", "TumblingWindows"]

PANE_EARLY, PANE_ON_TIME, PANE_LATE = "early", "on_time", "late"


@dataclass
class BatchOutcome:
    """What one batch did: per-event masks and the panes to emit.

    ``panes`` maps column name to array; ``__code`` holds the key codes (the operator turns
    them back into key columns).
    """

    dropped: np.ndarray  # bool per event: too late, goes to the .late stream
    late_accepted: int = 0
    on_time: int = 0
    panes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_panes(self) -> int:
        return len(self.panes.get("__code", ()))


class TumblingWindows:
    """Keyed tumbling windows ``[k*size, (k+1)*size)`` over float epoch seconds.

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
    """

    def __init__(
        self,
        size: float,
        aggs: Mapping[str, tuple[str, ...]],
        watermark: float = 0.0,
        lateness: float = 0.0,
    ) -> None:
        if not size > 0:
            raise ValueError(f"window size must be positive, got {size!r}")
        if watermark < 0 or lateness < 0:
            raise ValueError("watermark delay and lateness must be >= 0")
        self.size = float(size)
        self.delay = float(watermark)
        self.lateness = float(lateness)
        self.aggs = dict(aggs)
        self.watermark = -np.inf
        self._capacity = 64
        self.stats = SlotStats(self.aggs, self._capacity)
        self._code = np.zeros(self._capacity, dtype=np.int64)
        self._win = np.zeros(self._capacity, dtype=np.int64)
        self._count = np.zeros(self._capacity, dtype=np.int64)
        self._fired = np.zeros(self._capacity, dtype=bool)
        self._active = np.zeros(self._capacity, dtype=bool)
        self._slot_of: dict[tuple[int, int], int] = {}
        self._free: list[int] = list(range(self._capacity - 1, -1, -1))
        self._next_fire = np.inf  # smallest end among open, unfired windows
        self._next_drop = np.inf  # smallest end + lateness among open windows

    # ------------------------------------------------------------------ state
    @property
    def open_windows(self) -> int:
        """How many (key, window) slots are held in memory."""
        return len(self._slot_of)

    def _grow(self) -> None:
        old = self._capacity
        self._capacity = new = old * 2
        for name in ("_code", "_win", "_count", "_fired", "_active"):
            arr = getattr(self, name)
            grown = np.zeros(new, dtype=arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        self.stats.grow(new)
        self._free.extend(range(new - 1, old - 1, -1))

    def _slots_for(self, codes: np.ndarray, wins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slot of every (code, window) group, allocating new ones; also returns a mask of the
        groups that got a new slot."""
        slot_of = self._slot_of
        keys = list(zip(codes.tolist(), wins.tolist(), strict=True))
        # one C-level pass of dict lookups; -1 marks a group without a slot yet
        slots = np.fromiter(map(slot_of.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        new = slots < 0
        n_new = int(np.count_nonzero(new))
        if n_new:
            while len(self._free) < n_new:
                self._grow()
            fresh = self._free[-n_new:][::-1]  # the order of n_new pops
            del self._free[-n_new:]
            slot_of.update(zip(compress(keys, new.tolist()), fresh, strict=True))
            fresh = np.array(fresh, dtype=np.int64)
            slots[new] = fresh
            self._code[fresh] = codes[new]
            self._win[fresh] = wins[new]
            self._count[fresh] = 0
            self._fired[fresh] = False
            self._active[fresh] = True
            self.stats.init_slots(fresh)
            ends = (wins[new] + 1) * self.size
            self._next_fire = min(self._next_fire, float(ends.min()))
            self._next_drop = min(self._next_drop, float(ends.min()) + self.lateness)
        return slots, new

    # ---------------------------------------------------------------- updates
    def update(
        self, times: np.ndarray, codes: np.ndarray, values: Mapping[str, np.ndarray]
    ) -> BatchOutcome:
        """Process one batch, in arrival order; ``times`` must hold no NaN."""
        n = len(times)
        if n == 0:
            return self._nothing()
        if n == 1:
            t = float(times[0])
            if abs(t / self.size) < 2**62:  # window index fits int64: the scalar path
                return self._update_one(
                    t, int(codes[0]), {c: float(values[c][0]) for c in self.aggs}
                )
        size, w0, lateness = self.size, self.watermark, self.lateness
        w_after = np.maximum.accumulate(times)
        w_after -= self.delay
        np.maximum(w_after, w0, out=w_after)
        w_before = np.empty(n)
        w_before[0] = w0
        w_before[1:] = w_after[:-1]
        win = np.floor(times / size).astype(np.int64)
        end = (win + 1) * size
        # accepted after the watermark passed its end: only possible with lateness
        late_acc = (end <= w_before) if lateness > 0 else None
        if lateness > 0:
            end += lateness
        dropped = end <= w_before
        n_dropped = int(np.count_nonzero(dropped))
        outcome = BatchOutcome(dropped=dropped)
        touched_slots = np.zeros(0, dtype=np.int64)
        got_late = np.zeros(0, dtype=bool)
        if n_dropped < n:
            if n_dropped:
                kept = np.flatnonzero(~dropped)
                win, codes, times = win[kept], codes[kept], times[kept]
                cols = {c: values[c][kept] for c in self.aggs}
                if late_acc is not None:
                    late_acc = late_acc[kept]
            else:
                cols = {c: values[c] for c in self.aggs}
            inv, g_code, g_win, g_count = _group(codes, win)
            n_groups = len(g_code)
            slots, _ = self._slots_for(g_code, g_win)
            self._count[slots] += g_count
            self.stats.merge(slots, inv, n_groups, cols, times, counts=g_count)
            if late_acc is not None and (n_late := int(np.count_nonzero(late_acc))):
                got_late = np.bincount(inv, weights=late_acc, minlength=n_groups) > 0
                outcome.late_accepted = n_late
            else:
                got_late = np.zeros(n_groups, dtype=bool)
            touched_slots = slots
            outcome.on_time = n - n_dropped - outcome.late_accepted
        w_final = float(w_after[-1])
        outcome.panes = self._emit_and_evict(w_final, touched_slots, got_late)
        self.watermark = w_final
        return outcome

    def _update_one(self, t: float, code: int, values: dict[str, float]) -> BatchOutcome:
        """``update`` for a batch of one event, in Python scalars (the record-at-a-time path):
        the same float operations, so the same results, at a fraction of the cost."""
        size, w0, lateness = self.size, self.watermark, self.lateness
        w = t - self.delay
        w_final = w if w > w0 else w0  # as np.maximum(w, w0)
        k = math.floor(t / size)
        end = (k + 1) * size
        late_acc = lateness > 0 and end <= w0
        if (end + lateness if lateness > 0 else end) <= w0:
            outcome = BatchOutcome(dropped=np.ones(1, dtype=bool))
            touched = np.zeros(0, dtype=np.int64)
            got_late = np.zeros(0, dtype=bool)
            fired_before = False
        else:
            outcome = BatchOutcome(
                dropped=np.zeros(1, dtype=bool),
                late_accepted=int(late_acc),
                on_time=1 - int(late_acc),
            )
            key = (code, k)
            slot = self._slot_of.get(key)
            if slot is None:
                if not self._free:
                    self._grow()
                slot = self._free.pop()
                self._slot_of[key] = slot
                self._code[slot] = code
                self._win[slot] = k
                self._count[slot] = 0
                self._fired[slot] = False
                self._active[slot] = True
                self.stats.init_slots(slot)
                self._next_fire = min(self._next_fire, end)
                self._next_drop = min(self._next_drop, end + lateness)
            self._count[slot] += 1
            self.stats.merge_one(slot, values, t)
            touched = np.array([slot], dtype=np.int64)
            got_late = np.array([late_acc])
            fired_before = bool(self._fired[slot])
        if fired_before or w_final >= self._next_fire or w_final >= self._next_drop:
            outcome.panes = self._emit_and_evict(w_final, touched, got_late)
        else:  # nothing fires, nothing is evicted, no late pane
            outcome.panes = self._empty_panes()
        self.watermark = w_final
        return outcome

    def advance_watermark(self, watermark: float) -> BatchOutcome:
        """Move the watermark to ``watermark`` (never back): fires and evicts windows.
        ``np.inf`` is the end of a finite stream: every open window fires."""
        if watermark <= self.watermark:
            return self._nothing()
        panes = self._emit_and_evict(
            float(watermark), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        )
        self.watermark = float(watermark)
        return BatchOutcome(dropped=np.zeros(0, dtype=bool), panes=panes)

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
        self,
        w_final: float,
        touched: np.ndarray,
        got_late: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Emit the last pane of every window that fired or took late events; free windows
        past their lateness. A pane is ``late`` when its window took an event after the
        watermark had passed its end (Beam's LATE timing), ``on_time`` otherwise."""
        size = self.size
        fired_before = self._fired[touched] if len(touched) else np.zeros(0, dtype=bool)
        late_slots = touched[fired_before]
        pane_slots = [late_slots]
        pane_kinds = [np.full(len(late_slots), PANE_LATE, dtype=object)]
        if w_final >= self._next_fire:
            active = np.flatnonzero(self._active[: self._capacity])
            ends = (self._win[active] + 1) * size
            firing = active[(~self._fired[active]) & (ends <= w_final)]
            kinds = np.full(len(firing), PANE_ON_TIME, dtype=object)
            if len(firing) and got_late.any():
                # record by record, a window that took an event after the watermark passed
                # its end emits a late pane last
                late_now = np.zeros(self._capacity, dtype=bool)
                late_now[touched[got_late]] = True
                kinds[late_now[firing]] = PANE_LATE
            self._fired[firing] = True
            pane_slots.append(firing)
            pane_kinds.append(kinds)
            unfired = active[~self._fired[active]]
            self._next_fire = (
                float(((self._win[unfired] + 1) * size).min()) if len(unfired) else np.inf
            )
        slots = np.concatenate(pane_slots)
        kinds = np.concatenate(pane_kinds)
        panes = self._pane_columns(slots, kinds)
        if w_final >= self._next_drop:
            self._evict(w_final)
        return panes

    def _evict(self, w_final: float) -> None:
        active = np.flatnonzero(self._active[: self._capacity])
        ends = (self._win[active] + 1) * self.size
        gone = active[ends + self.lateness <= w_final]
        self._active[gone] = False
        pop = self._slot_of.pop
        for key in zip(self._code[gone].tolist(), self._win[gone].tolist(), strict=True):
            pop(key)
        self._free.extend(gone.tolist())
        still = active[self._active[active]]
        self._next_drop = (
            float(((self._win[still] + 1) * self.size).min()) + self.lateness
            if len(still)
            else np.inf
        )

    def _pane_columns(self, slots: np.ndarray, kinds: np.ndarray) -> dict[str, np.ndarray]:
        if len(slots) > 1:
            order = np.lexsort((self._code[slots], self._win[slots]))
            slots, kinds = slots[order], kinds[order]
        start = self._win[slots] * self.size
        cols: dict[str, np.ndarray] = {
            "__code": self._code[slots],
            "window_start": start,
            "window_end": start + self.size,
            "count": self._count[slots].copy(),
        }
        for col, names in self.aggs.items():
            for agg in names:
                cols[f"{col}_{agg}"] = self.stats.result(slots, col, agg)
        cols["pane"] = kinds
        return cols


def _group(
    codes: np.ndarray, wins: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group events by (key code, window): returns the group of each event, and the code,
    window and number of events of each group. Groups are numbered in no particular order.

    >>> inv, code, win, count = _group(np.array([1, 0, 1, 1]), np.array([7, 7, 7, 8]))
    >>> [(int(code[g]), int(win[g])) for g in inv], count[inv].tolist()
    ([(1, 7), (0, 7), (1, 7), (1, 8)], [2, 1, 2, 1])

    Windows far apart use a hash table, not a dense one (same groups):

    >>> for far in (10**6, 2**62):
    ...     inv, code, win, count = _group(np.array([1, 0, 1]), np.array([far, 7, far]))
    ...     print([(int(code[g]), int(win[g]) == far) for g in inv], count[inv].tolist())
    [(1, True), (0, False), (1, True)] [2, 1, 2]
    [(1, True), (0, False), (1, True)] [2, 1, 2]
    """
    w_min = int(wins.min())
    span = int(wins.max()) - w_min + 1
    n_codes = int(codes.max()) + 1
    cells = span * n_codes
    if cells <= 4 * len(codes) + 4096:
        # few (window, code) cells, as in a batch spanning a few windows: count in a table
        comb = (wins - w_min) * n_codes + codes
        counts = np.bincount(comb, minlength=cells)
        uniq = np.flatnonzero(counts)
        group_of = np.empty(cells, dtype=np.int64)
        group_of[uniq] = np.arange(len(uniq))
        return group_of[comb], uniq % n_codes, uniq // n_codes + w_min, counts[uniq]
    if cells < 2**62:
        comb = (wins - w_min) * n_codes + codes
        inv, uniq = pd.factorize(comb)
        inv = inv.astype(np.int64)
        counts = np.bincount(inv, minlength=len(uniq))
        return inv, uniq % n_codes, uniq // n_codes + w_min, counts
    pairs = np.stack([codes, wins], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv, uniq[:, 0], uniq[:, 1], np.bincount(inv, minlength=len(uniq))
