"""ipywidgets controls for streamnb sources."""

from streamnb.widgets.controls import Controls, controls, downstream_nodes, graph_totals

__all__ = ["Controls", "controls", "downstream_nodes", "graph_totals"]
