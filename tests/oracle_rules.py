"""A brute-force reading of the detection contract (streamnb/state/detector.py, rules.py).

Slow and obvious on purpose. Events are dicts with ``t`` (float seconds), ``k`` (key), ``v``
(float, may be NaN) in arrival order; an event's position is its index. The watermark decides
which events are late; every rule is then applied to each key's other events, sorted by
(time, position), from first principles (every window recomputed, every chain searched).

Alerts are dicts ``{"rule", "key", "time", "start", "positions"}``.
"""

from __future__ import annotations

import itertools
import math
import statistics


def released(events, delay):
    """(late positions, {key: positions in (time, position) order}, largest time)."""
    W, top = -math.inf, -math.inf
    late, keep = [], []
    for i, e in enumerate(events):
        (late if e["t"] < W else keep).append(i)
        top = max(top, e["t"])
        W = max(W, top - delay)
    seqs = {}
    for i in sorted(keep, key=lambda i: (events[i]["t"], i)):
        seqs.setdefault(events[i]["k"], []).append(i)
    return late, seqs, top


def _alert(rule, key, time, start, positions):
    return {"rule": rule, "key": key, "time": time, "start": start, "positions": tuple(positions)}


def _nan(x):
    return isinstance(x, float) and math.isnan(x)


def _episodes(seq, cond):
    """Indices (into seq) where a run of consecutive ``cond`` starts."""
    return [i for i in range(len(seq)) if cond[i] and (i == 0 or not cond[i - 1])]


def threshold(events, seqs, name, field, above=None, below=None, for_=0.0):
    out = []
    for key, seq in seqs.items():

        def holds(i, seq=seq):
            v = events[seq[i]][field]
            if _nan(v):
                return False
            return (above is not None and v > above) or (below is not None and v < below)

        i = 0
        while i < len(seq):
            if not holds(i):
                i += 1
                continue
            j = i
            while j + 1 < len(seq) and holds(j + 1):
                j += 1
            start = events[seq[i]]["t"]
            for k in range(i, j + 1):
                if events[seq[k]]["t"] - start >= for_:
                    pos = (seq[i], seq[k]) if k != i else (seq[i],)
                    out.append(_alert(name, key, events[seq[k]]["t"], start, pos))
                    break
            i = j + 1
    return out


def change(events, seqs, name, field, by=None, pct=None, within=1.0):
    rise = (by if by is not None else pct) > 0
    out = []
    for key, seq in seqs.items():
        cond, refs = [], []
        for i, p in enumerate(seq):
            ti, vi = events[p]["t"], events[p][field]
            window = [
                q
                for q in seq[: i + 1]
                if events[q]["t"] >= ti - within
                and not _nan(events[q][field])
                and (pct is None or events[q][field] > 0)
            ]
            if _nan(vi) or not window:
                cond.append(False)
                refs.append(None)
                continue
            pick = min if rise else max
            best = pick(events[q][field] for q in window)
            ref = next(q for q in window if events[q][field] == best)
            diff = vi - best
            if pct is not None:
                diff = diff / best * 100
            amount = by if by is not None else pct
            cond.append(diff >= amount if rise else diff <= amount)
            refs.append(ref)
        for i in _episodes(seq, cond):
            p, ref = seq[i], refs[i]
            out.append(_alert(name, key, events[p]["t"], events[ref]["t"], (ref, p)))
    return out


def zscore(events, seqs, name, field, window, z, min_count):
    out = []
    for key, seq in seqs.items():
        cond, starts = [], []
        for i, p in enumerate(seq):
            ti, vi = events[p]["t"], events[p][field]
            prev = [q for q in seq[:i] if events[q]["t"] >= ti - window]
            vals = [events[q][field] for q in prev if not _nan(events[q][field])]
            ok = False
            if not _nan(vi) and len(vals) >= min_count:
                sd = statistics.stdev(vals)
                if sd > 0:
                    ok = abs(vi - statistics.fmean(vals)) / sd >= z
            cond.append(ok)
            starts.append(events[prev[0]]["t"] if prev else None)
        for i in _episodes(seq, cond):
            out.append(_alert(name, key, events[seq[i]]["t"], starts[i], (seq[i],)))
    return out


def sequence(events, seqs, name, conds, within):
    """``conds``: functions of an event dict. Earliest completion; latest start; then greedy."""
    m = len(conds)
    out = []
    for key, seq in seqs.items():
        r = 0
        e = 0
        while e < len(seq):
            pe = seq[e]
            found = None
            if m == 1 and conds[0](events[pe]):
                found = [e]
            elif m > 1 and conds[m - 1](events[pe]):
                for i1 in range(e - 1, r - 1, -1):  # latest start first
                    p1 = seq[i1]
                    if events[pe]["t"] - events[p1]["t"] > within or not conds[0](events[p1]):
                        continue
                    chain, at = [i1], i1
                    for step in range(1, m - 1):
                        at = next(
                            (x for x in range(at + 1, e) if conds[step](events[seq[x]])), None
                        )
                        if at is None:
                            break
                        chain.append(at)
                    if at is None:
                        continue
                    found = [*chain, e]
                    break
            if found is not None:
                pos = tuple(seq[x] for x in found)
                out.append(_alert(name, key, events[pe]["t"], events[pos[0]]["t"], pos))
                r = e + 1
            e += 1
    return out


def absence(events, seqs, name, within, horizon):
    out = []
    for key, seq in seqs.items():
        for a, b in itertools.pairwise(seq):
            if events[b]["t"] - events[a]["t"] > within:
                out.append(_alert(name, key, events[a]["t"] + within, events[a]["t"], (a,)))
        last = seq[-1]
        if horizon > events[last]["t"] + within:
            out.append(_alert(name, key, events[last]["t"] + within, events[last]["t"], (last,)))
    return out


def predicate(events, seqs, name, cond):
    return [
        _alert(name, key, events[p]["t"], events[p]["t"], (p,))
        for key, seq in seqs.items()
        for p in seq
        if cond(events[p])
    ]


def any_of(name, *alert_lists):
    return [{**a, "rule": name} for alerts in alert_lists for a in alerts]


def all_of(name, within, *alert_lists):
    """Per key: sub-alerts in (time, sub-rule, trigger) order; fire when all are recent."""
    subs = sorted(
        (
            (a["time"], j, a["positions"][-1], a)
            for j, alerts in enumerate(alert_lists)
            for a in alerts
        ),
        key=lambda x: x[:3],
    )
    k = len(alert_lists)
    latest, out = {}, []
    for time, j, _, a in subs:
        st = latest.setdefault(a["key"], [None] * k)
        st[j] = a
        if any(x is None for x in st) or time - min(x["time"] for x in st) > within:
            continue
        pos = tuple(sorted({p for x in st for p in x["positions"]}))
        out.append(_alert(name, a["key"], time, min(x["start"] for x in st), pos))
        latest[a["key"]] = [None] * k
    return out


def canonical(alerts):
    """Alerts as a sorted list of tuples, for comparison."""
    return sorted(
        (a["rule"], str(a["key"]), a["time"], a["start"], tuple(a["positions"])) for a in alerts
    )
