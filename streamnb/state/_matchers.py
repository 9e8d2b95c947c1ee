"""The per-key state of each rule, vectorised over the events a watermark releases.

A matcher's ``step(ev, timer)`` takes the released events grouped by key (:class:`Released`:
sorted by key code, then event time, then arrival) and returns the alerts they raise and, per
event, whether the rule is *in alarm* there (for ``mark=True``). Threshold, change, z-score and
predicate work on whole arrays: runs of a condition per key are found with shifted
comparisons and cumulative maxima, and each key's carry (is an episode open, since when, has
it alerted) is read at the first event of its segment and written at the last. The sequence
matcher is a per-key state machine over the events that satisfy one of its conditions only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from streamnb.state.rules import (
    Absence,
    AllOf,
    AnyOf,
    Change,
    Predicate,
    Rule,
    Sequence,
    Threshold,
    ZScore,
    format_duration,
)

__all__ = ["Alerts", "Released", "make_matcher"]


class Released:
    """Events released by the watermark, sorted by (key code, time, arrival position)."""

    __slots__ = ("code", "conds", "ends", "first", "n", "pos", "seg_codes", "starts", "t", "values")

    def __init__(
        self,
        code: np.ndarray,
        t: np.ndarray,
        pos: np.ndarray,
        values: Mapping[str, np.ndarray],
        conds: np.ndarray,
    ) -> None:
        self.n = n = len(t)
        self.code, self.t, self.pos, self.values, self.conds = code, t, pos, values, conds
        first = np.zeros(n, dtype=bool)
        if n:
            first[0] = True
            np.not_equal(code[1:], code[:-1], out=first[1:])
        self.first = first
        self.starts = np.flatnonzero(first)
        self.ends = np.append(self.starts[1:], n)  # exclusive
        self.seg_codes = code[self.starts]


class Alerts:
    """Alerts as columns: key code, time, start, value, message, positions; ``trigger`` (the
    arrival position used to order ties) and ``row`` (the released event, or -1)."""

    __slots__ = ("code", "message", "positions", "row", "start", "time", "trigger", "value")

    def __init__(
        self,
        code: Any = (),
        time: Any = (),
        start: Any = (),
        value: Any = (),
        message: list[str] | None = None,
        positions: list[tuple[int, ...]] | None = None,
        trigger: Any = (),
        row: Any = (),
    ) -> None:
        self.code = np.asarray(code, dtype=np.int64)
        self.time = np.asarray(time, dtype="float64")
        self.start = np.asarray(start, dtype="float64")
        self.value = np.asarray(value, dtype="float64")
        self.message = message or []
        self.positions = positions or []
        self.trigger = np.asarray(trigger, dtype=np.int64)
        self.row = np.asarray(row, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.time)

    def take(self, idx: np.ndarray) -> Alerts:
        return Alerts(
            self.code[idx],
            self.time[idx],
            self.start[idx],
            self.value[idx],
            [self.message[i] for i in idx],
            [self.positions[i] for i in idx],
            self.trigger[idx],
            self.row[idx],
        )

    @staticmethod
    def concat(parts: list[Alerts]) -> Alerts:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Alerts()
        if len(parts) == 1:
            return parts[0]
        return Alerts(
            np.concatenate([p.code for p in parts]),
            np.concatenate([p.time for p in parts]),
            np.concatenate([p.start for p in parts]),
            np.concatenate([p.value for p in parts]),
            [m for p in parts for m in p.message],
            [q for p in parts for q in p.positions],
            np.concatenate([p.trigger for p in parts]),
            np.concatenate([p.row for p in parts]),
        )

    def sorted(self) -> Alerts:
        """In order of time, then triggering position."""
        if len(self) < 2:
            return self
        return self.take(np.lexsort((self.trigger, self.time)))


_EMPTY = Alerts()


def _grow(arr: np.ndarray, size: int, fill: Any) -> np.ndarray:
    if len(arr) >= size:
        return arr
    out = np.full(max(size, 2 * len(arr), 16), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


def _shift(values: np.ndarray, ev: Released, carry: np.ndarray) -> np.ndarray:
    """``values`` of the previous event of the same key; ``carry[key]`` at a key's first."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[ev.starts] = carry
    return out


def _g(x: float) -> str:
    return f"{x:.6g}"


class Matcher:
    """State of one rule over all keys."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.size = 0

    def ensure(self, n_keys: int) -> None:
        self.size = max(self.size, n_keys)

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        raise NotImplementedError


# --------------------------------------------------------------------------- threshold
class ThresholdMatcher(Matcher):
    """Runs of the condition per key, computed on the events where it holds only.

    A run (episode) is a stretch of consecutive events of a key where the condition holds;
    the first one of a release may continue the key's open episode (the carry).
    """

    def __init__(self, rule: Threshold) -> None:
        super().__init__(rule)
        self.r = rule
        self.held = np.zeros(0, dtype=bool)  # the key's last event satisfied the condition
        self.start_t = np.zeros(0)  # first event time of the open episode
        self.start_pos = np.zeros(0, dtype=np.int64)
        self.alerted = np.zeros(0, dtype=bool)
        self.hi = np.zeros(0)  # extremes of the open episode so far
        self.lo = np.zeros(0)

    def ensure(self, n_keys: int) -> None:
        super().ensure(n_keys)
        self.held = _grow(self.held, n_keys, False)
        self.start_t = _grow(self.start_t, n_keys, 0.0)
        self.start_pos = _grow(self.start_pos, n_keys, 0)
        self.alerted = _grow(self.alerted, n_keys, False)
        self.hi = _grow(self.hi, n_keys, -math.inf)
        self.lo = _grow(self.lo, n_keys, math.inf)

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        n = ev.n
        if not n:
            return _EMPTY, None
        r = self.r
        v = ev.values[r.field]
        if r.above is not None:
            c = v > r.above
            if r.below is not None:
                c |= v < r.below
        else:
            c = v < r.below
        seg = ev.seg_codes
        idx = np.flatnonzero(c)  # the events where the condition holds, in order
        if not len(idx):  # no episode starts or goes on: close the open ones
            self.held[seg] = False
            return _EMPTY, c
        m = len(idx)
        sid = np.searchsorted(ev.starts, idx, side="right") - 1  # segment of each
        cont = np.zeros(m, dtype=bool)  # continues the run of the previous one
        cont[1:] = (idx[1:] == idx[:-1] + 1) & (sid[1:] == sid[:-1])
        anchors = np.flatnonzero(~cont)  # first event of each run
        run = np.cumsum(~cont) - 1
        a_row, a_sid = idx[anchors], sid[anchors]
        a_code = seg[a_sid]
        a_carried = (a_row == ev.starts[a_sid]) & self.held[a_code]
        run_start = np.where(a_carried, self.start_t[a_code], ev.t[a_row])
        t = ev.t[idx]
        start = run_start[run]
        eligible = t - start >= r.for_ if r.for_ > 0 else np.ones(m, dtype=bool)
        prev = np.empty(m, dtype=bool)
        prev[1:] = eligible[:-1]
        prev[anchors] = a_carried & self.alerted[a_code]
        trig = np.flatnonzero(eligible & ~prev)
        alerts = self._alerts(ev, idx, trig, run, a_row, a_carried, start)
        # carry the open episodes over to the next release
        last = ev.ends - 1
        c_last = c[last]
        self.held[seg] = c_last
        for s in np.flatnonzero(c_last).tolist():
            j = m - 1 if s == len(seg) - 1 else int(np.searchsorted(idx, last[s]))
            k, q = seg[s], run[j]
            a = a_row[q]
            window = v[a : last[s] + 1]
            hi, lo = float(window.max()), float(window.min())
            if a_carried[q]:
                hi, lo = max(hi, self.hi[k]), min(lo, self.lo[k])
            else:
                self.start_pos[k] = ev.pos[a]
            self.start_t[k] = run_start[q]
            self.alerted[k] = eligible[j] or bool(prev[anchors[q]])
            self.hi[k], self.lo[k] = hi, lo
        alarm = np.zeros(n, dtype=bool)
        alarm[idx] = eligible
        return alerts, alarm

    def _alerts(
        self,
        ev: Released,
        idx: np.ndarray,
        trig: np.ndarray,
        run: np.ndarray,
        a_row: np.ndarray,
        a_carried: np.ndarray,
        start: np.ndarray,
    ) -> Alerts:
        if not len(trig):
            return _EMPTY
        r = self.r
        v = ev.values[r.field]
        messages, positions = [], []
        for j in trig.tolist():
            i, q = idx[j], run[j]
            a = a_row[q]
            k = ev.code[i]
            hi, lo = float(np.max(v[a : i + 1])), float(np.min(v[a : i + 1]))
            if a_carried[q]:
                hi, lo = max(hi, self.hi[k]), min(lo, self.lo[k])
                p0 = int(self.start_pos[k])
            else:
                p0 = int(ev.pos[a])
            if r.above is not None and r.below is not None:
                what = f"{r.field} outside [{_g(r.below)}, {_g(r.above)}]"
                extreme = f"min {_g(lo)}, max {_g(hi)}"
            elif r.above is not None:
                what, extreme = f"{r.field} above {_g(r.above)}", f"max {_g(hi)}"
            else:
                what, extreme = f"{r.field} below {_g(r.below)}", f"min {_g(lo)}"
            if r.for_ > 0:
                held = ev.t[i] - start[j]
                messages.append(f"{what} for {format_duration(held)} ({extreme})")
            else:
                messages.append(f"{what} ({_g(float(v[i]))})")
            positions.append((p0, int(ev.pos[i])) if p0 != ev.pos[i] else (p0,))
        rows = idx[trig]
        return Alerts(
            ev.code[rows], ev.t[rows], start[trig], v[rows], messages, positions, ev.pos[rows], rows
        )


# --------------------------------------------------------------------------- predicate
class PredicateMatcher(Matcher):
    def __init__(self, rule: Predicate, column: int) -> None:
        super().__init__(rule)
        self.column = column

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        if not ev.n:
            return _EMPTY, None
        c = ev.conds[:, self.column]
        rows = np.flatnonzero(c)
        label = self.rule.when.label
        alerts = Alerts(
            ev.code[rows],
            ev.t[rows],
            ev.t[rows],
            np.full(len(rows), np.nan),
            [label] * len(rows),
            [(p,) for p in ev.pos[rows].tolist()],
            ev.pos[rows],
            rows,
        )
        return alerts, c


# --------------------------------------------------------------------- windowed rules
def _range_best(w: np.ndarray, lefts: np.ndarray, rights: np.ndarray, smallest: bool) -> np.ndarray:
    """Index of the smallest (or largest) ``w`` in each ``[left, right]``; ties: the earliest.

    A sparse table: level ``k`` holds the best index of ``[i, i + 2**k)``.
    """
    n = len(w)
    better = np.less_equal if smallest else np.greater_equal
    levels = [np.arange(n)]
    k = 1
    while (1 << k) <= n:
        prev = levels[-1]
        m = n - (1 << k) + 1
        a, b = prev[:m], prev[(1 << (k - 1)) : (1 << (k - 1)) + m]
        levels.append(np.where(better(w[a], w[b]), a, b))
        k += 1
    length = rights - lefts + 1
    lev = np.frexp(length.astype("float64"))[1] - 1  # floor(log2(length)), exact
    out = np.empty(len(lefts), dtype=np.int64)
    for k in np.unique(lev).tolist():
        sel = np.flatnonzero(lev == k)
        table = levels[k]
        a = table[lefts[sel]]
        b = table[rights[sel] - (1 << k) + 1]
        out[sel] = np.where(better(w[a], w[b]), a, b)
    return out


class _Windowed(Matcher):
    """A rule that compares each event with the key's events of the last ``span`` seconds.

    Keeps, per key, the events of the last ``span`` seconds (``hist``) and whether the key's
    last event satisfied the condition (``active``), so episodes continue across releases.
    """

    field: str

    def __init__(self, rule: Rule, field: str, span: float) -> None:
        super().__init__(rule)
        self.field = field
        self.span = span
        self.active = np.zeros(0, dtype=bool)
        self.h_code = np.zeros(0, dtype=np.int64)
        self.h_t = np.zeros(0)
        self.h_v = np.zeros(0)
        self.h_pos = np.zeros(0, dtype=np.int64)

    def ensure(self, n_keys: int) -> None:
        super().ensure(n_keys)
        self.active = _grow(self.active, n_keys, False)

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        if not ev.n:
            return _EMPTY, None
        h = len(self.h_t)
        code = np.concatenate([self.h_code, ev.code])
        order = np.argsort(code, kind="stable")  # each key: its history, then its new events
        code = code[order]
        t = np.concatenate([self.h_t, ev.t])[order]
        v = np.concatenate([self.h_v, ev.values[self.field]])[order]
        pos = np.concatenate([self.h_pos, ev.pos])[order]
        new = order >= h
        n = len(t)
        first = np.zeros(n, dtype=bool)
        first[0] = True
        np.not_equal(code[1:], code[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        ends = np.append(starts[1:], n)
        lefts = np.empty(n, dtype=np.int64)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            seg = t[s:e]
            lefts[s:e] = s + np.searchsorted(seg, seg - self.span, side="left")
        rows = np.flatnonzero(new)
        cond, extra = self._condition(t, v, lefts, starts, first, rows)
        # one alert per episode: the condition holds here and did not at the key's last event
        prev = np.empty(len(rows), dtype=bool)
        prev[1:] = cond[:-1]
        prev[ev.starts] = self.active[ev.seg_codes]
        trig = np.flatnonzero(cond & ~prev)
        alerts = self._alerts(ev, trig, rows, t, v, pos, extra)
        self.active[ev.seg_codes] = cond[ev.ends - 1]
        # keep what later events can still reach: times >= the key's last time - span
        last_t = t[ends - 1]
        keep = t >= np.repeat(last_t, ends - starts) - self.span
        self.h_code, self.h_t, self.h_v, self.h_pos = code[keep], t[keep], v[keep], pos[keep]
        return alerts, cond

    def _condition(
        self,
        t: np.ndarray,
        v: np.ndarray,
        lefts: np.ndarray,
        starts: np.ndarray,
        first: np.ndarray,
        rows: np.ndarray,
    ) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _alerts(
        self,
        ev: Released,
        trig: np.ndarray,
        rows: np.ndarray,
        t: np.ndarray,
        v: np.ndarray,
        pos: np.ndarray,
        extra: Any,
    ) -> Alerts:
        raise NotImplementedError


class ChangeMatcher(_Windowed):
    def __init__(self, rule: Change) -> None:
        super().__init__(rule, rule.field, rule.within)
        self.r = rule
        amount = rule.by if rule.by is not None else rule.pct
        self.rise = amount > 0
        self.amount = amount

    def _condition(self, t, v, lefts, starts, first, rows):  # type: ignore[no-untyped-def]
        r = self.r
        bad = np.isnan(v)
        if r.pct is not None:
            bad = bad | (v <= 0)
        w = np.where(bad, math.inf if self.rise else -math.inf, v)
        ref = _range_best(w, lefts[rows], rows, smallest=self.rise)
        vi, vr = v[rows], w[ref]
        with np.errstate(all="ignore"):
            diff = vi - vr
            if r.pct is not None:
                diff = diff / vr * 100
            cond = diff >= self.amount if self.rise else diff <= self.amount
        return cond, (ref, diff)

    def _alerts(self, ev, trig, rows, t, v, pos, extra):  # type: ignore[no-untyped-def]
        if not len(trig):
            return _EMPTY
        ref, diff = extra
        r = self.r
        way = "rose" if self.rise else "fell"
        messages, positions = [], []
        for j in trig.tolist():
            i, k = rows[j], ref[j]
            size = f"{abs(diff[j]):.3g}%" if r.pct is not None else _g(abs(float(diff[j])))
            messages.append(
                f"{r.field} {way} by {size} (from {_g(v[k])} to {_g(v[i])}) "
                f"in {format_duration(t[i] - t[k])}"
            )
            positions.append((int(pos[k]), int(pos[i])))
        idx = rows[trig]
        return Alerts(
            ev.code[trig], t[idx], t[ref[trig]], v[idx], messages, positions, pos[idx], trig
        )


class ZScoreMatcher(_Windowed):
    def __init__(self, rule: ZScore) -> None:
        super().__init__(rule, rule.field, rule.window)
        self.r = rule

    def _condition(self, t, v, lefts, starts, first, rows):  # type: ignore[no-untyped-def]
        valid = ~np.isnan(v)
        seg_ref = v[starts]
        seg_ref = np.where(np.isnan(seg_ref), 0.0, seg_ref)
        c = np.where(valid, v - np.repeat(seg_ref, np.diff(np.append(starts, len(v)))), 0.0)
        p1 = np.concatenate([[0.0], np.cumsum(c)])
        p2 = np.concatenate([[0.0], np.cumsum(c * c)])
        pn = np.concatenate([[0], np.cumsum(valid)])
        lo = lefts[rows]
        cnt = (pn[rows] - pn[lo]).astype("float64")
        s1 = p1[rows] - p1[lo]
        s2 = p2[rows] - p2[lo]
        with np.errstate(all="ignore"):
            mean = s1 / cnt
            var = (s2 - s1 * mean) / (cnt - 1)
            spread = var > 1e-9 * (s2 / cnt) + 1e-300
            zval = (c[rows] - mean) / np.sqrt(var)
            cond = valid[rows] & (cnt >= self.r.min_count) & spread & (np.abs(zval) >= self.r.z)
        offset = np.repeat(seg_ref, np.diff(np.append(starts, len(v))))[rows]
        return cond, (zval, mean + offset, np.sqrt(var), lo)

    def _alerts(self, ev, trig, rows, t, v, pos, extra):  # type: ignore[no-untyped-def]
        if not len(trig):
            return _EMPTY
        zval, mean, sd, lo = extra
        r = self.r
        messages = [
            f"{r.field} = {_g(v[rows[j]])}: z = {zval[j]:+.2f} against mean {mean[j]:.4g} "
            f"± {sd[j]:.3g} over {format_duration(r.window)}"
            for j in trig.tolist()
        ]
        idx = rows[trig]
        return Alerts(
            ev.code[trig],
            t[idx],
            t[lo[trig]],
            v[idx],
            messages,
            [(int(p),) for p in pos[idx]],
            pos[idx],
            trig,
        )


# --------------------------------------------------------------------------- sequence
class SequenceMatcher(Matcher):
    """Per key, for each number of steps matched, the partial match that starts latest."""

    def __init__(self, rule: Sequence, columns: list[int]) -> None:
        super().__init__(rule)
        self.r = rule
        self.columns = columns
        self.m = len(columns)
        self.state: dict[int, list[Any]] = {}
        self.label = " → ".join(s.label for s in rule.steps)

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        if not ev.n:
            return _EMPTY, None
        conds = ev.conds[:, self.columns]
        cand = np.flatnonzero(conds.any(axis=1))
        if not len(cand):
            return _EMPTY, np.zeros(ev.n, dtype=bool)
        m, within = self.m, self.r.within
        steps = [conds[cand, j].tolist() for j in range(m)]
        codes = ev.code[cand].tolist()
        ts = ev.t[cand].tolist()
        ps = ev.pos[cand].tolist()
        state = self.state
        out_rows, out_start, out_pos = [], [], []
        for n_, (r, k, t, p) in enumerate(zip(cand.tolist(), codes, ts, ps, strict=True)):
            best = state.get(k)
            if best is None:
                best = state[k] = [None] * m
            done = None
            for j in range(m - 1, 0, -1):  # extend partials of j steps with step j + 1
                part = best[j]
                if part is None:
                    continue
                if t - part[0] > within:
                    best[j] = None
                    continue
                if steps[j][n_]:
                    grown = (part[0], part[1], (*part[2], p))
                    if j + 1 == m:
                        done = grown
                        break
                    cur = best[j + 1]
                    if cur is None or (part[0], part[1]) > (cur[0], cur[1]):
                        best[j + 1] = grown
            if done is None and steps[0][n_]:
                if m == 1:
                    done = (t, p, (p,))
                else:
                    best[1] = (t, p, (p,))
            if done is not None:
                state[k] = [None] * m
                out_rows.append(r)
                out_start.append(done[0])
                out_pos.append(done[2])
        alarm = np.zeros(ev.n, dtype=bool)
        if not out_rows:
            return _EMPTY, alarm
        rows = np.array(out_rows, dtype=np.int64)
        alarm[rows] = True
        msgs = [
            f"{self.label} in {format_duration(ev.t[i] - s)}"
            for i, s in zip(out_rows, out_start, strict=True)
        ]
        alerts = Alerts(
            ev.code[rows],
            ev.t[rows],
            out_start,
            np.full(len(rows), np.nan),
            msgs,
            out_pos,
            ev.pos[rows],
            rows,
        )
        return alerts, alarm


# --------------------------------------------------------------------------- absence
class AbsenceMatcher(Matcher):
    def __init__(self, rule: Absence) -> None:
        super().__init__(rule)
        self.r = rule
        self.last_t = np.zeros(0)  # NaN: key not seen yet
        self.last_pos = np.zeros(0, dtype=np.int64)
        self.fired = np.zeros(0, dtype=bool)
        self.message = f"no event for over {format_duration(rule.within)}"

    def ensure(self, n_keys: int) -> None:
        super().ensure(n_keys)
        self.last_t = _grow(self.last_t, n_keys, np.nan)
        self.last_pos = _grow(self.last_pos, n_keys, -1)
        self.fired = _grow(self.fired, n_keys, False)

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        within = self.r.within
        parts = []
        if ev.n:
            seg = ev.seg_codes
            prev_t = _shift(ev.t, ev, self.last_t[seg])
            prev_pos = _shift(ev.pos, ev, self.last_pos[seg])
            with np.errstate(invalid="ignore"):
                gap = ev.t - prev_t > within
            gap[ev.starts] &= ~self.fired[seg]
            rows = np.flatnonzero(gap)
            if len(rows):
                parts.append(
                    Alerts(
                        ev.code[rows],
                        prev_t[rows] + within,
                        prev_t[rows],
                        np.full(len(rows), within),
                        [self.message] * len(rows),
                        [(int(p),) for p in prev_pos[rows]],
                        prev_pos[rows],
                        np.full(len(rows), -1),
                    )
                )
            last = ev.ends - 1
            self.last_t[seg] = ev.t[last]
            self.last_pos[seg] = ev.pos[last]
            self.fired[seg] = False
        size = self.size
        with np.errstate(invalid="ignore"):
            due = ~self.fired[:size] & (timer > self.last_t[:size] + within)
        keys = np.flatnonzero(due)
        if len(keys):
            self.fired[keys] = True
            lt = self.last_t[keys]
            parts.append(
                Alerts(
                    keys,
                    lt + within,
                    lt,
                    np.full(len(keys), within),
                    [self.message] * len(keys),
                    [(int(p),) for p in self.last_pos[keys]],
                    self.last_pos[keys],
                    np.full(len(keys), -1),
                )
            )
        return Alerts.concat(parts).sorted(), None


# --------------------------------------------------------------------------- combinators
class AnyOfMatcher(Matcher):
    def __init__(self, rule: AnyOf, members: list[Matcher]) -> None:
        super().__init__(rule)
        self.members = members

    def ensure(self, n_keys: int) -> None:
        super().ensure(n_keys)
        for m in self.members:
            m.ensure(n_keys)

    def _steps(self, ev: Released, timer: float) -> tuple[list[Alerts], np.ndarray | None]:
        parts, alarm = [], None
        for m in self.members:
            a, mark = m.step(ev, timer)
            if len(a):
                a = a.take(np.arange(len(a)))
                a.message = [f"{m.rule.name}: {msg}" for msg in a.message]
            parts.append(a)
            if mark is not None:
                alarm = mark.copy() if alarm is None else alarm | mark
        return parts, alarm

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        parts, alarm = self._steps(ev, timer)
        return Alerts.concat(parts).sorted(), alarm


class AllOfMatcher(AnyOfMatcher):
    def __init__(self, rule: AllOf, members: list[Matcher]) -> None:
        super().__init__(rule, members)
        self.within = rule.within
        self.state: dict[int, list[Any]] = {}

    def step(self, ev: Released, timer: float) -> tuple[Alerts, np.ndarray | None]:
        parts, _ = self._steps(ev, timer)
        alarm = np.zeros(ev.n, dtype=bool) if ev.n else None
        if not any(len(p) for p in parts):
            return _EMPTY, alarm
        which = np.concatenate([np.full(len(p), j) for j, p in enumerate(parts)])
        merged = Alerts.concat(parts)
        order = np.lexsort((merged.trigger, which, merged.time))
        merged, which = merged.take(order), which[order]
        k = len(self.members)
        out: list[int] = []
        out_start: list[float] = []
        out_pos: list[tuple[int, ...]] = []
        out_msg: list[str] = []
        times, starts = merged.time.tolist(), merged.start.tolist()
        for i, (code, j) in enumerate(zip(merged.code.tolist(), which.tolist(), strict=True)):
            # per key and sub-rule, the latest sub-alert: (time, start, positions, message)
            latest = self.state.setdefault(code, [None] * k)
            latest[j] = (times[i], starts[i], merged.positions[i], merged.message[i])
            if any(x is None for x in latest):
                continue
            if times[i] - min(x[0] for x in latest) > self.within:
                continue
            self.state[code] = [None] * k
            out.append(i)
            out_start.append(min(x[1] for x in latest))
            out_pos.append(tuple(sorted({p for x in latest for p in x[2]})))
            out_msg.append("; ".join(x[3] for x in latest))
        if not out:
            return _EMPTY, alarm
        idx = np.array(out, dtype=np.int64)
        fired = merged.take(idx)
        fired.start = np.asarray(out_start, dtype="float64")
        fired.positions = out_pos
        fired.message = out_msg
        fired.value = np.full(len(idx), np.nan)
        if alarm is not None:
            rows = fired.row[fired.row >= 0]
            alarm[rows] = True
        return fired, alarm


def make_matcher(rule: Rule, column: Mapping[int, int]) -> Matcher:
    """The matcher of ``rule``; ``column[id(when)]`` is a condition's column in ``conds``."""
    if isinstance(rule, Threshold):
        return ThresholdMatcher(rule)
    if isinstance(rule, Change):
        return ChangeMatcher(rule)
    if isinstance(rule, ZScore):
        return ZScoreMatcher(rule)
    if isinstance(rule, Sequence):
        return SequenceMatcher(rule, [column[id(w)] for w in rule.steps])
    if isinstance(rule, Absence):
        return AbsenceMatcher(rule)
    if isinstance(rule, Predicate):
        return PredicateMatcher(rule, column[id(rule.when)])
    if isinstance(rule, AllOf):
        return AllOfMatcher(rule, [make_matcher(r, column) for r in rule.members])
    if isinstance(rule, AnyOf):
        return AnyOfMatcher(rule, [make_matcher(r, column) for r in rule.members])
    raise TypeError(f"not a rule: {rule!r}")
