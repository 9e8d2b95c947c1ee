"""Holistic and user-defined aggregates per slot: quantiles, functions, mergeable classes.

The statistics of :class:`~streamnb.state.aggregates.SlotStats` are a few numbers per slot.
A *holistic* aggregate cannot be: a median, a quantile or an arbitrary function needs every
value of its window. :class:`HolisticSlots` keeps them per slot, as a list of numpy chunks
(one per batch, or Python floats for record-at-a-time input) concatenated lazily when a
result is asked for, in arrival order. A *mergeable* class keeps its own state, one object
per slot, fed with each batch's values (``update``) and folded together when windows merge
(``merge``).

**Memory**: a holistic aggregate holds every non-missing value of every open window, 8 bytes a
value (16 with a function: it also keeps the arrival order), until the slot is reused. Prefer
the built-in statistics or a mergeable class for long windows over fast streams.

Aggregates are named by :func:`~streamnb.state.aggregates.normalise_agg`: ``"median"``,
``"q0.9"`` (a fraction), ``"p95"`` (a percent) are read from the name; a function or class is
carried by its name, an :class:`AggName`.

>>> store = HolisticSlots({"v": {"median": ("quantile", 0.5), "ptp": ("func", np.ptp)}}, 2)
>>> store.init_slots(np.array([0, 1]))
>>> store.merge(np.array([0, 1]), np.array([0, 1, 0, 0]), {"v": np.array([1, 7, 2, 9.0])})
>>> store.merge_one(1, {"v": 3.0})
>>> store.result(np.array([0, 1]), "v", "median").tolist(), store.result([1], "v", "ptp")
([2.0, 5.0], array([4.]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["AggName", "HolisticSlots", "Mergeable", "parse_quantile"]

# how one aggregate is computed: ("base", "mean") | ("quantile", 0.9) | ("func", f) | ("class", C)
Spec = tuple[str, Any]


@runtime_checkable
class Mergeable(Protocol):
    """What a user-defined mergeable aggregate implements (no base class needed).

    The class is instantiated once per window, with no arguments; ``update`` gets the
    window's non-missing values of each batch (a float numpy array, in arrival order, never
    empty), ``merge`` folds in another object of the class (when windows merge; leave
    ``other`` unchanged) and ``get`` returns the window's number. A window without values
    gives NaN and ``get`` is not called. Its output column is ``{column}_{name}``, with ``name``
    a class attribute, or the class name in lower case.

    >>> class Spread:
    ...     name = "spread"
    ...     def __init__(self):
    ...         self.lo, self.hi = np.inf, -np.inf
    ...     def update(self, values):
    ...         self.lo = min(self.lo, float(values.min()))
    ...         self.hi = max(self.hi, float(values.max()))
    ...     def merge(self, other):
    ...         self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)
    ...     def get(self):
    ...         return self.hi - self.lo
    >>> s = Spread()
    >>> s.update(np.array([3.0, 5.0]))
    >>> t = Spread()
    >>> t.update(np.array([9.0]))
    >>> s.merge(t)
    >>> s.get(), isinstance(s, Mergeable)
    (6.0, True)
    """

    def update(self, values: np.ndarray) -> None: ...

    def merge(self, other: Any) -> None: ...

    def get(self) -> float: ...


class AggName(str):
    """An output name that carries its implementation (``spec``): ``f"{col}_{name}"`` names
    the output column, as for the built-in names, and :class:`SlotStats` reads ``spec``.

    >>> name = AggName("range", ("func", np.ptp))
    >>> name == "range", f"price_{name}", name.spec[0]
    (True, 'price_range', 'func')
    """

    spec: Spec

    def __new__(cls, name: str, spec: Spec) -> AggName:
        obj = super().__new__(cls, name)
        obj.spec = spec
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (AggName, (str(self), self.spec))


def parse_quantile(name: str) -> float | None:
    """The fraction a quantile name stands for (``"median"``, ``"q0.9"``, ``"p95"``), ``None``
    if the name is not one; raises ``ValueError`` when the fraction is out of range.

    >>> parse_quantile("median"), parse_quantile("q0.9"), parse_quantile("p99.9")
    (0.5, 0.9, 0.999)
    >>> parse_quantile("mean") is None
    True
    >>> parse_quantile("q95")
    Traceback (most recent call last):
    ...
    ValueError: quantile 'q95' is out of range: 'q' takes a fraction in [0, 1] ('q0.95'), ...
    """
    if name == "median":
        return 0.5
    if len(name) < 2 or name[0] not in "qp":
        return None
    digits = name[1:]
    if not (digits.replace(".", "", 1).isdigit() and digits.isascii()):
        return None
    value = Decimal(digits) / (100 if name[0] == "p" else 1)
    if not 0 <= value <= 1:
        raise ValueError(
            f"quantile {name!r} is out of range: 'q' takes a fraction in [0, 1] ('q0.95'), "
            "'p' a percent in [0, 100] ('p95')"
        )
    return float(value)


class _Values:
    """The non-missing values of one (column, slot): chunks, concatenated on demand."""

    __slots__ = ("chunks", "n", "one_s", "one_v", "seqs")

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.seqs: list[np.ndarray] = []  # arrival numbers of the chunks (ordered columns)
        self.one_v: list[float] = []  # values added one at a time
        self.one_s: list[int] = []
        self.n = 0

    def extend(self, other: _Values) -> None:
        """Add ``other``'s values (sharing its chunks, which are never written to)."""
        self.chunks.extend(other.chunks)
        self.seqs.extend(other.seqs)
        self.one_v.extend(other.one_v)
        self.one_s.extend(other.one_s)
        self.n += other.n

    def values(self, ordered: bool) -> np.ndarray:
        """All values as one read-only array, in arrival order if ``ordered``."""
        if len(self.chunks) == 1 and not self.one_v:
            self.chunks[0].flags.writeable = False  # user functions see the stored values
            return self.chunks[0]
        chunks = self.chunks
        if self.one_v:
            chunks = [*chunks, np.array(self.one_v)]
        values = np.concatenate(chunks)
        if ordered:
            seqs = np.concatenate(
                [*self.seqs, np.array(self.one_s, dtype=np.int64)] if self.one_s else self.seqs
            )
            if len(seqs) > 1 and not (seqs[1:] > seqs[:-1]).all():
                order = np.argsort(seqs, kind="stable")
                values, seqs = values[order], seqs[order]
            self.seqs = [seqs]
        values.flags.writeable = False  # user functions see the stored values
        self.chunks, self.one_v, self.one_s = [values], [], []
        return values


class HolisticSlots:
    """Per-slot values and mergeable objects for the holistic aggregates of some columns.

    Parameters
    ----------
    specs
        ``{column: {name: spec}}`` with only holistic specs (``"quantile"``, ``"func"``,
        ``"class"``); columns without any hold nothing.
    capacity
        Number of slots, as in :class:`~streamnb.state.aggregates.SlotStats`.
    """

    def __init__(self, specs: Mapping[str, Mapping[str, Spec]], capacity: int) -> None:
        self.specs = {col: dict(s) for col, s in specs.items() if s}
        # columns whose values are kept, and whether their arrival order matters
        self.ordered = {
            col: any(kind == "func" for kind, _ in s.values())
            for col, s in self.specs.items()
            if any(kind in ("quantile", "func") for kind, _ in s.values())
        }
        self.values: dict[str, list[_Values | None]] = {c: [None] * capacity for c in self.ordered}
        self.objects: dict[tuple[str, str], list[Any]] = {
            (col, name): [None] * capacity
            for col, s in self.specs.items()
            for name, (kind, _) in s.items()
            if kind == "class"
        }
        self._classes = {key: self.specs[key[0]][key[1]][1] for key in self.objects}
        self._seq = 0  # arrival number of the next event

    def __bool__(self) -> bool:
        return bool(self.values or self.objects)

    def _stores(self) -> Iterable[list[Any]]:
        yield from self.values.values()
        yield from self.objects.values()

    def grow(self, capacity: int) -> None:
        for store in self._stores():
            store.extend([None] * (capacity - len(store)))

    def init_slots(self, slots: np.ndarray | int) -> None:
        """Empty ``slots`` (freeing the values they held)."""
        idx = np.atleast_1d(slots).tolist()
        for store in self._stores():
            for s in idx:
                store[s] = None

    def merge(
        self,
        slots: np.ndarray,
        inv: np.ndarray,
        values: Mapping[str, np.ndarray],
    ) -> None:
        """Fold a batch in, as :meth:`SlotStats.merge` does: event ``i`` goes to
        ``slots[inv[i]]``; events arrive in index order, after those of earlier calls."""
        seq0 = self._seq
        self._seq += len(inv)
        for col in {*self.values, *(c for c, _ in self.objects)}:
            v = np.asarray(values[col], dtype=np.float64)
            idx = np.flatnonzero(~np.isnan(v))
            if not len(idx):
                continue
            g = inv[idx]
            if len(g) > 1 and (g[1:] < g[:-1]).any():
                order = np.argsort(g, kind="stable")
                idx, g = idx[order], g[order]
            cuts = np.flatnonzero(g[1:] != g[:-1]) + 1
            bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(g)].tolist(), strict=True)
            groups = [(int(slots[g[a]]), idx[a:b]) for a, b in bounds]
            if col in self.values:
                store, ordered = self.values[col], self.ordered[col]
                for s, take in groups:
                    held = store[s]
                    if held is None:
                        held = store[s] = _Values()
                    held.chunks.append(v[take])
                    if ordered:
                        held.seqs.append(take + seq0)
                    held.n += len(take)
            for key, store in self.objects.items():
                if key[0] == col:
                    cls = self._classes[key]
                    for s, take in groups:
                        obj = store[s]
                        if obj is None:
                            obj = store[s] = cls()
                        obj.update(v[take])

    def merge_one(self, slot: int, values: Mapping[str, float]) -> None:
        """Fold one event into ``slot``: what :meth:`merge` does with a batch of one event."""
        seq = self._seq
        self._seq += 1
        for col, store in self.values.items():
            v = values[col]
            if v == v:
                held = store[slot]
                if held is None:
                    held = store[slot] = _Values()
                held.one_v.append(float(v))
                if self.ordered[col]:
                    held.one_s.append(seq)
                held.n += 1
        for (col, name), store in self.objects.items():
            v = values[col]
            if v == v:
                obj = store[slot]
                if obj is None:
                    obj = store[slot] = self._classes[(col, name)]()
                obj.update(np.array([v], dtype=np.float64))

    def combine(self, dst_slots: np.ndarray, src_slots: np.ndarray) -> None:
        """Fold ``src_slots[i]`` into ``dst_slots[i]``, in order; sources are left unchanged
        (as in :meth:`SlotStats.combine`, no slot is both a destination and a source)."""
        pairs = list(
            zip(np.asarray(dst_slots).tolist(), np.asarray(src_slots).tolist(), strict=True)
        )
        for store in self.values.values():
            for d, s in pairs:
                src = store[s]
                if src is not None:
                    if store[d] is None:
                        store[d] = _Values()
                    store[d].extend(src)
        for key, store in self.objects.items():
            cls = self._classes[key]
            for d, s in pairs:
                src = store[s]
                if src is not None:
                    if store[d] is None:
                        store[d] = cls()
                    store[d].merge(src)

    def result(self, slots: np.ndarray | Iterable[int], col: str, name: str) -> np.ndarray:
        """Aggregate ``name`` of column ``col`` for each slot (NaN where it has no value)."""
        kind, impl = self.specs[col][name]
        idx = np.atleast_1d(np.asarray(slots)).tolist()
        out = np.full(len(idx), np.nan)
        if kind == "class":
            store = self.objects[(col, name)]
            for i, s in enumerate(idx):
                if (obj := store[s]) is not None:
                    out[i] = _number(obj.get, (), col, name)
            return out
        store, ordered = self.values[col], self.ordered[col]
        for i, s in enumerate(idx):
            held = store[s]
            if held is None or not held.n:
                continue
            values = held.values(ordered)
            if kind == "quantile":
                out[i] = np.quantile(values, impl)
            else:
                out[i] = _number(impl, (values,), col, name)
        return out


def _number(call: Callable[..., Any], args: tuple[Any, ...], col: str, name: str) -> float:
    """``call(*args)`` as a float, with errors that name the aggregate."""
    where = f"aggregate {name!r} of column {col!r}"
    try:
        got = call(*args)
    except Exception as exc:
        exc.add_note(f"raised by the {where}")
        raise
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"the {where} returned {got!r}; it must return one number") from None
    if arr.ndim:
        raise ValueError(
            f"the {where} returned an array of shape {arr.shape}; it must return one number"
        )
    return float(arr)
