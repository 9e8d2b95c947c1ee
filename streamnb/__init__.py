"""streamnb: live event-time stream processing in Jupyter notebooks.

>>> import streamnb as sn
>>> src = sn.from_records([{"ts": 0.1, "v": 1.0}, {"ts": 1.2, "v": 2.0}], time="ts")
>>> out = src.window("1s", agg={"v": "sum"}).sink_to_list()
>>> _ = src.run()
>>> [df["v_sum"].tolist() for df in out]
[[1.0], [2.0]]
"""

from __future__ import annotations

from streamnb import (
    notebook,
    operators,  # noqa: F401  (registers the stream methods)
    plots,  # noqa: F401  (adds stream.plot)
    rules,
)
from streamnb.notebook import graph
from streamnb.operators.base import DeadLetters, StreamnbNode, propagate_watermark
from streamnb.operators.capture import Capture
from streamnb.operators.count_window import CountWindow
from streamnb.operators.detect import Detect
from streamnb.operators.session import Session
from streamnb.operators.window import Window
from streamnb.sources import (
    EventSource,
    FromRecords,
    FromWidget,
    Learning,
    Market,
    Replay,
    Vitals,
    all_sources,
    from_records,
    from_widget,
    from_widgets,
    learning,
    market,
    replay,
    stop_all,
    vitals,
)
from streamnb.state.clock import Clock, ManualClock, SystemClock
from streamnb.widgets import (
    Controls,
    Inject,
    Interactive,
    PipelineView,
    controls,
    inject,
    interact,
    show,
)

__version__ = "0.1.0"

__all__ = [
    "Capture",
    "Clock",
    "Controls",
    "CountWindow",
    "DeadLetters",
    "Detect",
    "EventSource",
    "FromRecords",
    "FromWidget",
    "Inject",
    "Interactive",
    "Learning",
    "ManualClock",
    "Market",
    "PipelineView",
    "Replay",
    "Session",
    "StreamnbNode",
    "SystemClock",
    "Vitals",
    "Window",
    "__version__",
    "all_sources",
    "controls",
    "from_records",
    "from_widget",
    "from_widgets",
    "graph",
    "inject",
    "interact",
    "learning",
    "market",
    "notebook",
    "propagate_watermark",
    "replay",
    "rules",
    "show",
    "stop_all",
    "vitals",
]
