"""``sn.vitals``: a seeded bedside-monitor feed with injected clinical episodes.

Each patient's monitor reports ``hr`` (beats/min), ``spo2`` (%), ``sbp``/``dbp`` (mmHg) and
``temp`` (°C) every ``every`` seconds. Between episodes the readings stay in a clean range
(``hr`` at most ~95, ``spo2`` at least 95, ``sbp`` moving less than 12 in two minutes), except
for brief motion *artifacts*: ``hr`` spikes of 2–6 s, which may cross 120. Episodes (per
patient, one at a time, at least 5 minutes apart; gaps average ``episode_gap``):

- ``tachycardia``: ``hr`` ramps to 130–155 and stays above 123 for 1–3 minutes. Caught by
  ``threshold("hr", above=120, for_="30s")``.
- ``desaturation``: a tachycardia of 45–90 s; ``hr`` recovers, and 10–30 s later ``spo2``
  falls to 82–87 % for 30–75 s. Caught by ``sequence("hr > 120", "spo2 < 90", within="2min")``.
- ``hypotension``: ``sbp`` falls by 32–45 in 20–40 s, holds 2–4 minutes, recovers (``dbp``
  follows, ``hr`` rises by 10). Caught by ``change("sbp", by=-25, within="2min")``.
- ``dropout``: the monitor sends nothing for 30–120 s (missing readings). Caught by
  ``absence("10s")``.

The ground truth is ``feed.episodes``: one row per episode generated so far (``patient``,
``kind``, ``start``, ``end``), artifacts included with kind ``"artifact"``. Readings are
generated in blocks of event time from seeded generators (one per patient for the episode
schedule), so the same seed gives the same events however the feed is driven; a fraction
``disorder`` of them arrives late by up to ``max_delay``, as in :class:`Market`.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.sources._synthetic import SyntheticFeed, to_datetimes
from streamnb.state.clock import Clock
from streamnb.state.timeparse import parse_duration

__all__ = ["CLINICAL_KINDS", "Vitals", "vitals"]

CLINICAL_KINDS = ("tachycardia", "desaturation", "hypotension", "dropout")
_KIND_P = (0.35, 0.25, 0.2, 0.2)
_MIN_GAP = 300.0  # seconds of clean readings between two episodes of a patient
_LOSS = 0.005  # fraction of single readings lost (a 2-reading gap)


def _trapezoid(t: np.ndarray, t0: float, up: float, hold: float, down: float) -> np.ndarray:
    """0 before ``t0``, ramps to 1 over ``up``, holds, ramps back to 0 over ``down``."""
    rise = np.clip((t - t0) / up, 0.0, 1.0)
    fall = np.clip((t0 + up + hold + down - t) / down, 0.0, 1.0)
    return np.minimum(rise, fall)


class Vitals(SyntheticFeed):
    """Synthetic vital signs: ``seq, ts, patient, hr, spo2, sbp, dbp, temp``; see module.

    Parameters
    ----------
    patients
        Number of patients (named ``P1``, ``P2`` ..., zero-padded from 10 on) or a list of
        names.
    every
        Seconds between two readings of one patient.
    seed
        Seed of the random generators: same seed, same events and episodes.
    disorder
        Fraction of readings that arrive late, by up to ``max_delay``.
    max_delay
        Largest arrival delay, seconds or ``"2s"``.
    episode_gap
        Mean time between a patient's episodes beyond the minimum of 5 minutes.
    artifacts
        Mean number of ``hr`` artifacts per patient per hour of clean readings.
    n
        Number of readings; ``None`` for an endless feed.
    start
        Event time of the first reading; default the clock's time, to the second.
    batch
        Rows per emitted DataFrame (``None`` emits records one by one).
    speed
        Feed time runs ``speed`` times faster than the clock when live.

    Examples
    --------
    >>> import streamnb as sn
    >>> feed = sn.vitals(patients=3, seed=1, n=3600, start="2026-01-02", batch=900)
    >>> frames = feed.sink_to_list()
    >>> _ = feed.run()
    >>> readings = pd.concat(frames)
    >>> list(readings.columns), len(readings), sorted(readings["patient"].unique())
    (['seq', 'ts', 'patient', 'hr', 'spo2', 'sbp', 'dbp', 'temp'], 3600, ['P1', 'P2', 'P3'])
    >>> list(feed.episodes.columns)
    ['patient', 'kind', 'start', 'end']
    """

    def __init__(
        self,
        patients: int | list[str] | tuple[str, ...] = 8,
        every: float | str = 1.0,
        seed: int | None = 0,
        disorder: float = 0.02,
        max_delay: float | str = "2s",
        episode_gap: float | str = "15min",
        artifacts: float = 4.0,
        n: int | None = None,
        start: float | str | None = None,
        batch: int | None = 1000,
        clock: Clock | None = None,
        speed: float | None = 1.0,
        time: str = "ts",
        **kwargs: Any,
    ) -> None:
        super().__init__(seed, disorder, max_delay, n, start, batch, clock, speed, time, **kwargs)
        if isinstance(patients, int):
            if patients < 1:
                raise ValueError(f"vitals() needs at least one patient, got {patients}")
            width = len(str(patients))
            patients = tuple(f"P{i + 1:0{width}d}" for i in range(patients))
        self.patients = tuple(patients)
        if not self.patients:
            raise ValueError("vitals() needs at least one patient")
        self.every = parse_duration(every)
        if not self.every > 0:
            raise ValueError(f"every must be positive, got {every!r}")
        self.episode_gap = parse_duration(episode_gap)
        if not self.episode_gap > 0:
            raise ValueError(f"episode_gap must be positive, got {episode_gap!r}")
        if not artifacts >= 0:
            raise ValueError(f"artifacts must be >= 0, got {artifacts!r}")
        self.artifact_rate = float(artifacts) / 3600.0
        k = len(self.patients)
        children = self._seeds.spawn(k + 2)
        self._noise = np.random.default_rng(children[0])
        base = np.random.default_rng(children[1])
        self._plan_rngs = [np.random.default_rng(c) for c in children[2:]]
        self._hr0 = base.uniform(62, 86, k)
        self._spo20 = base.uniform(96, 99, k)
        self._sbp0 = base.uniform(110, 132, k)
        self._dbp0 = self._sbp0 * base.uniform(0.6, 0.66, k)
        self._temp0 = base.uniform(36.5, 37.1, k)
        self._period = base.uniform(600, 1800, k)
        self._phase_drift = base.uniform(0, 2 * math.pi, k)
        self._phase = np.arange(k) / k * 0.9 * self.every
        self._plans: list[list[dict[str, Any]]] = [[] for _ in range(k)]
        self._open: list[list[dict[str, Any]]] = [[] for _ in range(k)]  # not over yet
        self._planned_to = np.full(k, self.start_time + 0.0)
        for p in range(k):  # the first episode comes after a short clean stretch
            self._planned_to[p] += self._plan_rngs[p].uniform(60, 60 + self.episode_gap)
        self._block_s = self.every * max(1, round(4096 / k))
        self._step_k = 0  # readings slots generated so far

    # ------------------------------------------------------------- ground truth
    @property
    def episodes(self) -> pd.DataFrame:
        """Injected episodes (and artifacts) that started in the readings generated so far."""
        rows = [
            (self.patients[p], ep["kind"], ep["start"], ep["end"])
            for p, plan in enumerate(self._plans)
            for ep in plan
            if ep["start"] < self._horizon
        ]
        rows.sort(key=lambda r: (r[2], r[0]))
        df = pd.DataFrame(rows, columns=["patient", "kind", "start", "end"])
        df["start"] = to_datetimes(df["start"].to_numpy(dtype="float64"))
        df["end"] = to_datetimes(df["end"].to_numpy(dtype="float64"))
        return df

    # --------------------------------------------------------------- planning
    def _plan(self, p: int, until: float) -> None:
        """Plan patient ``p``'s episodes and artifacts up to ``until``."""
        rng = self._plan_rngs[p]
        plan = self._plans[p]
        while self._planned_to[p] < until:
            t0 = float(self._planned_to[p])
            kind = CLINICAL_KINDS[rng.choice(len(CLINICAL_KINDS), p=_KIND_P)]
            ep: dict[str, Any] = {"kind": kind, "start": t0}
            if kind == "tachycardia":
                ep.update(peak=rng.uniform(130, 155), up=15.0, hold=rng.uniform(60, 180), down=15.0)
                ep["end"] = t0 + ep["up"] + ep["hold"] + ep["down"]
            elif kind == "desaturation":
                ep.update(peak=rng.uniform(130, 150), up=15.0, hold=rng.uniform(45, 90), down=10.0)
                s0 = t0 + ep["up"] + ep["hold"] + ep["down"] + rng.uniform(10, 30)
                ep.update(s0=s0, low=rng.uniform(82, 87), s_up=10.0, s_hold=rng.uniform(30, 75))
                ep["end"] = s0 + 10.0 + ep["s_hold"] + 10.0
            elif kind == "hypotension":
                ep.update(drop=rng.uniform(32, 45), up=rng.uniform(20, 40))
                ep.update(hold=rng.uniform(120, 240), down=60.0)
                ep["end"] = t0 + ep["up"] + ep["hold"] + ep["down"]
            else:
                ep["end"] = t0 + rng.uniform(30, 120)
            plan.append(ep)
            self._open[p].append(ep)
            gap = _MIN_GAP + rng.exponential(self.episode_gap)
            # artifacts in the middle of the clean gap, 2 minutes away from episodes
            room = gap - 240
            if room > 0 and self.artifact_rate > 0:
                for _ in range(rng.poisson(room * self.artifact_rate)):
                    a0 = ep["end"] + 120 + rng.uniform(0, room)
                    spike = {
                        "kind": "artifact",
                        "start": a0,
                        "end": a0 + rng.uniform(2, 6),
                        "spike": rng.uniform(35, 55),
                    }
                    plan.append(spike)
                    self._open[p].append(spike)
            self._planned_to[p] = ep["end"] + gap

    # ------------------------------------------------------------- generation
    def _block(self) -> tuple[dict[str, np.ndarray], float]:
        k = len(self.patients)
        slots = round(self._block_s / self.every)
        t_lo = self.start_time + self._step_k * self.every
        t_hi = self.start_time + (self._step_k + slots) * self.every
        self._step_k += slots
        for p in range(k):
            self._plan(p, t_hi + 1.0)
        rng = self._noise
        patient = np.tile(np.arange(k), slots)
        slot = np.repeat(np.arange(slots), k)
        ts = t_lo + slot * self.every + self._phase[patient]
        ts = ts + rng.uniform(0, 0.05 * self.every, len(ts))
        m = len(ts)

        def noise(scale: float, clip: float) -> np.ndarray:
            return np.clip(rng.normal(0.0, scale, m), -clip, clip)

        drift = np.sin(2 * math.pi * ts / self._period[patient] + self._phase_drift[patient])
        hr = self._hr0[patient] + 3.0 * drift + noise(1.5, 4.0)
        spo2 = self._spo20[patient] + noise(0.5, 1.2)
        sbp = self._sbp0[patient] + 4.0 * drift + noise(1.0, 2.5)
        dbp = self._dbp0[patient] + 2.5 * drift + noise(0.8, 2.0)
        temp = self._temp0[patient] + noise(0.05, 0.15)
        keep = rng.random(m) >= _LOSS
        for p in range(k):
            self._open[p] = [ep for ep in self._open[p] if ep["end"] >= t_lo]
            for ep in self._open[p]:
                if ep["start"] >= t_hi:
                    continue
                idx = np.flatnonzero((patient == p) & (ts >= ep["start"]) & (ts <= ep["end"]))
                if not len(idx):
                    continue
                t = ts[idx]
                kind = ep["kind"]
                if kind in ("tachycardia", "desaturation"):
                    shape = _trapezoid(t, ep["start"], ep["up"], ep["hold"], ep["down"])
                    hr[idx] += (ep["peak"] - self._hr0[p]) * shape
                    if kind == "desaturation":
                        dip = _trapezoid(t, ep["s0"], ep["s_up"], ep["s_hold"], 10.0)
                        spo2[idx] -= (self._spo20[p] - ep["low"]) * dip
                elif kind == "hypotension":
                    shape = _trapezoid(t, ep["start"], ep["up"], ep["hold"], ep["down"])
                    sbp[idx] -= ep["drop"] * shape
                    dbp[idx] -= 0.6 * ep["drop"] * shape
                    hr[idx] += 10.0 * shape
                elif kind == "dropout":
                    keep[idx] = False
                else:  # artifact
                    hr[idx] += ep["spike"]
        cols = {
            "ts": ts[keep],
            "patient": patient[keep],
            "hr": np.round(hr[keep]),
            "spo2": np.round(np.minimum(spo2[keep], 100.0)),
            "sbp": np.round(sbp[keep]),
            "dbp": np.round(dbp[keep]),
            "temp": np.round(temp[keep], 1),
        }
        order = np.argsort(cols["ts"], kind="stable")
        return {c: v[order] for c, v in cols.items()}, t_hi

    def _frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        names = np.array(self.patients, dtype=object)
        return pd.DataFrame(
            {
                "seq": cols["seq"],
                "ts": to_datetimes(cols["ts"]),
                "patient": names[cols["patient"]],
                "hr": cols["hr"],
                "spo2": cols["spo2"],
                "sbp": cols["sbp"],
                "dbp": cols["dbp"],
                "temp": cols["temp"],
            }
        )

    def __repr__(self) -> str:
        return (
            f"<vitals patients={len(self.patients)} every={self.every}s seed={self.seed} "
            f"n={self.n} counters={self.counters}>"
        )


@Stream.register_api(staticmethod)
def vitals(*args: Any, **kwargs: Any) -> Vitals:
    """A synthetic bedside-monitor feed; see :class:`Vitals` for its parameters.

    >>> import streamnb as sn
    >>> first = sn.vitals(patients=2, seed=0, start=0, batch=None).step()
    >>> sorted(first)
    ['dbp', 'hr', 'patient', 'sbp', 'seq', 'spo2', 'temp', 'ts']
    """
    return Vitals(*args, **kwargs)


vitals.__signature__ = inspect.signature(Vitals.__init__)  # type: ignore[attr-defined]
