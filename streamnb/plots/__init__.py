"""Live views: ``stream.plot.line / .scatter / .table`` behind a render governor."""

from streamnb.plots.buffer import FrameBuffer
from streamnb.plots.governor import RenderGovernor
from streamnb.plots.live import KINDS, LiveView, PlotAccessor

__all__ = ["KINDS", "FrameBuffer", "LiveView", "PlotAccessor", "RenderGovernor"]
