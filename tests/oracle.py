"""A brute-force, record-at-a-time reading of the time contract in DESIGN.md.

Slow and obvious on purpose: every window kind is checked against it.
"""

from __future__ import annotations

import math
import statistics


def tumbling_oracle(events, size, delay=0.0, lateness=0.0, final=True):
    """events: list of (time, key, value) in arrival order.

    Returns (late_indices, panes) where panes is a list of dicts in emission order.
    """
    W = -math.inf
    windows = {}  # (key, start) -> {"vals": [...], "fired": bool, "late": bool}
    late, panes = [], []

    def pane(k, start, kind):
        st = windows[(k, start)]
        vals = st["vals"]
        panes.append(
            {
                "key": k,
                "window_start": start,
                "window_end": start + size,
                "count": len(vals),
                "v_sum": sum(vals),
                "v_min": min(vals),
                "v_max": max(vals),
                "v_mean": sum(vals) / len(vals),
                "v_var": statistics.variance(vals) if len(vals) > 1 else math.nan,
                "pane": kind,
            }
        )

    def advance(new_w):
        for (k, start), st in sorted(windows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if not st["fired"] and start + size <= new_w:
                st["fired"] = True
                pane(k, start, "late" if st["late"] else "on_time")
        for key in [key for key in windows if key[1] + size + lateness <= new_w]:
            del windows[key]

    max_t = -math.inf
    for i, (t, k, v) in enumerate(events):
        start = math.floor(t / size) * size
        end = start + size
        if end + lateness <= W:
            late.append(i)
        else:
            st = windows.setdefault((k, start), {"vals": [], "fired": False, "late": False})
            st["vals"].append(v)
            if end <= W:
                st["late"] = True
                if st["fired"]:
                    pane(k, start, "late")
        max_t = max(max_t, t)
        new_w = max(W, max_t - delay)
        advance(new_w)
        W = new_w
    if final:
        advance(math.inf)
    return late, panes


def last_panes(panes):
    """The last pane of every (key, window_start), keyed by it."""
    out = {}
    for p in panes:
        out[(p["key"], p["window_start"])] = p
    return out


def fixed_oracle(events, size, every, delay=0.0, lateness=0.0, final=True):
    """Sliding (or tumbling, ``every == size``) windows ``[k*every, k*every + size)``.

    events: list of (time, key, value) in arrival order. Membership is tested by brute force
    (``start <= t < end``). Returns (late_indices, filtered_indices, panes) where panes is a
    list of dicts in emission order; an event in no window is filtered, not late.
    """
    W = -math.inf
    windows = {}  # (key, k) -> {"vals": [...], "fired": bool, "late": bool}
    late, filtered, panes = [], [], []

    def bounds(k):
        start = k * every
        return start, start + size

    def pane(key, k, kind):
        vals = windows[(key, k)]["vals"]
        start, end = bounds(k)
        panes.append(
            {
                "key": key,
                "window_start": start,
                "window_end": end,
                "count": len(vals),
                "v_sum": sum(vals),
                "v_min": min(vals),
                "v_max": max(vals),
                "v_mean": sum(vals) / len(vals),
                "v_var": statistics.variance(vals) if len(vals) > 1 else math.nan,
                "pane": kind,
            }
        )

    def advance(new_w):
        for (key, k), st in sorted(windows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if not st["fired"] and bounds(k)[1] <= new_w:
                st["fired"] = True
                pane(key, k, "late" if st["late"] else "on_time")
        for wk in [wk for wk in windows if bounds(wk[1])[1] + lateness <= new_w]:
            del windows[wk]

    max_t = -math.inf
    for i, (t, key, v) in enumerate(events):
        centre = math.floor(t / every)
        reach = math.ceil(size / every) + 2
        mine = [k for k in range(centre - reach, centre + 3) if bounds(k)[0] <= t < bounds(k)[1]]
        if not mine:
            filtered.append(i)
        elif all(bounds(k)[1] + lateness <= W for k in mine):
            late.append(i)
        else:
            for k in mine:
                end = bounds(k)[1]
                if end + lateness <= W:
                    continue
                st = windows.setdefault((key, k), {"vals": [], "fired": False, "late": False})
                st["vals"].append(v)
                if end <= W:
                    st["late"] = True
                    if st["fired"]:
                        pane(key, k, "late")
        max_t = max(max_t, t)
        new_w = max(W, max_t - delay)
        advance(new_w)
        W = new_w
    if final:
        advance(math.inf)
    return late, filtered, panes
