"""``sn.market``: an endless, seeded synthetic tick feed with out-of-order arrival.

Events are generated in event-time order (random-walk prices per symbol, log-normal volumes,
exponential gaps at ``rate`` events/s); a fraction ``disorder`` of them is delayed by up to
``max_delay`` seconds, and the feed hands them out in *arrival* order. Generation runs in
fixed blocks from one RNG, so the same seed gives the same events however it is driven
(``run``, ``step`` or live).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from streamz import Stream

from streamnb.sources.base import EventSource
from streamnb.state.clock import Clock
from streamnb.state.timeparse import parse_duration, to_seconds

__all__ = ["DEFAULT_SYMBOLS", "Market", "market"]

DEFAULT_SYMBOLS = ("ACME", "BOLT", "CRUX", "DYNA", "EONS")
_BLOCK = 4096


class Market(EventSource):
    """Synthetic market ticks: ``seq, ts, symbol, price, volume``.

    Parameters
    ----------
    symbols
        Ticker names, or an int for that many generated names.
    rate
        Events per second of event time (all symbols together).
    seed
        Seed of the random generator: same seed, same events.
    disorder
        Fraction of events that arrive late, by up to ``max_delay``.
    max_delay
        Largest arrival delay, seconds or ``"2s"``.
    volatility
        Annualised-looking volatility of the random walk (per sqrt-second scale).
    n
        Number of events; ``None`` for an endless feed.
    start
        Event time of the first tick; default the clock's time when the feed is made, to the
        second.
    batch
        Rows per emitted DataFrame (``None`` emits records one by one).
    speed
        Feed time runs ``speed`` times faster than the clock when live.

    Examples
    --------
    >>> import streamnb as sn
    >>> feed = sn.market(seed=1, n=1000, start="2026-01-02 09:30", disorder=0.05, batch=250)
    >>> frames = feed.sink_to_list()
    >>> _ = feed.run()
    >>> [len(f) for f in frames], list(frames[0].columns)
    ([250, 250, 250, 250], ['seq', 'ts', 'symbol', 'price', 'volume'])
    >>> ticks = pd.concat(frames)
    >>> bool(ticks["ts"].is_monotonic_increasing), sorted(ticks["seq"]) == list(range(1000))
    (False, True)
    """

    def __init__(
        self,
        symbols: int | tuple[str, ...] | list[str] = DEFAULT_SYMBOLS,
        rate: float = 200.0,
        seed: int | None = 0,
        disorder: float = 0.02,
        max_delay: float | str = "2s",
        volatility: float = 0.002,
        n: int | None = None,
        start: float | str | None = None,
        batch: int | None = 1000,
        clock: Clock | None = None,
        speed: float | None = 1.0,
        time: str = "ts",
        **kwargs: Any,
    ) -> None:
        super().__init__(time=time, clock=clock, speed=speed, **kwargs)
        if isinstance(symbols, int):
            symbols = tuple(f"S{i:03d}" for i in range(symbols))
        self.symbols = tuple(symbols)
        if not self.symbols:
            raise ValueError("market() needs at least one symbol")
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if not 0 <= disorder <= 1:
            raise ValueError(f"disorder is a fraction in [0, 1], got {disorder!r}")
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise ValueError(f"batch must be a positive int or None, got {batch!r}")
        self.rate = float(rate)
        self.disorder = float(disorder)
        self.max_delay = parse_duration(max_delay)
        self.volatility = float(volatility)
        self.n = n
        self.batch = batch
        self.seed = seed
        self.start_time = float(np.floor(self.clock.now())) if start is None else to_seconds(start)
        self._rng = np.random.default_rng(seed)
        k = len(self.symbols)
        self._price = 100.0 * np.exp(self._rng.normal(0, 0.5, k))
        self._generated = 0
        self._last_t = self.start_time
        # pending events, sorted by arrival: columns as arrays
        self._pending: dict[str, np.ndarray] = {
            "arrival": np.zeros(0),
            "seq": np.zeros(0, dtype=np.int64),
            "ts": np.zeros(0),
            "sym": np.zeros(0, dtype=np.int64),
            "price": np.zeros(0),
            "volume": np.zeros(0, dtype=np.int64),
        }
        self._feed_now = self.start_time  # arrival horizon already handed out (live/step)
        self._records: list[dict[str, Any]] = []

    @property
    def finite(self) -> bool:
        return self.n is not None

    def time_is_datetime(self) -> bool:
        return True

    @property
    def feed_time(self) -> float:
        """Feed time (epoch seconds) up to which arrivals have been handed out: ``step()``
        moves it one tick (``interval`` x ``speed``) at least, past empty ticks."""
        return self._feed_now

    # ------------------------------------------------------------- generation
    def _generate_block(self) -> None:
        count = _BLOCK if self.n is None else min(_BLOCK, self.n - self._generated)
        if count <= 0:
            return
        rng = self._rng
        gaps = rng.exponential(1.0 / self.rate, count)
        ts = self._last_t + np.cumsum(gaps)
        sym = rng.integers(0, len(self.symbols), count)
        shocks = rng.normal(0.0, 1.0, count) * self.volatility * np.sqrt(gaps * len(self.symbols))
        price = np.empty(count)
        for s in range(len(self.symbols)):  # one vectorised walk per symbol
            idx = np.flatnonzero(sym == s)
            if len(idx):
                path = self._price[s] * np.exp(np.cumsum(shocks[idx]))
                price[idx] = path
                self._price[s] = path[-1]
        volume = np.maximum(1, np.round(rng.lognormal(4.0, 1.0, count))).astype(np.int64)
        delayed = rng.random(count) < self.disorder
        delay = np.where(delayed, rng.uniform(0.0, self.max_delay, count), 0.0)
        seq = np.arange(self._generated, self._generated + count)
        self._generated += count
        self._last_t = float(ts[-1])
        block = {
            "arrival": ts + delay,
            "seq": seq,
            "ts": ts,
            "sym": sym,
            "price": np.round(price, 4),
            "volume": volume,
        }
        merged = {k: np.concatenate([self._pending[k], block[k]]) for k in block}
        order = np.argsort(merged["arrival"], kind="stable")
        self._pending = {k: v[order] for k, v in merged.items()}

    @property
    def _all_generated(self) -> bool:
        return self.n is not None and self._generated >= self.n

    def _final_count(self, horizon: float) -> int:
        """How many pending events are certain to arrive by ``horizon``, in order."""
        limit = horizon if self._all_generated else min(horizon, self._last_t)
        return int(np.searchsorted(self._pending["arrival"], limit, side="right"))

    def _pop(self, k: int) -> pd.DataFrame:
        p = self._pending
        out = {key: v[:k] for key, v in p.items()}
        self._pending = {key: v[k:] for key, v in p.items()}
        return pd.DataFrame(
            {
                "seq": out["seq"],
                "ts": pd.to_datetime(np.round(out["ts"] * 1e6).astype("int64"), unit="us"),
                "symbol": pd.Categorical.from_codes(
                    out["sym"], categories=list(self.symbols)
                ).astype(object),
                "price": out["price"],
                "volume": out["volume"],
            }
        )

    def _take_rows(self, k: int) -> pd.DataFrame | None:
        """The next ``k`` events in arrival order (fewer at the end of a finite feed)."""
        while self._final_count(np.inf) < k and not self._all_generated:
            self._generate_block()
        got = min(k, self._final_count(np.inf))
        if got == 0:
            return None
        df = self._pop(got)
        return df

    def _take_until(self, horizon: float) -> pd.DataFrame | None:
        """Every event that has arrived by feed time ``horizon``."""
        while self._last_t <= horizon and not self._all_generated:
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
            if self._all_generated and not len(self._pending["arrival"]):
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
        if self._all_generated and not len(self._pending["arrival"]):
            self._finish()

    def __repr__(self) -> str:
        return (
            f"<market symbols={len(self.symbols)} rate={self.rate}/s seed={self.seed} "
            f"n={self.n} counters={self.counters}>"
        )


@Stream.register_api(staticmethod)
def market(*args: Any, **kwargs: Any) -> Market:
    """A synthetic tick feed; see :class:`Market` for its parameters."""
    return Market(*args, **kwargs)


market.__signature__ = __import__("inspect").signature(Market.__init__)  # type: ignore[attr-defined]
