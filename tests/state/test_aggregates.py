"""Every aggregate against a numpy reference (river's contract test), the forms ``agg=``
accepts and its error messages, and holistic aggregates through the window operators."""

from __future__ import annotations

import functools
import math
import pickle

import numpy as np
import pandas as pd
import pytest

import streamnb as sn
from streamnb.state.aggregates import SUPPORTED_AGGS, AggName, SlotStats, normalise_agg


class Spread:
    """Mergeable: max - min (exact whatever the batching)."""

    def __init__(self) -> None:
        self.lo, self.hi = math.inf, -math.inf

    def update(self, values: np.ndarray) -> None:
        self.lo = min(self.lo, float(values.min()))
        self.hi = max(self.hi, float(values.max()))

    def merge(self, other: Spread) -> None:
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)

    def get(self) -> float:
        return self.hi - self.lo


class MeanSquare:
    """Mergeable with a ``name``: the mean of the squares."""

    name = "msq"

    def __init__(self) -> None:
        self.n, self.total = 0, 0.0

    def update(self, values: np.ndarray) -> None:
        self.n += len(values)
        self.total += float((values * values).sum())

    def merge(self, other: MeanSquare) -> None:
        self.n += other.n
        self.total += other.total

    def get(self) -> float:
        return self.total / self.n


def trend(v: np.ndarray) -> float:
    """Order-sensitive: the values weighted by their rank in arrival order."""
    return float(np.dot(v, np.arange(len(v))))


def _nan_if_empty(f):
    return lambda x, t: f(x, t) if len(x) else math.nan


def _by_time(x, t, last):
    i = np.lexsort((np.arange(len(t)), t))  # time, then arrival
    return x[i[-1] if last else i[0]]


# every aggregate: (what agg= is given, output name, reference on the valid values in
# arrival order and their times, exact or not)
BASE_REFERENCE = {
    "count": lambda x, t: float(len(x)),
    "sum": lambda x, t: float(np.sum(x)),
    "mean": _nan_if_empty(lambda x, t: np.mean(x)),
    "min": _nan_if_empty(lambda x, t: np.min(x)),
    "max": _nan_if_empty(lambda x, t: np.max(x)),
    "first": _nan_if_empty(lambda x, t: _by_time(x, t, last=False)),
    "last": _nan_if_empty(lambda x, t: _by_time(x, t, last=True)),
    "std": lambda x, t: np.std(x, ddof=1) if len(x) > 1 else math.nan,
    "var": lambda x, t: np.var(x, ddof=1) if len(x) > 1 else math.nan,
}
QUANTILES = {"median": 0.5, "q0": 0.0, "q0.25": 0.25, "q.9": 0.9, "q1": 1.0, "p5": 0.05}
QUANTILES |= {"p95": 0.95, "p99.9": 0.999, "p100": 1.0}
AGGREGATES = [
    *((name, name, ref, False) for name, ref in BASE_REFERENCE.items()),
    *(
        (name, name, _nan_if_empty(lambda x, t, q=q: np.quantile(x, q)), True)
        for name, q in QUANTILES.items()
    ),
    (np.ptp, "ptp", _nan_if_empty(lambda x, t: np.ptp(x)), True),
    (trend, "trend", _nan_if_empty(lambda x, t: trend(x)), True),
    (
        ("n_unique", lambda v: len(np.unique(v))),
        "n_unique",
        _nan_if_empty(lambda x, t: len(set(x))),
        True,
    ),
    (Spread, "spread", _nan_if_empty(lambda x, t: np.ptp(x)), True),
    (MeanSquare, "msq", _nan_if_empty(lambda x, t: np.mean(x * x)), False),
]
IDS = [a[1] for a in AGGREGATES]


def test_every_builtin_aggregate_has_a_reference():
    assert set(SUPPORTED_AGGS) == set(BASE_REFERENCE)


def simulate(aggs, seed, n_slots=6, n_events=120):
    """Random events into random slots in random batches (record-at-a-time for batches of
    one), with random slot merges (``combine``) and reuses (``init_slots``) between batches.
    Checks every slot against the reference after every batch; returns how many checks ran."""
    rng = np.random.default_rng(seed)
    stats = SlotStats(normalise_agg({"v": [a[0] for a in aggs]}), capacity=2)
    stats.grow(n_slots)
    stats.init_slots(np.arange(n_slots))
    values = np.round(rng.normal(size=n_events) * 4, int(rng.integers(0, 3)))  # ties
    values[rng.random(n_events) < rng.choice([0.0, 0.3, 1.0], p=[0.3, 0.6, 0.1])] = np.nan
    times = rng.permutation(n_events).astype(float)  # distinct: first/last are well defined
    slot_of = rng.integers(0, n_slots - 1, n_events)  # the last slot never gets an event
    held: list[list[int]] = [[] for _ in range(n_slots)]  # the events of each slot
    checks = 0

    def check(slots):
        nonlocal checks
        for _agg, name, ref, exact in aggs:
            got = stats.result(np.array(slots), "v", name)
            for s, g in zip(slots, got, strict=True):
                ev = sorted(held[s])  # arrival order
                x, t = values[ev], times[ev]
                keep = ~np.isnan(x)
                want = ref(x[keep], t[keep])
                if exact:
                    np.testing.assert_array_equal(g, want, err_msg=f"{name} slot {s}")
                else:
                    np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-9, err_msg=name)
                checks += 1

    i = 0
    while i < n_events:
        size = int(rng.choice([1, 1, 2, 5, 17, 60]))
        ev = np.arange(i, min(i + size, n_events))
        i = ev[-1] + 1
        if len(ev) == 1 and rng.random() < 0.8:
            s = int(slot_of[ev[0]])
            stats.merge_one(s, {"v": float(values[ev[0]])}, float(times[ev[0]]))
        else:
            slots, inv = np.unique(slot_of[ev], return_inverse=True)
            order = rng.permutation(len(slots))  # slots in any order
            slots, inv = slots[order], np.argsort(order)[inv]
            stats.merge(slots, inv, len(slots), {"v": values[ev]}, times[ev])
        for e in ev:
            held[slot_of[e]].append(int(e))
        if rng.random() < 0.4:  # merge windows, as sessions do: repeated destinations
            k = int(rng.integers(1, 4))
            src = rng.choice(n_slots - 1, size=min(k + 1, n_slots - 1), replace=False)
            dst, src = np.repeat(src[0], len(src) - 1), src[1:]
            before = [stats.result(np.array(src), "v", a[1]) for a in aggs]
            stats.combine(dst, src)
            held[dst[0]] += [e for s in src for e in held[s]]
            after = [stats.result(np.array(src), "v", a[1]) for a in aggs]
            for b, a in zip(before, after, strict=True):
                np.testing.assert_array_equal(a, b)  # sources are left unchanged
            check([int(dst[0])])
            stats.init_slots(src)  # reused as new windows
            for s in src:
                held[s] = []
        check(list(range(n_slots)))
    return checks


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("agg", AGGREGATES, ids=IDS)
def test_each_aggregate_matches_numpy(agg, seed):
    assert simulate([agg], seed) > 0


@pytest.mark.parametrize("seed", range(30))
def test_all_aggregates_together_match_numpy(seed):
    assert simulate(AGGREGATES, 100 + seed) > 0


def test_holistic_values_are_freed_when_a_slot_is_reused():
    stats = SlotStats(normalise_agg({"v": ["median", Spread]}), capacity=2)
    stats.init_slots(np.arange(2))
    stats.merge(np.array([0, 1]), np.array([0, 1]), 2, {"v": np.array([1.0, 2.0])}, np.zeros(2))
    stats.init_slots(1)  # tumbling windows pass one int
    assert (
        stats.holistic.values["v"][1] is None and stats.holistic.objects[("v", "spread")][1] is None
    )
    assert stats.result(np.array([0, 1]), "v", "median").tolist()[0] == 1.0
    assert np.isnan(stats.result(np.array([1]), "v", "spread")[0])


def test_functions_see_read_only_values_in_arrival_order():
    seen = []
    stats = SlotStats(normalise_agg({"v": ("keep", lambda v: seen.append(v) or 0.0)}), 1)
    stats.init_slots(np.arange(1))
    stats.merge_one(0, {"v": 3.0}, 9.0)
    stats.merge(
        np.array([0]), np.zeros(2, dtype=np.int64), 1, {"v": np.array([1, 2.0])}, np.ones(2)
    )
    stats.merge_one(0, {"v": math.nan}, 0.0)
    stats.merge_one(0, {"v": 0.5}, 0.0)
    stats.result(np.array([0]), "v", "keep")
    assert seen[0].tolist() == [3.0, 1.0, 2.0, 0.5] and not seen[0].flags.writeable


# ------------------------------------------------------------------ normalise_agg
def test_normalise_agg_accepts_every_form_in_the_order_given():
    def rng_(v):
        return v.max() - v.min()

    aggs = normalise_agg(
        {
            "price": ["mean", "median", "q0.9", "p95", np.ptp, ("range", rng_), Spread, MeanSquare],
            "volume": {"total": "sum", "vol_range": rng_, "sp": Spread, "p50": "p50"},
            "x": np.ptp,
            "y": ("r", lambda v: 1.0),
            "z": Spread,
        }
    )
    assert aggs == {
        "price": ("mean", "median", "q0.9", "p95", "ptp", "range", "spread", "msq"),
        "volume": ("total", "vol_range", "sp", "p50"),
        "x": ("ptp",),
        "y": ("r",),
        "z": ("spread",),
    }
    assert type(aggs["price"][0]) is str and aggs["price"][4].spec == ("func", np.ptp)
    assert aggs["volume"][0].spec == ("base", "sum") and type(aggs["volume"][3]) is str
    assert normalise_agg(aggs) == aggs  # idempotent: implementations are kept
    assert normalise_agg(aggs)["price"][5].spec == ("func", rng_)
    name = pickle.loads(pickle.dumps(aggs["price"][4]))
    assert name == "ptp" and name.spec == ("func", np.ptp)


def test_renamed_builtins_compute_the_builtin():
    stats = SlotStats(normalise_agg({"v": {"total": "sum", "mid": "median"}}), 1)
    stats.init_slots(np.arange(1))
    stats.merge(
        np.array([0]), np.zeros(3, dtype=np.int64), 1, {"v": np.array([1, 5, 9.0])}, np.zeros(3)
    )
    assert stats.result(np.array([0]), "v", "total").tolist() == [15.0]
    assert stats.result(np.array([0]), "v", "mid").tolist() == [5.0]


def _unnamed(v):
    return 0.0


@pytest.mark.parametrize(
    ("agg", "error", "match"),
    [
        ([("mean",)], TypeError, r"agg must be a dict"),
        (
            {"p": lambda v: v.max()},
            ValueError,
            r"a lambda for column 'p' has no name .*\('name', func\)",
        ),
        ({"p": [functools.partial(np.quantile, q=0.3)]}, ValueError, r"the function .* no name"),
        (
            {"p": "meen"},
            ValueError,
            r"unknown aggregate 'meen' for column 'p'; did you mean 'mean'\?",
        ),
        ({"p": "q95"}, ValueError, r"quantile 'q95' is out of range.*'p95'.*column 'p'"),
        ({"p": "p101"}, ValueError, r"quantile 'p101' is out of range"),
        ({"p": "qx"}, ValueError, r"unknown aggregate 'qx'.*'q0.9' or 'p95'"),
        (
            {"p": [int]},
            TypeError,
            r"class int given for column 'p' is not a mergeable.*lacks update, merge, get",
        ),
        ({"p": [Spread()]}, TypeError, r"instance of Spread; pass the class itself"),
        ({"p": Spread()}, TypeError, r"instance of Spread; pass the class itself"),
        ({"p": [3]}, TypeError, r"aggregate of column 'p' must be a name.*got 3"),
        (
            {"p": 3},
            TypeError,
            r"an aggregate of column 'p' must be a name.*a dict \{name: function\}; got 3",
        ),
        ({"p": {"": np.ptp}}, TypeError, r"non-empty strings"),
        ({"p": {"r": 3}}, TypeError, r"aggregate 'r' of column 'p' must be"),
        ({"p": ("r", 3)}, TypeError, r"aggregate 'r' of column 'p' must be"),
        (
            {"p": ["sum", np.sum]},
            ValueError,
            r"two different aggregates of column 'p' are named 'sum'",
        ),
        ({"p": [np.ptp, ("ptp", _unnamed)]}, ValueError, r"named 'ptp' \(output column p_ptp\)"),
    ],
)
def test_normalise_agg_says_what_was_wrong(agg, error, match):
    with pytest.raises(error, match=match):
        normalise_agg(agg)


def test_repeating_the_same_aggregate_is_allowed():
    assert normalise_agg({"p": ["mean", "mean", np.ptp, np.ptp]}) == {
        "p": ("mean", "mean", "ptp", "ptp")
    }


def _one_window(func):
    stats = SlotStats(normalise_agg({"v": ("f", func)}), 1)
    stats.init_slots(np.arange(1))
    stats.merge(
        np.array([0]), np.zeros(2, dtype=np.int64), 1, {"v": np.array([1, 2.0])}, np.zeros(2)
    )
    return stats.result(np.array([0]), "v", "f")


def test_errors_of_user_functions_name_the_aggregate():
    with pytest.raises(
        ValueError, match=r"aggregate 'f' of column 'v' returned an array of shape \(2,\)"
    ):
        _one_window(lambda v: v * 2)
    with pytest.raises(TypeError, match=r"returned 'x'; it must return one number"):
        _one_window(lambda v: "x")
    with pytest.raises(ZeroDivisionError) as info:
        _one_window(lambda v: 1 / 0)
    assert "raised by the aggregate 'f' of column 'v'" in info.value.__notes__
    with pytest.raises(ValueError, match="read-only"):
        _one_window(lambda v: v.sort())
    assert AggName("f", ("func", abs)) == "f"


# ------------------------------------------------------------------ through the operators
OP_AGG = {"v": ["median", "p95", np.ptp, Spread, MeanSquare, trend]}
OP_COLS = ["count", "v_median", "v_p95", "v_ptp", "v_spread", "v_msq", "v_trend"]


def _data(seed=0, n=300, disorder=0.3):
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.uniform(0, 12, n)) + rng.uniform(0, disorder, n)  # < the watermark
    df = pd.DataFrame({"ts": ts, "k": rng.choice(["a", "b", "c"], n), "v": rng.normal(size=n)})
    df.loc[rng.random(n) < 0.2, "v"] = np.nan
    df.loc[(df["k"] == "c") & (df["ts"] // 1 == 3), "v"] = np.nan  # a window without values
    return df[~((df["k"] == "b") & (df["ts"] > 6) & (df["ts"] < 8))]  # a hole


def _pandas_panes(df, by):
    g = df.groupby(by, sort=True)["v"]
    with np.errstate(invalid="ignore"):
        want = pd.DataFrame(
            {
                "count": g.size(),
                "v_median": g.median(),
                "v_p95": g.quantile(0.95),
                "v_ptp": g.max() - g.min(),
                "v_spread": g.max() - g.min(),
                "v_msq": (df["v"] ** 2).groupby([df[c] for c in by]).mean(),
                "v_trend": g.agg(
                    lambda s: trend(s.dropna().to_numpy()) if s.notna().any() else np.nan
                ),
            }
        )
    return want.reset_index()


def _run(df, batch, make, by):
    src = sn.from_records(df, time="ts", batch=batch)
    node = make(src)
    out, late = node.sink_to_list(), node.late.sink_to_list()
    src.run()
    assert not late
    panes = pd.concat(out, ignore_index=True).drop_duplicates(by, keep="last")
    aggs = [c for c in panes.columns if c.startswith("v_")]
    assert aggs == OP_COLS[1:]  # in the order given
    return panes.sort_values(by).reset_index(drop=True)[[*by, *OP_COLS]]


def _compare(got, want):
    got = got.astype({"count": "int64"})
    want = want.astype({"count": "int64"})
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-12)


BATCHES = [None, 1, 4, 25, 1000]


@pytest.mark.parametrize("batch", BATCHES)
def test_window_panes_match_pandas_groupby(batch):
    df = _data()
    want = _pandas_panes(df.assign(window_start=np.floor(df["ts"])), ["k", "window_start"])
    got = _run(
        df,
        batch,
        lambda s: s.window("1s", key="k", agg=OP_AGG, watermark="1s"),
        ["k", "window_start"],
    )
    _compare(got, want)


@pytest.mark.parametrize("batch", BATCHES)
def test_session_panes_match_pandas_groupby(batch):
    df = _data(1, n=150, disorder=1.5)  # out-of-order events bridge sessions
    gap = 0.5
    ordered = df.sort_values(["k", "ts"], kind="stable")
    new = (ordered["ts"].diff() > gap) | (ordered["k"] != ordered["k"].shift())
    df["session"] = new.cumsum().reindex(df.index)
    starts = df.groupby("session")["ts"].transform("min")
    want = _pandas_panes(df.assign(window_start=starts), ["k", "window_start"])
    assert len(want) > 10 and (want["count"] > 1).any()
    got = _run(
        df.drop(columns="session"),
        batch,
        lambda s: s.session(gap, key="k", agg=OP_AGG, watermark="2s"),
        ["k", "window_start"],
    )
    _compare(got, want)


@pytest.mark.parametrize("batch", BATCHES)
def test_count_window_panes_match_pandas_groupby(batch):
    df = _data(2, n=100)
    want = _pandas_panes(df.assign(window=df.groupby("k").cumcount() // 7), ["k", "window"])
    got = _run(df, batch, lambda s: s.count_window(7, key="k", agg=OP_AGG), ["k", "window"])
    _compare(got, want)
