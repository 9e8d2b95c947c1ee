"""The render governor: coalesce many data updates into at most ``max_fps`` renders a second.

Browsers redraw a bokeh plot 30–50 times a second at best and Jupyter throttles its message
channel at 1000 messages a second, so a plot must never be sent one update per event. A view
calls ``request()`` on every update; the governor renders at once if the last render is older
than ``1 / max_fps``, otherwise it schedules one render on the kernel's event loop at the
earliest allowed moment. Without a running loop (a script, a test) the pending update waits for
the next ``request()`` after the interval, or for ``flush()``.

>>> from streamnb.state.clock import ManualClock
>>> clock, renders = ManualClock(), []
>>> gov = RenderGovernor(lambda: renders.append(clock.now()), max_fps=10, clock=clock)
>>> for _ in range(5):
...     gov.request()          # five updates in the same instant: one render
>>> clock.advance(0.1); gov.request()
0.1
>>> renders, gov.requests, gov.renders
([0.0, 0.1], 6, 2)
"""

from __future__ import annotations

from collections.abc import Callable

from tornado.ioloop import IOLoop

from streamnb.sources.base import kernel_loop
from streamnb.state.clock import Clock, SystemClock

__all__ = ["RenderGovernor"]


class RenderGovernor:
    """Calls ``render()`` at most ``max_fps`` times a second, always with the latest data.

    Parameters
    ----------
    render
        What to do when it is time to draw (send the buffered frame to the plot).
    max_fps
        Upper bound on renders per second.
    clock
        Processing time (``ManualClock`` in tests).
    loop
        Event loop for deferred renders; by default the one running when a render is due.
    """

    def __init__(
        self,
        render: Callable[[], None],
        max_fps: float = 20.0,
        clock: Clock | None = None,
        loop: IOLoop | None = None,
    ) -> None:
        if not max_fps > 0:
            raise ValueError(f"max_fps must be positive, got {max_fps!r}")
        self._render = render
        self.max_fps = float(max_fps)
        self.clock = clock or SystemClock()
        self.loop = loop
        self.requests = 0
        self.renders = 0
        self.pending = False
        self._last = float("-inf")
        self._scheduled = False

    @property
    def interval(self) -> float:
        return 1.0 / self.max_fps

    def request(self) -> None:
        """New data is buffered: render now, or as soon as the rate limit allows."""
        self.requests += 1
        self.pending = True
        wait = self._last + self.interval - self.clock.now()
        if wait <= 0:  # due (even if a deferred render is scheduled: a busy cell may be
            self.flush()  # holding the loop, and the timer would only fire after it)
            return
        if self._scheduled:
            return
        loop = self.loop or kernel_loop()
        if loop is not None:
            self._scheduled = True
            loop.call_later(wait, self._on_timer)

    def flush(self) -> None:
        """Render now if anything is pending (end of a stream, a paused source, a test)."""
        if not self.pending:
            return
        self.pending = False
        self._last = self.clock.now()
        self.renders += 1
        self._render()

    def _on_timer(self) -> None:
        self._scheduled = False
        self.flush()

    def __repr__(self) -> str:
        return (
            f"RenderGovernor(max_fps={self.max_fps}, requests={self.requests}, "
            f"renders={self.renders})"
        )
