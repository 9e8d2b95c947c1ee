"""``sn.rules``: the detection rules for ``stream.detect(...)``.

See :mod:`streamnb.state.rules` for what each rule means and
:mod:`streamnb.state.detector` for the time contract (per key, in event time, behind a
watermark). Conditions are safe expressions (:mod:`streamnb.state._expr`) or callables.

>>> import streamnb as sn
>>> rules = [sn.rules.threshold("hr", above=120, for_="30s"),
...          sn.rules.sequence("hr > 120", "spo2 < 90", within="2min"),
...          sn.rules.absence(within="10s")]
>>> [r.name for r in rules]
['hr > 120 for 30s', 'hr > 120 → spo2 < 90 within 2min', 'no event for 10s']
"""

from __future__ import annotations

from streamnb.state._expr import ExpressionError, compile_condition
from streamnb.state.rules import (
    Absence,
    AllOf,
    AnyOf,
    Change,
    Predicate,
    Rule,
    Sequence,
    Threshold,
    When,
    ZScore,
    absence,
    all_of,
    any_of,
    change,
    predicate,
    sequence,
    threshold,
    zscore,
)

__all__ = [
    "Absence",
    "AllOf",
    "AnyOf",
    "Change",
    "ExpressionError",
    "Predicate",
    "Rule",
    "Sequence",
    "Threshold",
    "When",
    "ZScore",
    "absence",
    "all_of",
    "any_of",
    "change",
    "compile_condition",
    "predicate",
    "sequence",
    "threshold",
    "zscore",
]
