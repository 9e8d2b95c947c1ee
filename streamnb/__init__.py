"""streamnb: live event-time stream processing in Jupyter notebooks.

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": 0.1, "v": 1.0}, {"ts": 1.2, "v": 2.0}], time="ts")
>>> out = src.window("1s", agg={"v": "sum"}).sink_to_list()
>>> _ = src.run()
>>> [df["v_sum"].tolist() for df in out]
[[1.0], [2.0]]
"""

from __future__ import annotations

from streamnb import operators  # noqa: F401  (registers the stream methods)
from streamnb.operators.base import DeadLetters, StreamnbNode, propagate_watermark
from streamnb.operators.window import Window
from streamnb.sources import (
    EventSource,
    FromRecords,
    Market,
    all_sources,
    from_records,
    market,
    stop_all,
)
from streamnb.state.clock import Clock, ManualClock, SystemClock

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "DeadLetters",
    "EventSource",
    "FromRecords",
    "ManualClock",
    "Market",
    "StreamnbNode",
    "SystemClock",
    "Window",
    "__version__",
    "all_sources",
    "from_records",
    "market",
    "propagate_watermark",
    "stop_all",
]
