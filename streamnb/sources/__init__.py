"""Sources: ``from_records``, ``replay``, synthetic feeds."""

from streamnb.sources.base import EventSource, all_sources, stop_all
from streamnb.sources.learning import Learning, learning
from streamnb.sources.market import Market, market
from streamnb.sources.records import FromRecords, from_records
from streamnb.sources.replay import Replay, replay
from streamnb.sources.vitals import Vitals, vitals
from streamnb.sources.widget import FromWidget, from_widget, from_widgets

__all__ = [
    "EventSource",
    "FromRecords",
    "FromWidget",
    "Learning",
    "Market",
    "Replay",
    "Vitals",
    "all_sources",
    "from_records",
    "from_widget",
    "from_widgets",
    "learning",
    "market",
    "replay",
    "stop_all",
    "vitals",
]
