#!/usr/bin/env python
"""Workload W: keyed 1 s tumbling event-time windows over out-of-order market ticks.

A benchmark, not a test. Every contender runs in this process on the same data, generated
once from a fixed seed:

(a) streamnb, batched: ``sn.from_records(df, time="ts", batch=B).window(...)``;
(b) streamnb, record at a time, on the first ``--subset`` events;
(c) a hand-written pure-Python dict loop with the same watermark semantics (the baseline);
(d) plain streamz, one ``emit`` per event, ``map`` + ``accumulate`` windowing, on the subset;
(e) pandas ``groupby`` per batch: the aggregation alone, no watermark, no late data;
(f) streamnb, batched, from the list of dicts: ``sn.from_records(records, batch=B)``;
(g) bare streamz, ``emit -> sink`` per event, no work at all: the floor of (b), on the subset;
(h) streamnb, batched, sliding windows of 1 s every 250 ms (four windows per event);
(i) streamnb, batched, 30 s session windows per symbol;
(j) a streamnb source into a sink, record at a time, no window: the floor of (b);
(k) the same from the list of dicts in batches: the floor of (f).

Before any figure is printed, the final window results (last pane of every window) and the
late events of (a), (b), (c), (d) and (f) are checked against each other, and those of (h) and
(i) against the same windows computed record at a time on the subset, so the benchmark
cannot report numbers for wrong results. A second, fresh process then runs an endless market feed
and samples memory and ``open_windows`` to show that state stays bounded.

Run ``python benchmarks/bench_windows.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import streamz

import streamnb as sn

SIZE = 1.0  # window length, seconds
DELAY = 2.0  # watermark delay, seconds
LATENESS = 0.0
AGG = {"price": ["mean", "max"], "volume": "sum"}
START = 1_795_478_400.0  # 2026-11-24T00:00:00Z
RATE = 1000.0  # events per second of event time, all symbols together
DISORDER = 0.02  # fraction of events that arrive late ...
MAX_DELAY = 3.0  # ... by up to this many seconds (beyond the 2 s watermark: some are dropped)


# --------------------------------------------------------------------------- workload
def make_workload(n: int, symbols: int, seed: int = 0) -> pd.DataFrame:
    """``n`` ticks over ``symbols`` symbols in arrival order: ts, symbol, price, volume."""
    rng = np.random.default_rng(seed)
    ts = START + np.cumsum(rng.exponential(1.0 / RATE, n))
    sym = rng.integers(0, symbols, n)
    base = 100.0 * np.exp(rng.normal(0.0, 0.5, symbols))
    walk = pd.Series(rng.normal(0.0, 0.001, n)).groupby(sym).cumsum().to_numpy()
    price = np.round(base[sym] * np.exp(walk), 4)
    volume = np.maximum(1, np.round(rng.lognormal(4.0, 1.0, n))).astype(np.int64)
    delay = np.where(rng.random(n) < DISORDER, rng.uniform(0.0, MAX_DELAY, n), 0.0)
    order = np.argsort(ts + delay, kind="stable")
    names = np.array([f"S{i:03d}" for i in range(symbols)], dtype=object)
    return pd.DataFrame(
        {
            "ts": ts[order],
            "symbol": names[sym[order]],
            "price": price[order],
            "volume": volume[order],
        }
    )


# --------------------------------------------------------------------------- contenders
# Every runner returns a function that collects its output (outside the timed region) as
# (panes, late): panes a DataFrame of every pane emitted (columns symbol, window_start,
# window_end, count, price_mean, price_max, volume_sum, pane), late the list of late events
# as (ts, symbol) in arrival order.
Collect = Callable[[], tuple[pd.DataFrame, list]]


def _make_window(src: Any, every: str | None = None, session: str | None = None) -> Any:
    if session is not None:
        return src.session(session, key="symbol", agg=AGG, watermark="2s")
    if every is not None:
        return src.window("1s", every=every, key="symbol", agg=AGG, watermark="2s")
    return src.window("1s", key="symbol", agg=AGG, watermark="2s")


def run_streamnb_batched(df: pd.DataFrame | list[dict], batch: int, **kinds: Any) -> Collect:
    src = sn.from_records(df, time="ts", batch=batch)
    w = _make_window(src, **kinds)
    frames: list[pd.DataFrame] = []
    late_frames: list[pd.DataFrame] = []
    sinks = [w.sink(frames.append), w.late.sink(late_frames.append)]
    src.run()
    for s in sinks:
        s.destroy()

    def collect() -> tuple[pd.DataFrame, list]:
        if not late_frames:
            return pd.concat(frames, ignore_index=True), []
        late = pd.concat(late_frames)
        return pd.concat(frames, ignore_index=True), _late_pairs(late["ts"], late["symbol"])

    return collect


def run_streamnb_records(records: list[dict], **kinds: Any) -> Collect:
    src = sn.from_records(records, time="ts")
    w = _make_window(src, **kinds)
    frames: list[pd.DataFrame] = []
    late: list[dict] = []
    sinks = [w.sink(frames.append), w.late.sink(late.append)]
    src.run()
    for s in sinks:
        s.destroy()
    return lambda: (pd.concat(frames, ignore_index=True), [(r["ts"], r["symbol"]) for r in late])


def run_python_loop(records: list[dict]) -> Collect:
    """The contract of DESIGN.md, record by record, in plain Python dicts."""
    size, delay, lateness = SIZE, DELAY, LATENESS
    floor, heappush, heappop = math.floor, heapq.heappush, heapq.heappop
    wm = max_t = -math.inf
    windows: dict[int, dict[str, list]] = {}  # window index -> symbol -> accumulator
    to_fire: list[int] = []  # heap of window indices not yet fired
    to_drop: list[int] = []  # heap of window indices still held
    next_fire = next_drop = math.inf  # end of to_fire[0], end + lateness of to_drop[0]
    panes: list[tuple] = []
    late: list[tuple] = []
    # accumulator: [count, price sum, price max, volume sum, fired, took a late event]
    for rec in records:
        t = rec["ts"]
        k = floor(t / size)
        end = (k + 1) * size
        sym = rec["symbol"]
        if end + lateness <= wm:
            late.append((t, sym))
            continue
        price, volume = rec["price"], rec["volume"]
        bucket = windows.get(k)
        if bucket is None:
            bucket = windows[k] = {}
            heappush(to_fire, k)
            heappush(to_drop, k)
            next_fire = min(next_fire, (to_fire[0] + 1) * size)
            next_drop = min(next_drop, (to_drop[0] + 1) * size + lateness)
        acc = bucket.get(sym)
        if acc is None:
            acc = bucket[sym] = [1, price, price, volume, False, False]
        else:
            acc[0] += 1
            acc[1] += price
            if price > acc[2]:
                acc[2] = price
            acc[3] += volume
        if end <= wm:  # accepted after the watermark passed its end: a late pane
            acc[5] = True
            acc[4] = True
            panes.append((sym, k, acc[0], acc[1] / acc[0], acc[2], acc[3], "late"))
        if t > max_t:
            max_t = t
            if t - delay > wm:
                wm = t - delay
                if wm >= next_fire:
                    next_fire = _fire(windows, to_fire, wm, size, panes, heappop)
                if wm >= next_drop:
                    next_drop = _drop(windows, to_drop, wm, size, lateness, heappop)
    _fire(windows, to_fire, math.inf, size, panes, heappop)
    return lambda: (_tuples_frame(panes), late)


def _tuples_frame(panes: list[tuple]) -> pd.DataFrame:
    out = pd.DataFrame(
        panes,
        columns=["symbol", "k", "count", "price_mean", "price_max", "volume_sum", "pane"],
    )
    out.insert(1, "window_start", out.pop("k") * SIZE)
    out.insert(2, "window_end", out["window_start"] + SIZE)
    return out


def _fire(windows, to_fire, wm, size, panes, heappop) -> float:
    while to_fire and (to_fire[0] + 1) * size <= wm:
        k = heappop(to_fire)
        for sym, acc in sorted(windows[k].items()):
            if not acc[4]:
                acc[4] = True
                kind = "late" if acc[5] else "on_time"
                panes.append((sym, k, acc[0], acc[1] / acc[0], acc[2], acc[3], kind))
    return (to_fire[0] + 1) * size if to_fire else math.inf


def _drop(windows, to_drop, wm, size, lateness, heappop) -> float:
    while to_drop and (to_drop[0] + 1) * size + lateness <= wm:
        del windows[heappop(to_drop)]
    return (to_drop[0] + 1) * size + lateness if to_drop else math.inf


class _StreamzWindows:
    """The same windowing as an ``accumulate`` step: ``(state, event) -> (state, panes)``."""

    def __init__(self) -> None:
        self.wm = self.max_t = -math.inf
        self.windows: dict[int, dict[str, list]] = {}
        self.to_fire: list[int] = []
        self.to_drop: list[int] = []
        self.late: list[tuple] = []

    def step(self, state: _StreamzWindows, ev: tuple) -> tuple[_StreamzWindows, list]:
        t, sym, price, volume = ev
        k = math.floor(t / SIZE)
        end = (k + 1) * SIZE
        out: list[tuple] = []
        if end + LATENESS <= state.wm:
            state.late.append((t, sym))
            return state, out
        bucket = state.windows.get(k)
        if bucket is None:
            bucket = state.windows[k] = {}
            heapq.heappush(state.to_fire, k)
            heapq.heappush(state.to_drop, k)
        acc = bucket.get(sym)
        if acc is None:
            acc = bucket[sym] = [0, 0.0, -math.inf, 0, False, False]
        acc[0] += 1
        acc[1] += price
        acc[2] = max(acc[2], price)
        acc[3] += volume
        if end <= state.wm:
            acc[4] = acc[5] = True
            out.append((sym, k, acc[0], acc[1] / acc[0], acc[2], acc[3], "late"))
        state.max_t = max(state.max_t, t)
        state.advance(max(state.wm, state.max_t - DELAY), out)
        return state, out

    def advance(self, wm: float, out: list) -> None:
        self.wm = wm
        _fire(self.windows, self.to_fire, wm, SIZE, out, heapq.heappop)
        _drop(self.windows, self.to_drop, wm, SIZE, LATENESS, heapq.heappop)


def run_plain_streamz(records: list[dict]) -> Collect:
    state = _StreamzWindows()
    source = streamz.Stream()
    panes: list[tuple] = []
    sink = (
        source.map(lambda r: (r["ts"], r["symbol"], r["price"], r["volume"]))
        .accumulate(state.step, start=state, returns_state=True)
        .flatten()
        .sink(panes.append)
    )
    for rec in records:
        source.emit(rec)
    final: list[tuple] = []
    state.advance(math.inf, final)  # the end of a finite stream
    panes.extend(final)
    sink.destroy()
    return lambda: (_tuples_frame(panes), state.late)


def run_bare_streamz(records: list[dict]) -> int:
    """The floor of any per-event streamz pipeline: ``emit -> sink``, doing nothing."""
    source = streamz.Stream()
    seen: list[dict] = []
    sink = source.sink(seen.append)
    for rec in records:
        source.emit(rec)
    sink.destroy()
    return len(seen)


def run_source_only(data: pd.DataFrame | list[dict], batch: int | None) -> int:
    """A streamnb source into a sink, no window: what any window downstream starts from."""
    src = sn.from_records(data, time="ts", batch=batch)
    seen: list[Any] = []
    sink = src.sink(seen.append)
    src.run()
    sink.destroy()
    return sum(len(x) if isinstance(x, pd.DataFrame) else 1 for x in seen)


def run_pandas_groupby(df: pd.DataFrame, batch: int) -> tuple[int, int]:
    """Aggregation cost alone: one groupby per batch, no watermark, no merging across batches."""
    groups = rows = 0
    for i in range(0, len(df), batch):
        b = df.iloc[i : i + batch]
        win = np.floor(b["ts"].to_numpy() / SIZE)
        agg = b.groupby([b["symbol"], win], sort=False).agg(
            price_mean=("price", "mean"), price_max=("price", "max"), volume_sum=("volume", "sum")
        )
        groups += len(agg)
        rows += len(b)
    return groups, rows


def _late_pairs(ts: pd.Series, symbol: pd.Series) -> list[tuple]:
    return list(zip(ts.tolist(), symbol.tolist(), strict=True))


# --------------------------------------------------------------------------- checking
def final_windows(panes: pd.DataFrame) -> pd.DataFrame:
    """The last pane of every (symbol, window), sorted, with plain dtypes."""
    last = panes.drop_duplicates(["symbol", "window_start"], keep="last")
    last = last.sort_values(["window_start", "symbol"]).reset_index(drop=True)
    return pd.DataFrame(
        {
            "symbol": last["symbol"].astype(object).to_numpy(),
            "window_start": last["window_start"].to_numpy(dtype=float),
            "window_end": last["window_end"].to_numpy(dtype=float),
            "count": last["count"].to_numpy(dtype=np.int64),
            "price_mean": last["price_mean"].to_numpy(dtype=float),
            "price_max": last["price_max"].to_numpy(dtype=float),
            "volume_sum": last["volume_sum"].to_numpy(dtype=float),
            "pane": last["pane"].astype(object).to_numpy(),
        }
    )


def assert_same(name: str, got: tuple, want: tuple, n_events: int | None) -> None:
    """Same windows, counts, max, sums and pane kinds exactly; means to 1e-12 (the sums are
    added in a different order); the same late events in the same order."""
    g, w = final_windows(got[0]), final_windows(want[0])
    assert len(g) == len(w), f"{name}: {len(g)} windows, want {len(w)}"
    for col in ("symbol", "window_start", "window_end", "count", "price_max", "volume_sum"):
        assert np.array_equal(g[col].to_numpy(), w[col].to_numpy()), f"{name}: {col} differs"
    assert (g["pane"] == w["pane"]).all(), f"{name}: pane kinds differ"
    np.testing.assert_allclose(g["price_mean"], w["price_mean"], rtol=1e-12, atol=0)
    assert got[1] == want[1], f"{name}: {len(got[1])} late events, want {len(want[1])}"
    if n_events is not None:  # tumbling: every event in one window or late
        assert int(w["count"].sum()) + len(want[1]) == n_events, f"{name}: events not conserved"


# --------------------------------------------------------------------------- timing
def best_of(
    repeat: int, contenders: dict[str, Callable[[], Any]]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best wall time of each contender over ``repeat`` rounds, and its last result. The
    rounds interleave the contenders, so a noisy moment on the machine hits them alike."""
    best = dict.fromkeys(contenders, math.inf)
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for key, fn in contenders.items():
            results[key] = None  # free the previous round's output first
            gc.collect()
            t0 = time.perf_counter()
            results[key] = fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return best, results


# --------------------------------------------------------------------------- memory
def memory_run(events: int, symbols: int, batch: int) -> dict[str, Any]:
    """An endless market feed through the same window, sampled as it goes: event count,
    ``open_windows``, slot capacity and resident memory stay flat as events grow.

    Resident memory is read from ``/proc/self/status`` (``VmRSS``, and ``VmHWM``, the peak,
    reset before the run), not ``tracemalloc`` (which keeps every traceback it has seen, so
    its own tables grow with the run) nor ``ru_maxrss`` (which, in a child process, starts
    at the parent's size at fork time)."""
    per_step = batch / RATE  # seconds of feed time per step: ~batch events
    feed = sn.market(
        symbols=symbols,
        rate=RATE,
        seed=1,
        disorder=DISORDER,
        max_delay=MAX_DELAY,
        n=None,
        start=START,
        batch=batch,
        speed=per_step,
        interval=1.0,
    )
    w = feed.window("1s", key="symbol", agg=AGG, watermark="2s")
    seen = {"panes": 0}
    sinks = [
        w.sink(lambda df: seen.__setitem__("panes", seen["panes"] + len(df))),
        w.late.sink(lambda df: None),
    ]
    rss_start = _proc_status_mb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    samples = []
    checkpoints = sorted({int(events * f / 10) for f in range(1, 11)})
    t0 = time.perf_counter()
    max_open = 0
    while feed.counters["events"] < events:
        feed.step()
        max_open = max(max_open, w.open_windows)
        if feed.counters["events"] >= checkpoints[0]:
            checkpoints.pop(0)
            samples.append(
                {
                    "events": feed.counters["events"],
                    "open_windows": w.open_windows,
                    "slot_capacity": w.state._capacity,
                    "rss_mb": round(_proc_status_mb("VmRSS"), 1),
                    "panes": seen["panes"],
                }
            )
    elapsed = time.perf_counter() - t0
    for s in sinks:
        s.destroy()
    return {
        "events": feed.counters["events"],
        "seconds": round(elapsed, 2),
        "max_open_windows": max_open,
        "rss_start_mb": round(rss_start, 1),
        "peak_rss_mb": round(_proc_status_mb("VmHWM"), 1),
        "samples": samples,
    }


def _proc_status_mb(field: str) -> float:
    """A memory figure of this process from ``/proc/self/status`` (Linux), in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return math.nan


# --------------------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "streamz": streamz.__version__,
        "streamnb": f"{sn.__version__} ({os.path.dirname(sn.__file__)})",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "platform": platform.platform(),
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| contender | events | best s | events/s | × Python loop | results |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['events']:,} | {r['seconds']:.3f} | "
            f"{r['events_per_s'] / 1e6:.3f}M | {r['ratio']:.3g} | {r['check']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # (full default, --quick default); an explicit value wins over both
    sizes = {
        "events": (1_000_000, 100_000, "ticks in workload W"),
        "subset": (50_000, 10_000, "events for the per-event contenders (b) and (d)"),
        "repeat": (3, 1, "rounds; the best time of each contender is kept"),
        "memory_events": (5_000_000, 300_000, "events in the endless-feed memory run"),
    }
    for name, (full, quick, text) in sizes.items():
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=int, help=f"{text} (default {full:_}; --quick: {quick:_})")
    p.add_argument("--symbols", type=int, default=50, help="distinct keys (default 50)")
    p.add_argument("--batch", type=int, default=10_000, help="rows per batch for (a) and (e)")
    p.add_argument("--no-memory", action="store_true", help="skip the endless-feed memory run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    p.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name, (full, quick, _) in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.subset = min(args.subset, args.events)

    if args.memory_only:  # the child process of the memory run
        print(json.dumps(memory_run(args.memory_events, args.symbols, args.batch)))
        return 0

    exe = os.path.relpath(sys.executable)
    if exe.startswith(".."):
        exe = sys.executable
    command = " ".join(shlex.quote(a) for a in [exe, *sys.argv])
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} {command}"
    df = make_workload(args.events, args.symbols)
    records = df.to_dict("records")
    sub_df, sub_records = df.iloc[: args.subset], records[: args.subset]
    n, m, r = args.events, args.subset, args.repeat
    print(
        f"workload W: {n:,} events, {args.symbols} symbols, "
        f"{df['ts'].diff().lt(0).mean():.2%} arrive after a later event; subset {m:,}",
        flush=True,
    )

    sizes = {"a": n, "b": m, "c": n, "d": m, "e": n, "f": n, "g": m, "h": n, "i": n, "j": m}
    sizes["k"] = n
    contenders = {
        "c": lambda: run_python_loop(records),
        "a": lambda: run_streamnb_batched(df, args.batch),
        "f": lambda: run_streamnb_batched(records, args.batch),
        "b": lambda: run_streamnb_records(sub_records),
        "g": lambda: run_bare_streamz(sub_records),
        "d": lambda: run_plain_streamz(sub_records),
        "e": lambda: run_pandas_groupby(df, args.batch),
        "h": lambda: run_streamnb_batched(df, args.batch, every="250ms"),
        "i": lambda: run_streamnb_batched(df, args.batch, session="30s"),
        "j": lambda: run_source_only(sub_records, None),
        "k": lambda: run_source_only(records, args.batch),
    }
    for key, kind in (("h", {"every": "250ms"}), ("i", {"session": "30s"})):
        try:  # a streamnb without this window kind (an older copy): no row
            _make_window(sn.from_records([], time="ts"), **kind)
        except (TypeError, AttributeError) as exc:
            print(f"  {key}: skipped ({type(exc).__name__}: {exc})", flush=True)
            del contenders[key]
    best, out = best_of(r, contenders)
    timings = {key: (sizes[key], secs) for key, secs in best.items()}
    for key, (events, secs) in timings.items():
        print(f"  {key}: {secs:.3f} s ({events / secs:,.0f} events/s)", flush=True)
    py_full, sn_full, sn_rec, sz_sub, sn_dicts = (out[k]() for k in "cabdf")

    # correctness first: no figures for wrong results
    assert_same("(a) streamnb batched", sn_full, py_full, n)
    assert_same("(f) streamnb batched from dicts", sn_dicts, py_full, n)
    py_sub = run_python_loop(sub_records)()
    assert_same("(b) streamnb record-at-a-time", sn_rec, py_sub, m)
    sn_sub = run_streamnb_batched(sub_df, args.batch)()
    assert_same("(a) streamnb batched, subset", sn_sub, sn_rec, m)
    assert_same("(d) plain streamz", sz_sub, py_sub, m)
    assert out["g"] == m, "(g) bare streamz lost events"
    assert out["j"] == m and out["k"] == n, "(j)/(k) the source lost events"
    for key, kind in (("h", {"every": "250ms"}), ("i", {"session": "30s"})):
        if key in out:
            by_record = run_streamnb_records(sub_records, **kind)()
            batched = run_streamnb_batched(sub_df, args.batch, **kind)()
            assert_same(f"({key}) batched vs record at a time, subset", batched, by_record, None)
    n_windows = len(final_windows(py_full[0]))
    n_late = len(py_full[1])
    print(f"verified: {n_windows:,} windows and {n_late:,} late events agree", flush=True)

    names = {
        "a": f"(a) streamnb, batches of {args.batch:,}",
        "b": "(b) streamnb, record at a time",
        "c": "(c) pure-Python dict loop",
        "d": "(d) plain streamz, emit per event",
        "e": f"(e) pandas groupby per {args.batch:,} batch (no watermark)",
        "f": f"(f) streamnb from a list of dicts, batches of {args.batch:,}",
        "g": "(g) bare streamz emit -> sink (no work)",
        "h": f"(h) streamnb sliding 1 s every 250 ms, batches of {args.batch:,}",
        "i": f"(i) streamnb 30 s sessions, batches of {args.batch:,}",
        "j": "(j) streamnb source -> sink, record at a time (no window)",
        "k": f"(k) streamnb source -> sink, list of dicts, batches of {args.batch:,}",
    }
    checks = {
        "a": "= (c)",
        "b": "= (c) and (a)",
        "c": "baseline",
        "d": "= (c)",
        "e": "aggregation only",
        "f": "= (c)",
        "g": "floor of (b)",
        "h": "batched = record at a time",
        "i": "batched = record at a time",
        "j": "floor of (b)",
        "k": "floor of (f)",
    }
    base = timings["c"][0] / timings["c"][1]
    rows = []
    for key in "abcdefghijk":
        if key not in timings:
            continue
        events, secs = timings[key]
        rate = events / secs
        rows.append(
            {
                "key": key,
                "name": names[key],
                "events": events,
                "seconds": secs,
                "events_per_s": rate,
                "ratio": rate / base,
                "check": checks[key],
            }
        )

    memory = None
    if not args.no_memory:
        child = [
            sys.executable,
            os.path.abspath(__file__),
            "--memory-only",
            "--memory-events",
            str(args.memory_events),
            "--symbols",
            str(args.symbols),
            "--batch",
            str(args.batch),
        ]
        out = subprocess.run(child, capture_output=True, text=True, check=True)
        memory = json.loads(out.stdout.strip().splitlines()[-1])

    info = machine()
    print()
    print(markdown_table(rows))
    print()
    print(
        f"Workload W: {n:,} ticks, {args.symbols} symbols, 1 s tumbling windows, "
        f"watermark {DELAY:g} s, {DISORDER:.0%} of events delayed by up to {MAX_DELAY:g} s "
        f"({n_windows:,} windows, {n_late:,} late events). Best of {r}; "
        f"(b), (d), (g) and (j) on the first {m:,} events."
    )
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, "
        f"numpy {info['numpy']}, pandas {info['pandas']}, streamz {info['streamz']}, "
        f"streamnb {info['streamnb']}; {info['date']}"
    )
    print(f"Command: {command}")
    if memory is not None:
        print()
        print(
            f"Memory, endless market feed ({memory['events']:,} events in "
            f"{memory['seconds']} s, fresh process): max open_windows "
            f"{memory['max_open_windows']}; RSS {memory['rss_start_mb']} MiB before the run, "
            f"peak RSS during it {memory['peak_rss_mb']} MiB"
        )
        print("| events | open_windows | slot capacity | RSS MiB | panes out |")
        print("|---:|---:|---:|---:|---:|")
        for s in memory["samples"]:
            print(
                f"| {s['events']:,} | {s['open_windows']} | {s['slot_capacity']} | "
                f"{s['rss_mb']} | {s['panes']:,} |"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": command,
                    "machine": info,
                    "workload": {
                        "events": n,
                        "symbols": args.symbols,
                        "batch": args.batch,
                        "subset": m,
                        "repeat": r,
                        "windows": n_windows,
                        "late": n_late,
                    },
                    "results": rows,
                    "memory": memory,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
