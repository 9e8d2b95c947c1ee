"""Mergeable per-window statistics held in numpy arrays, one slot per (key, window).

A batch is reduced to one partial per group with ``np.bincount`` / ``ufunc.at``, then merged
into the slots; a record updates one slot. Missing values (None/NaN) are skipped, as pandas
and SQL do; ``count`` of a window counts its events, ``{col}_count`` the non-missing values.

Besides these statistics, an aggregate may be holistic or user-defined (see
:mod:`streamnb.state.holistic`): ``"median"``, a quantile ``"q0.9"`` or percentile ``"p95"``
(numpy's default linear interpolation, as ``np.quantile``), a function of the window's values
(``np.ptp``, or a named lambda), or a mergeable class (``update``/``merge``/``get``). Holistic
aggregates (quantiles, functions) hold every value of an open window in memory.

>>> stats = SlotStats({"price": ("mean", "max")}, capacity=4)
>>> stats.init_slots(np.array([0, 1]))
>>> stats.merge(np.array([0, 1]), np.array([0, 0, 1]), 2,
...             {"price": np.array([1.0, 3.0, 5.0])}, np.array([10.0, 11.0, 12.0]))
>>> stats.result(np.array([0, 1]), "price", "mean").tolist()
[2.0, 5.0]
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from streamnb.state.holistic import AggName, HolisticSlots, Mergeable, Spec, parse_quantile

__all__ = ["SUPPORTED_AGGS", "AggName", "Mergeable", "SlotStats", "agg_spec", "normalise_agg"]

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


AggSpec = str | Callable[..., Any] | type | tuple[str, Any]


def normalise_agg(
    agg: Mapping[str, AggSpec | Iterable[AggSpec] | Mapping[str, Any]] | None,
) -> dict[str, tuple[str, ...]]:
    """The aggregates of each column as ``{column: (name, ...)}``, in the order given; output
    columns are ``{column}_{name}``.

    An aggregate is a name (``"mean"``, ``"median"``, ``"q0.9"``, ``"p95"``, ...), a function
    of the window's values named by its ``__name__``, a ``(name, function)`` pair, a mergeable
    class (see :class:`~streamnb.state.holistic.Mergeable`), or a list of these; a dict
    ``{name: function_class_or_aggregate_name}`` names each one. The names of functions and
    classes are :class:`~streamnb.state.holistic.AggName` strings that carry them.

    >>> normalise_agg({"price": ["mean", "max"], "volume": "sum"})
    {'price': ('mean', 'max'), 'volume': ('sum',)}
    >>> normalise_agg(None)
    {}
    >>> normalise_agg({"price": ["median", "p95", np.ptp, ("spread", np.ptp)]})
    {'price': ('median', 'p95', 'ptp', 'spread')}
    >>> normalise_agg({"price": {"range": lambda v: v.max() - v.min(), "avg": "mean"}})
    {'price': ('range', 'avg')}
    >>> normalise_agg({"price": lambda v: v.max()})
    Traceback (most recent call last):
    ...
    ValueError: a lambda for column 'price' has no name for its output column; pass ('name', ...
    """
    if agg is None:
        return {}
    if not isinstance(agg, Mapping):
        raise TypeError(
            f"agg must be a dict like {{'price': ['mean', 'max']}}, not {type(agg).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for column, given in agg.items():
        column = str(column)
        if isinstance(given, Mapping):
            names = [_named(column, name, impl) for name, impl in given.items()]
        elif isinstance(given, Iterable) and not isinstance(given, str) and not _is_pair(given):
            names = [_one(column, item) for item in given]
        else:
            names = [_one(column, given)]
        seen: dict[str, Spec] = {}
        for name in names:
            spec = agg_spec(name)
            if seen.setdefault(name, spec) != spec:
                raise ValueError(
                    f"two different aggregates of column {column!r} are named {name!r} "
                    f"(output column {column}_{name}); name one differently, "
                    f"e.g. {{{column!r}: {{'my_{name}': func}}}}"
                )
        out[column] = tuple(names)
    return out


def agg_spec(name: str) -> Spec:
    """How the aggregate ``name`` (as in :func:`normalise_agg`'s output) is computed:
    ``("base", stat)``, ``("quantile", q)``, ``("func", f)`` or ``("class", cls)``.

    >>> agg_spec("mean"), agg_spec("p95"), agg_spec("median")
    (('base', 'mean'), ('quantile', 0.95), ('quantile', 0.5))
    """
    if isinstance(name, AggName):
        return name.spec
    if name in _NEEDS:
        return ("base", name)
    q = parse_quantile(name)
    if q is None:
        raise ValueError(f"unknown aggregate {name!r}")
    return ("quantile", q)


def _is_pair(x: Any) -> bool:
    return (
        isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) and not isinstance(x[1], str)
    )


def _one(column: str, item: Any) -> str:
    """One aggregate given without an explicit name."""
    if isinstance(item, AggName):
        return item
    if isinstance(item, str):
        return _builtin(column, item)
    if _is_pair(item):
        return _named(column, *item)
    if isinstance(item, type):
        _check_class(column, item)
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            name = item.__name__.lower()
        return AggName(name, ("class", item))
    if callable(item):
        name = getattr(item, "__name__", None)
        if not isinstance(name, str) or not name or name.startswith("<"):
            what = "a lambda" if name == "<lambda>" else f"the function {item!r}"
            raise ValueError(
                f"{what} for column {column!r} has no name for its output column; "
                f"pass ('name', func) or {{{column!r}: {{'name': func}}}}"
            )
        return AggName(name, ("func", item))
    raise TypeError(_not_an_aggregate(column, item))


def _named(column: str, name: Any, impl: Any) -> str:
    """One aggregate given with its output name."""
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"aggregate names of column {column!r} must be non-empty strings, got {name!r}"
        )
    if isinstance(impl, str):
        builtin = _builtin(column, impl)
        return builtin if name == builtin else AggName(name, agg_spec(builtin))
    if isinstance(impl, type):
        _check_class(column, impl)
        return AggName(name, ("class", impl))
    if callable(impl):
        return AggName(name, ("func", impl))
    raise TypeError(_not_an_aggregate(column, impl, name))


def _builtin(column: str, name: str) -> str:
    try:
        if name in _NEEDS or parse_quantile(name) is not None:
            return name
    except ValueError as exc:
        raise ValueError(f"{exc} (column {column!r})") from None
    close = difflib.get_close_matches(name, [*SUPPORTED_AGGS, "median"], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(
        f"unknown aggregate {name!r} for column {column!r}; {hint}choose from "
        f"{', '.join(SUPPORTED_AGGS)}, median, a quantile such as 'q0.9' or 'p95', "
        "a function of the values, or a mergeable class"
    )


def _check_class(column: str, cls: type) -> None:
    missing = [m for m in ("update", "merge", "get") if not callable(getattr(cls, m, None))]
    if missing:
        raise TypeError(
            f"class {cls.__name__} given for column {column!r} is not a mergeable aggregate: "
            f"it lacks {', '.join(missing)}; implement update(values), merge(other) and get(), "
            "or pass a function of the values"
        )


def _not_an_aggregate(column: str, item: Any, name: str | None = None) -> str:
    what = f"aggregate {name!r}" if name else "an aggregate"
    if all(callable(getattr(item, m, None)) for m in ("update", "merge", "get")):
        return (
            f"{what} of column {column!r} is an instance of {type(item).__name__}; "
            "pass the class itself (it is instantiated once per window)"
        )
    return (
        f"{what} of column {column!r} must be a name such as 'mean' or 'p95', a function, "
        f"a mergeable class, a list of these or a dict {{name: function}}; got {item!r}"
    )


class SlotStats:
    """Statistics of every aggregated column, per slot: base statistics in arrays indexed by
    slot, holistic and user-defined aggregates in a :class:`HolisticSlots` (``holistic``).

    Holistic aggregates (median, quantiles, functions) keep every non-missing value of a slot
    until :meth:`init_slots` empties it: memory grows with the events of the open windows.

    >>> stats = SlotStats(normalise_agg({"v": ["mean", "median", np.ptp]}), capacity=2)
    >>> stats.init_slots(np.array([0, 1]))
    >>> stats.merge(np.array([0, 1]), np.array([0, 0, 1, 0]), 2,
    ...             {"v": np.array([1.0, 9.0, 4.0, 2.0])}, np.zeros(4))
    >>> [stats.result(np.array([0, 1]), "v", a).tolist() for a in ("mean", "median", "ptp")]
    [[4.0, 4.0], [2.0, 4.0], [8.0, 0.0]]
    """

    def __init__(self, aggs: Mapping[str, tuple[str, ...]], capacity: int = 64) -> None:
        self.aggs = dict(aggs)
        specs = {col: {a: agg_spec(a) for a in names} for col, names in self.aggs.items()}
        # result() of a base aggregate, possibly under another name: the statistic it reads
        self._base = {
            (col, a): spec[1]
            for col, s in specs.items()
            for a, spec in s.items()
            if spec[0] == "base"
        }
        needs = {col: set() for col in self.aggs}
        for (col, _), stat in self._base.items():
            needs[col] |= _NEEDS[stat]
        self.needs = {col: n for col, n in needs.items() if n}  # columns with base statistics
        self.arrays: dict[tuple[str, str], np.ndarray] = {}
        for col, needs in self.needs.items():
            for stat in sorted(needs):
                for name in _ARRAYS[stat]:
                    self.arrays[(col, name)] = np.empty(capacity)
        self.holistic = HolisticSlots(
            {col: {a: sp for a, sp in s.items() if sp[0] != "base"} for col, s in specs.items()},
            capacity,
        )
        self._has_holistic = bool(self.holistic)

    def grow(self, capacity: int) -> None:
        for k, arr in self.arrays.items():
            new = np.empty(capacity)
            new[: len(arr)] = arr
            self.arrays[k] = new
        if self._has_holistic:
            self.holistic.grow(capacity)

    def init_slots(self, slots: np.ndarray) -> None:
        for (_, name), arr in self.arrays.items():
            arr[slots] = _INITIAL[name]
        if self._has_holistic:
            self.holistic.init_slots(slots)

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
        if self._has_holistic:
            self.holistic.merge(slots, inv, values)

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
        if self._has_holistic:
            self.holistic.merge_one(slot, values)

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
        base = self._base.get((col, agg))
        if base is not None:
            agg = base
        elif col in self.holistic.specs and agg in self.holistic.specs[col]:
            return self.holistic.result(slots, col, agg)
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
        if self._has_holistic:
            self.holistic.combine(dst, src)
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
