"""Jupyter integration: ``sn.notebook.setup()`` loads the plotting front end, offline.

HoloViews loads BokehJS from a public CDN by default; with no internet (a lab network, a
train, a CI machine) nothing would render. ``setup()`` inlines it instead.
"""

from __future__ import annotations

__all__ = ["setup"]


def setup(inline: bool = True) -> None:
    """Load HoloViews' bokeh extension (BokehJS inlined by default) for live plots.

    Call it once at the top of a notebook, before the first plot is displayed.
    """
    import holoviews as hv

    hv.extension("bokeh", inline=inline, logo=False)
