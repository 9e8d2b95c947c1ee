"""What ``sn.vitals`` and ``sn.learning`` share with ``sn.market``: seeded generation in blocks
of event time, a ``disorder`` fraction of events delayed by up to ``max_delay``, and hand-out
in *arrival* order as records or batches, by ``run``, ``step`` or live.

A subclass implements ``_block()``: the events with times in ``[horizon, new horizon)``,
sorted by time, and the new horizon (``None`` when the feed has nothing more, ever), and
``_frame(cols)`` to turn the columns into the output DataFrame. Every event with a time before
the horizon is generated, so an event whose arrival is before it is final.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from streamnb.sources.base import EventSource
from streamnb.state.clock import Clock
from streamnb.state.timeparse import parse_duration, to_seconds

__all__ = ["ArrivalQueue", "SyntheticFeed", "to_datetimes"]


def to_datetimes(seconds: np.ndarray) -> pd.Series:
    """Float epoch seconds as naive UTC datetimes, to the microsecond (as ``sn.market``).

    >>> to_datetimes(np.array([0.5])).tolist()
    [Timestamp('1970-01-01 00:00:00.500000')]
    """
    return pd.Series(pd.to_datetime(np.round(seconds * 1e6).astype("int64"), unit="us"))


class ArrivalQueue:
    """Events waiting to be handed out, in arrival order: a list of column chunks, each sorted
    by ``arrival`` and all in order, so adding a block only re-sorts the chunks it overlaps.

    >>> q = ArrivalQueue()
    >>> q.add({"arrival": np.array([1.0, 5.0]), "x": np.array([1, 2])})
    >>> q.add({"arrival": np.array([3.0, 6.0]), "x": np.array([3, 4])})
    >>> q.count_until(5.0, side="right"), q.pop(3)["x"].tolist(), len(q)
    (3, [1, 3, 2], 1)
    """

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, block: dict[str, np.ndarray]) -> None:
        arrival = block["arrival"]
        if not len(arrival):
            return
        self._n += len(arrival)
        low = arrival.min()
        tail = []
        while self._chunks and self._chunks[-1]["arrival"][-1] > low:
            last = self._chunks.pop()
            cut = int(np.searchsorted(last["arrival"], low, side="right"))
            if cut:
                self._chunks.append({c: v[:cut] for c, v in last.items()})
                tail.insert(0, {c: v[cut:] for c, v in last.items()})
                break
            tail.insert(0, last)
        parts = [*tail, block]
        merged = {c: np.concatenate([p[c] for p in parts]) for c in block}
        order = np.argsort(merged["arrival"], kind="stable")
        self._chunks.append({c: v[order] for c, v in merged.items()})

    def count_until(self, limit: float, side: str = "right") -> int:
        """Events arriving by ``limit`` (``side="left"``: before it)."""
        total = 0
        for chunk in self._chunks:
            arrival = chunk["arrival"]
            if arrival[-1] < limit or (side == "right" and arrival[-1] == limit):
                total += len(arrival)
                continue
            return total + int(np.searchsorted(arrival, limit, side=side))
        return total

    def pop(self, k: int) -> dict[str, np.ndarray]:
        """The first ``k`` events."""
        parts = []
        while k > 0:
            chunk = self._chunks[0]
            size = len(chunk["arrival"])
            if size <= k:
                parts.append(self._chunks.pop(0))
                k -= size
                self._n -= size
            else:
                parts.append({c: v[:k] for c, v in chunk.items()})
                self._chunks[0] = {c: v[k:] for c, v in chunk.items()}
                self._n -= k
                k = 0
        if len(parts) == 1:
            return parts[0]
        return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


class SyntheticFeed(EventSource):
    """Base of the seeded synthetic feeds; see the module docstring and :class:`Market`."""

    def __init__(
        self,
        seed: int | None,
        disorder: float,
        max_delay: float | str,
        n: int | None,
        start: float | str | None,
        batch: int | None,
        clock: Clock | None,
        speed: float | None,
        time: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(time=time, clock=clock, speed=speed, **kwargs)
        if not 0 <= disorder <= 1:
            raise ValueError(f"disorder is a fraction in [0, 1], got {disorder!r}")
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise ValueError(f"batch must be a positive int or None, got {batch!r}")
        if n is not None and (not isinstance(n, int) or n < 0):
            raise ValueError(f"n must be a non-negative int or None, got {n!r}")
        self.disorder = float(disorder)
        self.max_delay = parse_duration(max_delay)
        self.n = n
        self.batch = batch
        self.seed = seed
        self.start_time = float(np.floor(self.clock.now())) if start is None else to_seconds(start)
        self._seeds = np.random.SeedSequence(seed)
        self._delays = np.random.default_rng(self._seeds.spawn(1)[0])
        self._generated = 0
        self._horizon = self.start_time  # every event with a time before it is generated
        self._done = False  # nothing more will be generated
        self._pending = ArrivalQueue()
        self._feed_now = self.start_time
        self._records: list[dict[str, Any]] = []

    # ----------------------------------------------------------- subclass API
    def _block(self) -> tuple[dict[str, np.ndarray], float] | None:
        raise NotImplementedError

    def _frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        raise NotImplementedError

    # ------------------------------------------------------------- generation
    @property
    def finite(self) -> bool:
        return self.n is not None

    def time_is_datetime(self) -> bool:
        return True

    @property
    def horizon(self) -> float:
        """Event time (seconds) up to which events have been generated."""
        return self._horizon

    def _generate_block(self) -> None:
        if self._done:
            return
        block = self._block()
        if block is None:
            self._done = True
            return
        cols, horizon = block
        k = len(cols["ts"])
        if self.n is not None and self._generated + k >= self.n:
            k = self.n - self._generated
            cols = {name: v[:k] for name, v in cols.items()}
            self._done = True
            horizon = float(cols["ts"][-1]) if k else self._horizon
        self._horizon = horizon
        ts = cols["ts"]
        delayed = self._delays.random(k) < self.disorder
        delay = np.where(delayed, self._delays.uniform(0.0, self.max_delay, k), 0.0)
        block_cols = {"arrival": ts + delay, "seq": np.arange(self._generated, self._generated + k)}
        block_cols.update(cols)
        self._generated += k
        self._pending.add(block_cols)

    def _n_pending(self) -> int:
        return len(self._pending)

    def _final_count(self, horizon: float) -> int:
        """How many pending events are certain to arrive by ``horizon``, in order."""
        if self._done or horizon < self._horizon:
            return self._pending.count_until(horizon, side="right")
        return self._pending.count_until(self._horizon, side="left")

    def _pop(self, k: int) -> pd.DataFrame:
        out = self._pending.pop(k)
        del out["arrival"]
        return self._frame(out)

    def _take_rows(self, k: int) -> pd.DataFrame | None:
        """The next ``k`` events in arrival order (fewer at the end of a finite feed)."""
        while self._final_count(np.inf) < k and not self._done:
            self._generate_block()
        got = min(k, self._final_count(np.inf))
        return self._pop(got) if got else None

    def _take_until(self, horizon: float) -> pd.DataFrame | None:
        """Every event that has arrived by feed time ``horizon``."""
        while self._horizon <= horizon and not self._done:
            self._generate_block()
        got = self._final_count(horizon)
        return self._pop(got) if got else None

    # ---------------------------------------------------------------- driving
    def _next_item(self) -> Any:
        if self.batch is None:
            if not self._records:
                df = self._take_rows(1024)
                if df is None:
                    return None
                self._records = df.to_dict("records")[::-1]
            return self._records.pop()
        return self._take_rows(self.batch)

    def step(self) -> Any:
        """Advance feed time by one tick (``interval`` x ``speed``) and emit what arrived
        as one batch (or the first record, for ``batch=None``); skips empty ticks."""
        if self.batch is None:
            return super().step()
        tick = self.interval * (self.speed or 1.0)
        while True:
            if self._done and not self._n_pending():
                self._finish()
                return None
            self._feed_now += tick
            df = self._take_until(self._feed_now)
            if df is not None:
                self._send(df)
                return df

    def _emit_due(self) -> None:
        horizon = self.start_time + self._feed_elapsed
        if horizon <= self._feed_now:
            return
        self._feed_now = horizon
        df = self._take_until(horizon)
        if df is not None:
            if self.batch is None:
                for rec in df.to_dict("records"):
                    self._send(rec)
            else:
                for i in range(0, len(df), self.batch):
                    self._send(df.iloc[i : i + self.batch])
        if self._done and not self._n_pending():
            self._finish()
