"""The render governor coalesces updates: at most max_fps renders a second, never stale."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from streamnb.plots.governor import RenderGovernor
from streamnb.state.clock import ManualClock, SystemClock


def test_requests_within_the_interval_render_once_and_flush_sends_the_rest():
    clock, renders = ManualClock(), []
    gov = RenderGovernor(lambda: renders.append(clock.now()), max_fps=20, clock=clock)
    for _ in range(100):
        gov.request()
        clock.advance(0.001)  # 100 updates in 0.1 s
    # renders at t=0 and t>=0.05 only: one per 1/20 s
    assert renders == [0.0, pytest.approx(0.05)]
    assert gov.pending
    gov.flush()
    assert len(renders) == 3 and not gov.pending
    gov.flush()  # nothing pending: no render
    assert len(renders) == 3


def test_rate_never_exceeds_max_fps_over_a_long_run():
    clock, renders = ManualClock(), []
    gov = RenderGovernor(lambda: renders.append(clock.now()), max_fps=10, clock=clock)
    for _ in range(10_000):
        gov.request()
        clock.advance(0.0005)  # 2,000 updates a second for 5 s
    assert len(renders) <= 5 * 10 + 1
    gaps = [b - a for a, b in itertools.pairwise(renders)]
    assert min(gaps) >= 0.1 - 1e-9


def test_a_running_loop_renders_the_last_update_without_another_request():
    renders = []

    async def scenario():
        gov = RenderGovernor(lambda: renders.append(1), max_fps=50, clock=SystemClock())
        gov.request()  # renders now
        gov.request()  # too soon: scheduled on the loop
        assert len(renders) == 1 and gov.pending
        await asyncio.sleep(0.1)
        return gov

    gov = asyncio.run(scenario())
    assert len(renders) == 2 and not gov.pending


def test_bad_max_fps_is_refused():
    with pytest.raises(ValueError, match="max_fps"):
        RenderGovernor(lambda: None, max_fps=0)


def test_a_busy_loop_still_renders_at_the_rate_limit():
    """A cell running a loop holds the event loop: scheduled renders cannot fire, so a
    request that finds a render overdue draws at once."""
    renders = []

    async def busy_cell():
        clock = ManualClock()
        gov = RenderGovernor(lambda: renders.append(clock.now()), max_fps=20, clock=clock)
        for _ in range(200):  # 2 s of updates, never yielding to the loop
            gov.request()
            clock.advance(0.01)
        return gov

    gov = asyncio.run(busy_cell())
    assert len(renders) >= 39  # one per 1/20 s (minus rounding), not just the first
    assert gov.renders == len(renders)
