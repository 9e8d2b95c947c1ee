#!/usr/bin/env python
"""Rule detection on vital signs: ``.detect`` against a hand-written Python loop.

A benchmark, not a test. The workload is N readings of ``sn.vitals`` (100 patients, 2 % of
readings delayed by up to 2 s), generated once and held as one DataFrame and as a list of
dicts. Two rules, each per patient with ``watermark="2s"``:

* threshold with duration: ``threshold("hr", above=120, for_="30s")``;
* a two-step sequence: ``sequence("hr > 120", "spo2 < 90", within="2min")``.

Contenders, all in this process on the same data:

(a) streamnb, batched: ``sn.from_records(df, time="ts", batch=B).detect(rule, ...)``;
(b) streamnb, record at a time, on the first ``--subset`` readings;
(c) a hand-written pure-Python loop over the dicts with the same semantics — a heap holds
    readings until the watermark passes them, then per-patient state decides — the baseline.

Before any figure is printed the alerts are checked: for each rule, (a) and (c) must report
the same alerts (patient and the positions of the readings involved) on the full data, and
(b) the same as (c) on the subset. Events/s is the best of ``--repeat`` interleaved rounds.

Run ``python benchmarks/bench_rules.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

import streamnb as sn

DELAY = 2.0  # watermark delay = the feed's max_delay, seconds
ABOVE, FOR = 120.0, 30.0
WITHIN = 120.0
START = "2026-11-24"


def make_workload(n: int, patients: int, seed: int = 0) -> pd.DataFrame:
    """``n`` readings in arrival order: seq, ts, patient, hr, spo2, sbp, dbp, temp."""
    feed = sn.vitals(
        patients=patients, seed=seed, n=n, start=START, disorder=0.02, max_delay=DELAY, batch=n
    )
    frames = feed.sink_to_list()
    feed.run()
    return frames[0].reset_index(drop=True)


# ------------------------------------------------------------------------- the baseline
def loop_threshold(records: list[dict[str, Any]]) -> list[tuple[str, tuple[int, ...]]]:
    """Per patient: alert once per episode of hr > 120 lasting 30 s, in event-time order."""
    alerts = []
    heap: list[tuple[float, int, str, float]] = []
    state: dict[str, list[Any]] = {}  # patient -> [held, start, start_pos, alerted]
    wm = top = -math.inf

    def release(limit: float) -> None:
        while heap and heap[0][0] <= limit:
            t, pos, who, hr = heapq.heappop(heap)
            st = state.get(who)
            if hr > ABOVE:
                if st is None or not st[0]:
                    st = state[who] = [True, t, pos, False]
                if not st[3] and t - st[1] >= FOR:
                    st[3] = True
                    alerts.append((who, (st[2], pos) if st[2] != pos else (pos,)))
            elif st is not None:
                st[0] = False

    for pos, r in enumerate(records):
        t = r["ts"]
        if t < wm:
            continue  # late
        heapq.heappush(heap, (t, pos, r["patient"], r["hr"]))
        if t > top:
            top = t
            wm = max(wm, top - DELAY)
        release(wm)
    release(math.inf)
    return alerts


def loop_sequence(records: list[dict[str, Any]]) -> list[tuple[str, tuple[int, ...]]]:
    """Per patient: hr > 120, then spo2 < 90 within 2 min (latest start), then restart."""
    alerts = []
    heap: list[tuple[float, int, str, float, float]] = []
    first: dict[str, tuple[float, int]] = {}  # patient -> latest hr > 120 reading
    wm = top = -math.inf

    def release(limit: float) -> None:
        while heap and heap[0][0] <= limit:
            t, pos, who, hr, spo2 = heapq.heappop(heap)
            start = first.get(who)
            if start is not None and t - start[0] > WITHIN:
                start = None
                del first[who]
            if start is not None and spo2 < 90:
                alerts.append((who, (start[1], pos)))
                del first[who]
            elif hr > ABOVE:
                first[who] = (t, pos)

    for pos, r in enumerate(records):
        t = r["ts"]
        if t < wm:
            continue
        heapq.heappush(heap, (t, pos, r["patient"], r["hr"], r["spo2"]))
        if t > top:
            top = t
            wm = max(wm, top - DELAY)
        release(wm)
    release(math.inf)
    return alerts


# ------------------------------------------------------------------------- streamnb
RULES = {
    "threshold": lambda: sn.rules.threshold("hr", above=ABOVE, for_=FOR),
    "sequence": lambda: sn.rules.sequence("hr > 120", "spo2 < 90", within=WITHIN),
}
LOOPS = {"threshold": loop_threshold, "sequence": loop_sequence}


def run_streamnb(data: pd.DataFrame | list[dict], rule: str, batch: int | None) -> Callable:
    src = sn.from_records(data, time="ts", batch=batch)
    out = src.detect(RULES[rule](), key="patient", watermark=DELAY).sink_to_list()
    src.run()

    def collect() -> list[tuple[str, tuple[int, ...]]]:
        if not out:
            return []
        frame = pd.concat(out, ignore_index=True)
        return list(zip(frame["patient"], frame["positions"], strict=True))

    return collect


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# ------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=None, help="readings (default 1,000,000)")
    ap.add_argument("--patients", type=int, default=100)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=None, help="rounds (default 3)")
    ap.add_argument("--subset", type=int, default=None, help="readings for (b) (default 50,000)")
    ap.add_argument("--quick", action="store_true", help="100,000 readings, 1 round")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args(argv)
    n = args.events or (100_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    subset = min(n, args.subset or (10_000 if args.quick else 50_000))

    t0 = time.perf_counter()
    df = make_workload(n, args.patients)
    records = df.assign(ts=(df["ts"] - pd.Timestamp(0)).dt.total_seconds()).to_dict("records")
    df_records = df.to_dict("records")
    disordered = float((df["ts"] < df["ts"].cummax()).mean())
    print(
        f"workload: {n:,} vitals readings, {args.patients} patients, "
        f"{disordered:.2%} arrive after a later reading; generated in "
        f"{time.perf_counter() - t0:.1f} s; subset {subset:,}"
    )

    for rule in RULES:  # warm up: first-call costs (imports, caches) stay out of the timing
        run_streamnb(df.iloc[:20_000], rule, args.batch)()
        run_streamnb(df_records[:1000], rule, None)()
    best: dict[tuple[str, str], float] = {}
    results: dict[tuple[str, str], Any] = {}
    for _ in range(repeat):
        for rule in RULES:
            for name, fn in (
                ("a", lambda rule=rule: run_streamnb(df, rule, args.batch)),
                ("b", lambda rule=rule: run_streamnb(df_records[:subset], rule, None)),
                ("c", lambda rule=rule: LOOPS[rule](records)),
                ("c_subset", lambda rule=rule: LOOPS[rule](records[:subset])),
            ):
                dt, res = timed(fn)
                key = (rule, name)
                best[key] = min(best.get(key, math.inf), dt)
                results[key] = res() if callable(res) else res

    # ---- check before reporting
    for rule in RULES:
        a, b = results[(rule, "a")], results[(rule, "b")]
        c, c_sub = results[(rule, "c")], results[(rule, "c_subset")]
        assert sorted(a) == sorted(c), f"{rule}: streamnb batched and the loop disagree"
        assert sorted(b) == sorted(c_sub), f"{rule}: streamnb records and the loop disagree"
        print(f"verified {rule}: {len(c):,} alerts agree ({len(c_sub):,} on the subset)")

    rows = []
    for rule in RULES:
        base = n / best[(rule, "c")]
        for name, label, events in (
            ("a", f"streamnb, batches of {args.batch:,}", n),
            ("b", "streamnb, record at a time", subset),
            ("c", "pure-Python loop (baseline)", n),
        ):
            rate = events / best[(rule, name)]
            rows.append(
                {
                    "rule": rule,
                    "contender": f"({name}) {label}",
                    "events": events,
                    "seconds": round(best[(rule, name)], 4),
                    "events_per_s": round(rate),
                    "x_loop": round(rate / base, 3),
                    "alerts": len(results[(rule, name)]),
                }
            )
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    machine = _machine()
    print(f"Machine: {machine}")
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"Command: {command}")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "command": command,
        "events": n,
        "patients": args.patients,
        "batch": args.batch,
        "repeat": repeat,
        "results": rows,
    }
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return report


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, streamnb {sn.__version__}"
    )


if __name__ == "__main__":
    main()
