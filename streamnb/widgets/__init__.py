"""ipywidgets controls for streamnb sources."""

from streamnb.widgets.controls import Controls, controls, downstream_nodes, graph_totals
from streamnb.widgets.inject import Inject, inject
from streamnb.widgets.interact import Interactive, interact
from streamnb.widgets.pipeline import PipelineView, show

__all__ = [
    "Controls",
    "Inject",
    "Interactive",
    "PipelineView",
    "controls",
    "downstream_nodes",
    "graph_totals",
    "inject",
    "interact",
    "show",
]
