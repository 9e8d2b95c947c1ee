"""Brute-force, record-at-a-time readings of session and count windows.

Slow and obvious on purpose: a session is a list of events, every step rescans everything.
Events are ``(time, key, value)`` tuples in arrival order; a value may be NaN (missing).
"""

from __future__ import annotations

import math
import statistics


def summary(key, events, kind, **extra):
    """A pane as a dict: events are (time, arrival, value); first/last follow event time,
    ties going to the earlier (first) or later (last) arrival; missing values are skipped."""
    vals = [v for _, _, v in events if not math.isnan(v)]
    valid = [(t, i, v) for t, i, v in events if not math.isnan(v)]
    return {
        "key": key,
        "count": len(events),
        "v_count": float(len(vals)),
        "v_sum": float(sum(vals)),
        "v_mean": sum(vals) / len(vals) if vals else math.nan,
        "v_min": min(vals) if vals else math.nan,
        "v_max": max(vals) if vals else math.nan,
        "v_var": statistics.variance(vals) if len(vals) > 1 else math.nan,
        "v_first": min(valid)[2] if valid else math.nan,
        "v_last": max(valid)[2] if valid else math.nan,
        "pane": kind,
        **extra,
    }


def session_oracle(events, gap, delay=0.0, lateness=0.0, final=True):
    """Returns ``(late_indices, panes, finals, late_accepted)``: panes in emission order, and
    ``finals`` the last pane of every session, taken when the session leaves state."""
    W = -math.inf
    sessions = []  # {"key", "events": [(t, arrival, v)], "fired", "dirty", "behind"}
    late, panes, finals = [], [], []
    late_accepted = 0

    def start(s):
        return min(t for t, _, _ in s["events"])

    def end(s):
        return max(t for t, _, _ in s["events"]) + gap

    def advance(new_w):
        for s in sorted(sessions, key=lambda s: (start(s), s["key"])):
            if (not s["fired"] or s["dirty"]) and end(s) <= new_w:
                kind = "late" if s["fired"] or s["behind"] else "on_time"
                s.update(fired=True, dirty=False, behind=False)
                s["pane"] = summary(
                    s["key"], s["events"], kind, window_start=start(s), window_end=end(s)
                )
                panes.append(s["pane"])
        for s in [s for s in sessions if end(s) + lateness <= new_w]:
            sessions.remove(s)
            finals.append(s["pane"])

    max_t = -math.inf
    for i, (t, k, v) in enumerate(events):
        if t + gap + lateness <= W:
            late.append(i)
        else:
            touching = [
                s for s in sessions if s["key"] == k and start(s) <= t + gap and t <= end(s)
            ]
            merged = {"key": k, "events": [(t, i, v)], "fired": False, "dirty": False}
            for s in touching:
                sessions.remove(s)
                merged["events"] += s["events"]
                merged["fired"] = merged["fired"] or s["fired"]
            merged["behind"] = not merged["fired"] and end(merged) <= W
            merged["dirty"] = merged["fired"]
            if merged["fired"] or merged["behind"]:
                late_accepted += 1
            sessions.append(merged)
        max_t = max(max_t, t)
        new_w = max(W, max_t - delay)
        advance(new_w)
        W = new_w
    if final:
        advance(math.inf)
    return late, panes, finals, late_accepted


def final_session_panes(panes):
    """The last pane of every session, from panes in emission order: a pane is superseded by
    a later pane of the same key whose interval contains it (the session grew or merged)."""
    current = []
    for p in panes:
        current = [
            q
            for q in current
            if not (
                q["key"] == p["key"]
                and p["window_start"] <= q["window_start"]
                and q["window_end"] <= p["window_end"]
            )
        ]
        current.append(p)
    return {(p["key"], p["window_start"]): p for p in current}


def count_oracle(events, n, final=True):
    """Count windows: every ``n`` events of a key in arrival order; partial windows fire at
    the end. Returns panes in emission order."""
    open_, index, panes = {}, {}, []

    def emit(k):
        evs = open_.pop(k)
        times = [t for t, _, _ in evs if not math.isnan(t)]
        panes.append(
            summary(
                k,
                [(i, i, v) for _, i, v in evs],  # first/last follow arrival
                "on_time",
                window=index.get(k, 0),
                window_start=min(times) if times else math.nan,
                window_end=max(times) if times else math.nan,
            )
        )
        index[k] = index.get(k, 0) + 1

    for i, (t, k, v) in enumerate(events):
        open_.setdefault(k, []).append((t, i, v))
        if len(open_[k]) == n:
            emit(k)
    if final:
        for k in sorted(open_):
            emit(k)
    return panes
