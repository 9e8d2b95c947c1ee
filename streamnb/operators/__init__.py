"""streamz nodes wrapping ``streamnb.state``: registering this package adds the methods."""

from streamnb.operators.base import DeadLetters, StreamnbNode, propagate_watermark
from streamnb.operators.window import Window

__all__ = ["DeadLetters", "StreamnbNode", "Window", "propagate_watermark"]
