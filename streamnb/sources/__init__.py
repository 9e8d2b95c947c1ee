"""Sources: ``from_records``, ``replay``, synthetic feeds."""

from streamnb.sources.base import EventSource, all_sources, stop_all
from streamnb.sources.market import Market, market
from streamnb.sources.records import FromRecords, from_records
from streamnb.sources.replay import Replay, replay

__all__ = [
    "EventSource",
    "FromRecords",
    "Market",
    "Replay",
    "all_sources",
    "from_records",
    "market",
    "replay",
    "stop_all",
]
