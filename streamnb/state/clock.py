"""Clocks: where processing time comes from.

Every time-dependent behaviour of streamnb (replay pacing, live feeds, early panes, render
throttling) reads a clock, so tests and notebooks can swap the system clock for a manual one
and never sleep.

>>> clock = ManualClock(start=100.0)
>>> clock.now()
100.0
>>> clock.advance("1.5s")
101.5
"""

from __future__ import annotations

import time

from streamnb.state.timeparse import parse_duration, to_seconds

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock:
    """Base class of clocks: ``now()`` returns processing time in epoch seconds."""

    def now(self) -> float:
        raise NotImplementedError

    @property
    def manual(self) -> bool:
        """True when time only moves when told to (tests, teaching)."""
        return False


class SystemClock(Clock):
    """The machine's wall clock (``time.time()``).

    >>> SystemClock().now() > 1.7e9
    True
    """

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock(Clock):
    """A clock that moves only when advanced: deterministic processing time.

    Parameters
    ----------
    start
        Initial time: epoch seconds, a datetime or an ISO string.

    Examples
    --------
    >>> c = ManualClock(start="2026-01-01")
    >>> c.now()
    1767225600.0
    >>> c.advance(60)
    1767225660.0
    >>> c.set(1767225700)
    1767225700.0
    """

    def __init__(self, start: float | str = 0.0) -> None:
        self._now = to_seconds(start)

    @property
    def manual(self) -> bool:
        return True

    def now(self) -> float:
        return self._now

    def advance(self, duration: float | str) -> float:
        """Move the clock forward by ``duration`` (seconds or ``"250ms"``); returns the new time."""
        step = parse_duration(duration)
        if step < 0:
            raise ValueError(f"a clock cannot go back: advance({duration!r})")
        self._now += step
        return self._now

    def set(self, when: float | str) -> float:
        """Jump to ``when`` (never backwards); returns the new time."""
        target = to_seconds(when)
        if target < self._now:
            raise ValueError(f"a clock cannot go back: set({when!r}) is before {self._now}")
        self._now = target
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock(start={self._now!r})"
