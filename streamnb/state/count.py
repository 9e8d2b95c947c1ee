"""Count windows per key: every ``n`` events of a key, in arrival order, form a window.

Pure logic (no streamz), vectorised over a batch with per-key cumulative counts. A window
emits one ``on_time`` pane when its ``n``-th event arrives; at the end of a stream
(``advance_watermark(inf)``) the partial windows fire too, with ``count < n``. Pane columns
are those of the other windows plus ``window``, the per-key index of the window (0, 1, ...);
``window_start``/``window_end`` are the smallest and largest event time of its events (NaN
without times). No event is ever late; first/last follow arrival order, which is what
defines a count window. State holds one open window per key.

>>> cw = CountWindows(2, {"v": ("sum",)})
>>> out = cw.update(np.array([5.0, 3.0, 9.0]), np.zeros(3, dtype=np.int64),
...                 {"v": np.array([1.0, 2.0, 4.0])})
>>> out.panes["window"].tolist(), out.panes["window_start"].tolist(), out.panes["v_sum"].tolist()
([0], [3.0], [3.0])
>>> end = cw.advance_watermark(np.inf).panes
>>> end["window"].tolist(), end["count"].tolist(), end["v_sum"].tolist()
([1], [1], [4.0])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from streamnb.state.aggregates import SlotStats
from streamnb.state.tumbling import PANE_ON_TIME, BatchOutcome

__all__ = ["CountWindows"]


class CountWindows:
    """Keyed count windows of ``n`` events; see the module docstring.

    Parameters
    ----------
    n
        Events per window.
    aggs
        ``{column: (agg, ...)}`` as returned by :func:`normalise_agg`.
    """

    delay = 0.0  # no watermark delay: count windows do not wait for time

    def __init__(self, n: int, aggs: Mapping[str, tuple[str, ...]]) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"a count window needs a positive whole number of events, got {n!r}")
        self.n = int(n)
        self.aggs = dict(aggs)
        self.watermark = -np.inf
        self._capacity = 64
        self.stats = SlotStats(self.aggs, self._capacity)
        self._tmin = np.empty(self._capacity)
        self._tmax = np.empty(self._capacity)
        self._free: list[int] = list(range(self._capacity - 1, -1, -1))
        # per key code: the slot of its open window (-1: none), its events, its index
        self._slot = np.full(16, -1, dtype=np.int64)
        self._filled = np.zeros(16, dtype=np.int64)
        self._index = np.zeros(16, dtype=np.int64)
        self._seq = 0  # events seen: the arrival order first/last follow

    @property
    def open_windows(self) -> int:
        """How many partial windows are held in memory (one per key at most)."""
        return int(np.count_nonzero(self._filled))

    def _alloc(self, k: int) -> np.ndarray:
        while len(self._free) < k:
            old = self._capacity
            self._capacity = new = old * 2
            self.stats.grow(new)
            for name in ("_tmin", "_tmax"):
                grown = np.empty(new)
                grown[:old] = getattr(self, name)
                setattr(self, name, grown)
            self._free.extend(range(new - 1, old - 1, -1))
        slots = np.array(self._free[len(self._free) - k :][::-1], dtype=np.int64)
        del self._free[len(self._free) - k :]
        self.stats.init_slots(slots)
        self._tmin[slots] = np.inf
        self._tmax[slots] = -np.inf
        return slots

    def _keys_up_to(self, code: int) -> None:
        size = len(self._slot)
        if code < size:
            return
        new = max(2 * size, code + 1)
        self._slot = np.r_[self._slot, np.full(new - size, -1, dtype=np.int64)]
        self._filled = np.r_[self._filled, np.zeros(new - size, dtype=np.int64)]
        self._index = np.r_[self._index, np.zeros(new - size, dtype=np.int64)]

    def update(
        self, times: np.ndarray, codes: np.ndarray, values: Mapping[str, np.ndarray]
    ) -> BatchOutcome:
        """Process one batch, in arrival order; ``times`` may be NaN (no event time)."""
        m = len(codes)
        outcome = BatchOutcome(dropped=np.zeros(m, dtype=bool), on_time=m)
        if m == 0:
            outcome.panes = self._pane_columns(*(np.zeros(0, dtype=np.int64),) * 4)
            return outcome
        codes = np.asarray(codes, dtype=np.int64)
        times = np.asarray(times, dtype=np.float64)
        self._keys_up_to(int(codes.max()))
        if not np.isnan(times).all():
            self.watermark = max(self.watermark, float(np.nanmax(times)))
        n = self.n
        # rank of each event among its key's events in the batch, then its window
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        run = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m) - np.repeat(run, np.diff(np.r_[run, m]))
        rel = (self._filled[codes] + rank) // n  # 0 = the key's open window
        span = int(rel.max()) + 1
        uniq, inv, g_count = np.unique(codes * span + rel, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        g_code, g_rel = uniq // span, uniq % span
        n_groups = len(uniq)
        g_total = g_count + np.where(g_rel == 0, self._filled[g_code], 0)
        slots = np.where(g_rel == 0, self._slot[g_code], -1)
        need = np.flatnonzero(slots < 0)
        slots[need] = self._alloc(len(need))
        arrival = np.arange(self._seq, self._seq + m, dtype=np.float64)
        self._seq += m
        self.stats.merge(slots, inv, n_groups, values, arrival, counts=g_count)
        t_lo, t_hi = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
        known = ~np.isnan(times)
        np.minimum.at(t_lo, inv[known], times[known])
        np.maximum.at(t_hi, inv[known], times[known])
        self._tmin[slots] = np.minimum(self._tmin[slots], t_lo)
        self._tmax[slots] = np.maximum(self._tmax[slots], t_hi)
        full = g_total == n
        # groups are sorted by key, then window: each key's last group is its open window
        last = np.r_[g_code[1:] != g_code[:-1], True]
        keys = g_code[last]
        open_now = last & ~full
        self._slot[keys] = np.where(open_now[last], slots[last], -1)
        self._filled[keys] = np.where(open_now[last], g_total[last], 0)
        windows = self._index[g_code] + g_rel
        self._index[keys] += g_rel[last] + full[last]
        # emit full windows in the order their n-th event arrived
        done = np.flatnonzero(full)
        if len(done):
            completed = np.zeros(n_groups, dtype=np.int64)
            np.maximum.at(completed, inv, np.arange(m))
            done = done[np.argsort(completed[done], kind="stable")]
        outcome.panes = self._pane_columns(g_code[done], slots[done], windows[done], g_total[done])
        self._free.extend(slots[done].tolist())
        return outcome

    def advance_watermark(self, watermark: float) -> BatchOutcome:
        """Count windows ignore time, except at the end of a finite stream (``np.inf``):
        then every partial window fires."""
        outcome = BatchOutcome(dropped=np.zeros(0, dtype=bool))
        self.watermark = max(self.watermark, float(watermark))
        keys = np.flatnonzero(self._filled) if watermark == np.inf else np.zeros(0, np.int64)
        slots = self._slot[keys]
        outcome.panes = self._pane_columns(keys, slots, self._index[keys], self._filled[keys])
        self._free.extend(slots.tolist())
        self._index[keys] += 1
        self._filled[keys] = 0
        self._slot[keys] = -1
        return outcome

    def _pane_columns(
        self, codes: np.ndarray, slots: np.ndarray, windows: np.ndarray, counts: np.ndarray
    ) -> dict[str, np.ndarray]:
        t_lo, t_hi = self._tmin[slots], self._tmax[slots]
        cols: dict[str, np.ndarray] = {
            "__code": codes.astype(np.int64),
            "window_start": np.where(np.isinf(t_lo), np.nan, t_lo),
            "window_end": np.where(np.isinf(t_hi), np.nan, t_hi),
            "window": windows.astype(np.int64),
            "count": counts.astype(np.int64),
        }
        for col, names in self.aggs.items():
            for agg in names:
                cols[f"{col}_{agg}"] = self.stats.result(slots, col, agg)
        kinds = np.empty(len(slots), dtype=object)
        kinds[:] = PANE_ON_TIME
        cols["pane"] = kinds
        return cols
