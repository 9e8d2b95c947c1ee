"""streamz nodes wrapping ``streamnb.state``: registering this package adds the methods."""

from streamnb.operators.apply import Apply, Keep
from streamnb.operators.base import DeadLetters, StreamnbNode, propagate_watermark
from streamnb.operators.capture import Capture
from streamnb.operators.count_window import CountWindow
from streamnb.operators.detect import Detect
from streamnb.operators.session import Session
from streamnb.operators.window import Window

__all__ = [
    "Apply",
    "Capture",
    "CountWindow",
    "DeadLetters",
    "Detect",
    "Keep",
    "Session",
    "StreamnbNode",
    "Window",
    "propagate_watermark",
]
