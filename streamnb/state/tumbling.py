"""Tumbling event-time windows ``[k*size, (k+1)*size)``: fixed windows with ``every == size``.

The engine is :class:`~streamnb.state.fixed.FixedWindows` (which also does sliding windows);
this module keeps the tumbling name and the pieces other window kinds share.

>>> tw = TumblingWindows(size=10, aggs={"v": ("sum",)})
>>> out = tw.update(np.array([1.0, 4.0, 12.0]), np.zeros(3, dtype=np.int64),
...                 {"v": np.array([1.0, 2.0, 3.0])})
>>> out.panes["window_start"].tolist(), out.panes["v_sum"].tolist(), out.panes["pane"].tolist()
([0.0], [3.0], ['on_time'])
>>> tw.advance_watermark(np.inf).panes["v_sum"].tolist()
[3.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np  # noqa: F401  (the doctests use it)

from streamnb.state.fixed import PANE_EARLY, PANE_LATE, PANE_ON_TIME, BatchOutcome, FixedWindows

__all__ = ["PANE_EARLY", "PANE_LATE", "PANE_ON_TIME", "BatchOutcome", "TumblingWindows"]


class TumblingWindows(FixedWindows):
    """Keyed tumbling windows ``[k*size, (k+1)*size)`` over float epoch seconds.

    Parameters
    ----------
    size
        Window length in seconds.
    aggs
        ``{column: (agg, ...)}`` as returned by :func:`normalise_agg`.
    watermark
        Bounded out-of-orderness: ``W = max event time seen - watermark``.
    lateness
        Allowed lateness: a fired window keeps accepting events (emitting ``late`` panes)
        until ``end + lateness <= W``.
    """

    def __init__(
        self,
        size: float,
        aggs: Mapping[str, tuple[str, ...]],
        watermark: float = 0.0,
        lateness: float = 0.0,
    ) -> None:
        super().__init__(size, aggs, watermark=watermark, lateness=lateness)
