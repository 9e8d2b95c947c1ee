"""Mergeable per-window statistics held in numpy arrays, one slot per (key, window).

A batch is reduced to one partial per group with ``np.bincount`` / ``ufunc.at``, then merged
into the slots; a record updates one slot. Missing values (None/NaN) are skipped, as pandas
and SQL do; ``count`` of a window counts its events, ``{col}_count`` the non-missing values.

>>> stats = SlotStats({"price": ("mean", "max")}, capacity=4)
>>> stats.init_slots(np.array([0, 1]))
>>> stats.merge(np.array([0, 1]), np.array([0, 0, 1]), 2,
...             {"price": np.array([1.0, 3.0, 5.0])}, np.array([10.0, 11.0, 12.0]))
>>> stats.result(np.array([0, 1]), "price", "mean").tolist()
[2.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["SUPPORTED_AGGS", "SlotStats", "normalise_agg"]

SUPPORTED_AGGS = ("count", "sum", "mean", "min", "max", "first", "last", "std", "var")

# which base statistics each aggregate needs
_NEEDS = {
    "count": {"n"},
    "sum": {"sum"},
    "mean": {"n", "sum"},
    "min": {"min"},
    "max": {"max"},
    "first": {"first"},
    "last": {"last"},
    "std": {"n", "sum", "m2"},
    "var": {"n", "sum", "m2"},
}


def normalise_agg(agg: Mapping[str, str | Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    """``{"price": "mean"}`` or ``{"price": ["mean", "max"]}`` as ``{column: (agg, ...)}``.

    >>> normalise_agg({"price": ["mean", "max"], "volume": "sum"})
    {'price': ('mean', 'max'), 'volume': ('sum',)}
    >>> normalise_agg(None)
    {}
    """
    if agg is None:
        return {}
    if not isinstance(agg, Mapping):
        raise TypeError(
            f"agg must be a dict like {{'price': ['mean', 'max']}}, not {type(agg).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for column, names in agg.items():
        names = (names,) if isinstance(names, str) else tuple(names)
        for name in names:
            if name not in SUPPORTED_AGGS:
                raise ValueError(
                    f"unknown aggregate {name!r} for column {column!r}; "
                    f"choose from {', '.join(SUPPORTED_AGGS)}"
                )
        out[str(column)] = names
    return out


class SlotStats:
    """Base statistics for every aggregated column, stored in arrays indexed by slot."""

    def __init__(self, aggs: Mapping[str, tuple[str, ...]], capacity: int = 64) -> None:
        self.aggs = dict(aggs)
        self.needs = {
            col: set().union(*(_NEEDS[a] for a in names)) for col, names in self.aggs.items()
        }
        self.arrays: dict[tuple[str, str], np.ndarray] = {}
        for col, needs in self.needs.items():
            for stat in sorted(needs):
                for name in _ARRAYS[stat]:
                    self.arrays[(col, name)] = np.empty(capacity)

    def grow(self, capacity: int) -> None:
        for k, arr in self.arrays.items():
            new = np.empty(capacity)
            new[: len(arr)] = arr
            self.arrays[k] = new

    def init_slots(self, slots: np.ndarray) -> None:
        for (_, name), arr in self.arrays.items():
            arr[slots] = _INITIAL[name]

    def merge(
        self,
        slots: np.ndarray,
        inv: np.ndarray,
        n_groups: int,
        values: Mapping[str, np.ndarray],
        times: np.ndarray,
        counts: np.ndarray | None = None,
    ) -> None:
        """Fold events into slots: event ``i`` belongs to group ``inv[i]``, stored at
        ``slots[inv[i]]``; ``slots`` holds distinct slots, one per group. ``counts``, if
        given, is the number of events of each group (``np.bincount(inv)``)."""
        for col, needs in self.needs.items():
            v = values[col]
            valid = ~np.isnan(v)
            all_valid = bool(valid.all())
            a = self.arrays
            vz = v if all_valid else np.where(valid, v, 0.0)
            if "n" in needs or "m2" in needs:
                if not all_valid:
                    n_g = np.bincount(inv, weights=valid, minlength=n_groups)
                elif counts is not None:
                    n_g = counts.astype(float)
                else:
                    n_g = np.bincount(inv, minlength=n_groups).astype(float)
            if "sum" in needs or "m2" in needs:
                sum_g = np.bincount(inv, weights=vz, minlength=n_groups)
            if "m2" in needs:
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean_g = np.where(n_g > 0, sum_g / n_g, 0.0)
                dev = np.where(valid, v - mean_g[inv], 0.0)
                m2_g = np.bincount(inv, weights=dev * dev, minlength=n_groups)
                n_a, sum_a, m2_a = (
                    a[(col, "n")][slots],
                    a[(col, "sum")][slots],
                    a[(col, "m2")][slots],
                )
                n_t = n_a + n_g
                with np.errstate(invalid="ignore", divide="ignore"):
                    delta = np.where((n_a > 0) & (n_g > 0), mean_g - sum_a / n_a, 0.0)
                    m2 = m2_a + m2_g + np.where(n_t > 0, delta * delta * n_a * n_g / n_t, 0.0)
                a[(col, "m2")][slots] = m2
            if "n" in needs:
                a[(col, "n")][slots] += n_g
            if "sum" in needs:
                a[(col, "sum")][slots] += sum_g
            if "min" in needs:
                m = np.full(n_groups, np.inf)
                np.minimum.at(m, inv, v if all_valid else np.where(valid, v, np.inf))
                a[(col, "min")][slots] = np.minimum(a[(col, "min")][slots], m)
            if "max" in needs:
                m = np.full(n_groups, -np.inf)
                np.maximum.at(m, inv, v if all_valid else np.where(valid, v, -np.inf))
                a[(col, "max")][slots] = np.maximum(a[(col, "max")][slots], m)
            if "first" in needs or "last" in needs:
                self._merge_first_last(col, needs, slots, inv, v, valid, times)

    def merge_one(self, slot: int, values: Mapping[str, float], t: float) -> None:
        """Fold one event into ``slot``: what :meth:`merge` does with a batch of one event,
        with the same float operations in the same order, without the array overhead."""
        a = self.arrays
        for col, needs in self.needs.items():
            v = values[col]
            if v != v:  # missing: merge folds in zeros, and no min, max, first or last
                if "m2" in needs:
                    a[(col, "m2")][slot] = a[(col, "m2")][slot] + 0.0 + 0.0
                if "n" in needs:
                    a[(col, "n")][slot] += 0.0
                if "sum" in needs:
                    a[(col, "sum")][slot] += 0.0
                continue
            sum_g = 0.0 + v
            if "m2" in needs:
                n_a, sum_a = a[(col, "n")][slot], a[(col, "sum")][slot]
                dev = np.float64(v) - sum_g / 1.0  # numpy scalars: warns as merge does
                m2_g = 0.0 + dev * dev
                n_t = n_a + 1.0
                with np.errstate(invalid="ignore", divide="ignore"):
                    delta = sum_g / 1.0 - sum_a / n_a if n_a > 0 else 0.0
                    extra = delta * delta * n_a * 1.0 / n_t if n_t > 0 else 0.0
                a[(col, "m2")][slot] = a[(col, "m2")][slot] + m2_g + extra
            if "n" in needs:
                a[(col, "n")][slot] += 1.0
            if "sum" in needs:
                a[(col, "sum")][slot] += sum_g
            if "min" in needs:
                m = a[(col, "min")][slot]
                a[(col, "min")][slot] = m if m < v else v  # as np.minimum(m, v)
            if "max" in needs:
                m = a[(col, "max")][slot]
                a[(col, "max")][slot] = m if m > v else v  # as np.maximum(m, v)
            if "first" in needs and t < a[(col, "first_t")][slot]:
                a[(col, "first_t")][slot] = t
                a[(col, "first")][slot] = v
            if "last" in needs and t >= a[(col, "last_t")][slot]:
                a[(col, "last_t")][slot] = t
                a[(col, "last")][slot] = v

    def _merge_first_last(self, col, needs, slots, inv, v, valid, times) -> None:
        idx = np.flatnonzero(valid)
        if not len(idx):
            return
        # sort by group, then event time, then arrival: first/last follow event time and
        # ties go to the earlier (first) or later (last) arrival
        order = idx[np.lexsort((idx, times[idx], inv[idx]))]
        g = inv[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        ends = np.r_[starts[1:], len(order)] - 1
        groups = g[starts]
        s = slots[groups]
        a = self.arrays
        if "first" in needs:
            ft, fv = times[order[starts]], v[order[starts]]
            better = ft < a[(col, "first_t")][s]
            a[(col, "first_t")][s[better]] = ft[better]
            a[(col, "first")][s[better]] = fv[better]
        if "last" in needs:
            lt, lv = times[order[ends]], v[order[ends]]
            better = lt >= a[(col, "last_t")][s]
            a[(col, "last_t")][s[better]] = lt[better]
            a[(col, "last")][s[better]] = lv[better]

    def result(self, slots: np.ndarray, col: str, agg: str) -> np.ndarray:
        """Aggregate ``agg`` of column ``col`` for each slot (NaN where it has no value)."""
        a = self.arrays
        with np.errstate(invalid="ignore", divide="ignore"):
            if agg == "count":
                return a[(col, "n")][slots].copy()
            if agg == "sum":
                return a[(col, "sum")][slots].copy()
            if agg == "mean":
                n = a[(col, "n")][slots]
                return np.where(n > 0, a[(col, "sum")][slots] / n, np.nan)
            if agg in ("min", "max"):
                r = a[(col, agg)][slots].copy()
                r[np.isinf(r)] = np.nan
                return r
            if agg in ("first", "last"):
                return a[(col, agg)][slots].copy()
            if agg in ("var", "std"):
                n = a[(col, "n")][slots]
                var = np.where(n > 1, a[(col, "m2")][slots] / (n - 1), np.nan)
                var = np.maximum(var, 0.0)
                return np.sqrt(var) if agg == "std" else var
        raise ValueError(f"unknown aggregate {agg!r}")

    def combine(self, dst_slots: np.ndarray, src_slots: np.ndarray) -> None:
        """Fold the statistics of ``src_slots[i]`` into ``dst_slots[i]`` (merging windows).

        Counts and sums add, ``m2`` uses the parallel-variance formula, min/max combine, and
        first/last follow event time; on a tie, first keeps ``dst`` and last takes ``src`` (as
        :meth:`merge` does when ``src`` arrived later). A slot may appear several times in
        ``dst_slots``; ``src_slots`` are left as they were.

        >>> stats = SlotStats({"v": ("mean", "var", "first", "last")}, capacity=3)
        >>> stats.init_slots(np.arange(3))
        >>> stats.merge(np.array([0, 1]), np.array([0, 1, 0]), 2,
        ...             {"v": np.array([2.0, 3.0, 1.0])}, np.array([5.0, 9.0, 7.0]))
        >>> stats.combine(np.array([0]), np.array([1]))
        >>> [stats.result(np.array([0]), "v", a).tolist() for a in ("mean", "var", "first", "last")]
        [[2.0], [1.0], [2.0], [3.0]]
        """
        dst = np.asarray(dst_slots, dtype=np.int64)
        src = np.asarray(src_slots, dtype=np.int64)
        if len(dst) != len(src):
            raise ValueError("combine needs as many destination slots as source slots")
        if not len(dst):
            return
        # fancy assignment needs distinct destinations: fold repeated ones in rounds
        order = np.argsort(dst, kind="stable")
        d = dst[order]
        run = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        rank = np.empty(len(d), dtype=np.int64)
        rank[order] = np.arange(len(d)) - np.repeat(run, np.diff(np.r_[run, len(d)]))
        a = self.arrays
        for r in range(int(rank.max()) + 1):
            pick = rank == r
            ds, ss = dst[pick], src[pick]
            for col, needs in self.needs.items():
                if "m2" in needs:
                    n_a, n_b = a[(col, "n")][ds], a[(col, "n")][ss]
                    sum_a, sum_b = a[(col, "sum")][ds], a[(col, "sum")][ss]
                    n_t = n_a + n_b
                    both = (n_a > 0) & (n_b > 0)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        delta = np.where(both, sum_b / n_b - sum_a / n_a, 0.0)
                        extra = np.where(both, delta * delta * n_a * n_b / n_t, 0.0)
                    a[(col, "m2")][ds] = a[(col, "m2")][ds] + a[(col, "m2")][ss] + extra
                if "n" in needs:
                    a[(col, "n")][ds] += a[(col, "n")][ss]
                if "sum" in needs:
                    a[(col, "sum")][ds] += a[(col, "sum")][ss]
                if "min" in needs:
                    a[(col, "min")][ds] = np.minimum(a[(col, "min")][ds], a[(col, "min")][ss])
                if "max" in needs:
                    a[(col, "max")][ds] = np.maximum(a[(col, "max")][ds], a[(col, "max")][ss])
                if "first" in needs:
                    better = a[(col, "first_t")][ss] < a[(col, "first_t")][ds]
                    a[(col, "first_t")][ds[better]] = a[(col, "first_t")][ss[better]]
                    a[(col, "first")][ds[better]] = a[(col, "first")][ss[better]]
                if "last" in needs:
                    src_t = a[(col, "last_t")][ss]
                    better = (src_t >= a[(col, "last_t")][ds]) & (src_t > -np.inf)
                    a[(col, "last_t")][ds[better]] = src_t[better]
                    a[(col, "last")][ds[better]] = a[(col, "last")][ss[better]]


_ARRAYS = {
    "n": ("n",),
    "sum": ("sum",),
    "min": ("min",),
    "max": ("max",),
    "m2": ("m2",),
    "first": ("first", "first_t"),
    "last": ("last", "last_t"),
}
_INITIAL = {
    "n": 0.0,
    "sum": 0.0,
    "min": np.inf,
    "max": -np.inf,
    "m2": 0.0,
    "first": np.nan,
    "first_t": np.inf,
    "last": np.nan,
    "last_t": -np.inf,
}
