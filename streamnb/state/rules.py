"""Detection rules: what to look for in a keyed event-time stream, as small frozen settings.

A rule says *what* to detect; a :class:`~streamnb.state.detector.Detector` (or
``stream.detect(...)``) applies rules per key, in event time. Every rule sees each key's
events in event-time order (ties in arrival order), once the watermark has passed them; the
exact contract is in :mod:`streamnb.state.detector`.

===================================================  ==========================================
rule                                                  alerts
===================================================  ==========================================
``threshold(field, above=, below=, for_=)``            once per episode, when the value has been
                                                       beyond the bound for ``for_`` (event time)
``change(field, by= | pct=, within=)``                 once per episode of a rise (``by > 0``) or
                                                       fall (``by < 0``) of at least ``|by|``
                                                       (or ``|pct|`` %) within ``within``
``zscore(field, window=, z=)``                         once per episode of ``|z| >= z`` against
                                                       the key's previous values in ``window``
``sequence(cond1, cond2, ..., within=)``               when the conditions hold on events in that
                                                       order within ``within``; then restarts
``absence(within=)``                                   when a key has sent nothing for more than
                                                       ``within`` (watermark-driven)
``predicate(cond)``                                    on every event satisfying ``cond``
``any_of(r1, r2, ...)`` / ``all_of(..., within=)``      any alert of the rules / all of them
                                                       within ``within``, per key
===================================================  ==========================================

An *episode* is a run of consecutive events of one key (in event-time order) for which the
rule's condition holds; the rule alerts once per episode and re-arms when the condition stops
holding. A missing value (NaN) never satisfies a condition, so it ends an episode.

Conditions (for ``sequence`` and ``predicate``) are safe expressions such as ``"hr > 120"`` or
``"kind == 'quiz' and score < 0.5"`` (see :mod:`streamnb.state._expr`), or callables taking a
``pandas.DataFrame`` of events and returning one bool per row (``lambda df: df.hr > 120``).

>>> threshold("hr", above=120, for_="30s")
threshold('hr > 120 for 30s')
>>> sequence("hr > 120", "spo2 < 90", within="2min").name
'hr > 120 → spo2 < 90 within 2min'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from streamnb.state._expr import Condition, compile_condition
from streamnb.state.timeparse import parse_duration

__all__ = [
    "Absence",
    "AllOf",
    "AnyOf",
    "Change",
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
    "format_duration",
    "predicate",
    "sequence",
    "threshold",
    "zscore",
]


def format_duration(seconds: float) -> str:
    """A duration for people: ``"30 s"``, ``"2.5 min"``, ``"3 h"``, ``"2 d"``.

    >>> format_duration(30), format_duration(150), format_duration(0.25), format_duration(86400)
    ('30 s', '2.5 min', '250 ms', '24 h')
    """
    s = float(seconds)
    if not math.isfinite(s):
        return str(s)
    if abs(s) < 1 and s != 0:
        return f"{round(s * 1000, 1):g} ms"
    if abs(s) < 120:
        return f"{round(s, 1):g} s"
    if abs(s) < 7200:
        return f"{round(s / 60, 1):g} min"
    if abs(s) < 172800:
        return f"{round(s / 3600, 1):g} h"
    return f"{round(s / 86400, 1):g} d"


def _duration(value: Any, what: str, positive: bool = False) -> tuple[float, str]:
    """``(seconds, text)`` of a duration setting; the text is what the user wrote."""
    seconds = parse_duration(value)
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        need = "positive" if positive else "zero or more"
        raise ValueError(f"{what} must be a {need} duration, got {value!r}")
    text = value.strip() if isinstance(value, str) else format_duration(seconds).replace(" ", "")
    return seconds, text


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{what} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return out


def _field(field: Any, rule: str) -> str:
    if not isinstance(field, str) or not field:
        raise TypeError(f"{rule}() needs a column name as its first argument, got {field!r}")
    return field


class When:
    """A per-event condition: a safe expression (``"hr > 120"``) or a vectorised callable.

    ``evaluate(columns, frame)`` gives one bool per event: expressions read ``columns`` (a
    mapping of column name to values), callables get ``frame()`` (a ``DataFrame``) and must
    return a bool per row (NaN counts as false).

    >>> When("hr > 120").evaluate({"hr": np.array([100.0, 130.0])}, None).tolist()
    [False, True]
    >>> When(lambda df: df["hr"] > 120, label="tachy").label
    'tachy'
    """

    def __init__(self, source: str | Callable[[pd.DataFrame], Any], label: str | None = None):
        if isinstance(source, When):
            source, label = source.source, label or source.label
        if isinstance(source, str):
            self.expr: Condition | None = compile_condition(source)
            self.label = label or self.expr.text
            self.columns = self.expr.columns
        elif callable(source):
            self.expr = None
            self.label = label or getattr(source, "__name__", type(source).__name__)
            self.columns = ()
        else:
            raise TypeError(
                "a condition is an expression string such as 'hr > 120' or a function of a "
                f"DataFrame returning one bool per row; got {type(source).__name__}"
            )
        self.source = source

    @property
    def needs_frame(self) -> bool:
        return self.expr is None

    def evaluate(self, columns: Any, frame: Callable[[], pd.DataFrame] | None) -> np.ndarray:
        """One bool per event; raises ``KeyError``/``ValueError`` with the reason."""
        if self.expr is not None:
            return self.expr.evaluate(columns)
        df = frame()
        out = self.source(df)
        return _bools(out, len(df), self.label)

    def __repr__(self) -> str:
        return f"When({self.label!r})"


def _bools(out: Any, n: int, label: str) -> np.ndarray:
    """A callable's answer as ``n`` bools (NaN and None are false)."""
    if isinstance(out, (bool, np.bool_)) and n == 1:
        return np.array([bool(out)])
    if isinstance(out, (pd.Series, pd.Index)):
        arr = out.to_numpy(dtype=object, na_value=False) if out.hasnans else out.to_numpy()
    else:
        arr = np.asarray(out)
    if arr.shape != (n,):
        raise ValueError(f"condition {label!r} returned {arr.shape or 'one value'} for {n} rows")
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind == "f":
        return np.nan_to_num(arr, nan=0.0) != 0
    if arr.dtype.kind in "iu":
        return arr != 0
    if arr.dtype.kind == "O":
        return np.array([bool(v) and not (isinstance(v, float) and v != v) for v in arr])
    raise ValueError(f"condition {label!r} returned {arr.dtype} values, not bools")


# ----------------------------------------------------------------------------- rules
class Rule:
    """Base of the rule settings. ``name`` labels the rule's alerts (the ``rule`` column)."""

    name: str

    def conditions(self) -> list[When]:
        """The per-event conditions the rule reads."""
        return []

    def fields(self) -> list[str]:
        """The numeric columns the rule reads."""
        return []

    def rules(self) -> list[Rule]:
        """The sub-rules (for ``any_of`` and ``all_of``)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__.lower()}({self.name!r})"


@dataclass(frozen=True, repr=False)
class Threshold(Rule):
    """``field`` beyond ``above``/``below`` continuously for ``for_`` seconds; see module."""

    field: str
    above: float | None
    below: float | None
    for_: float
    name: str

    def fields(self) -> list[str]:
        return [self.field]


@dataclass(frozen=True, repr=False)
class Change(Rule):
    """A rise (``by > 0``) or fall (``by < 0``) of ``field`` within ``within``; see module."""

    field: str
    by: float | None
    pct: float | None
    within: float
    name: str

    def fields(self) -> list[str]:
        return [self.field]


@dataclass(frozen=True, repr=False)
class ZScore(Rule):
    """``|value - mean| / std >= z`` over the key's previous values in ``window``."""

    field: str
    window: float
    z: float
    min_count: int
    name: str

    def fields(self) -> list[str]:
        return [self.field]


@dataclass(frozen=True, repr=False)
class Sequence(Rule):
    """Conditions matched in order on one key's events within ``within``."""

    steps: tuple[When, ...]
    within: float
    within_text: str
    name: str

    def conditions(self) -> list[When]:
        return list(self.steps)


@dataclass(frozen=True, repr=False)
class Absence(Rule):
    """No event from a key for more than ``within`` seconds."""

    within: float
    within_text: str
    name: str


@dataclass(frozen=True, repr=False)
class Predicate(Rule):
    """Every event satisfying a condition."""

    when: When
    name: str

    def conditions(self) -> list[When]:
        return [self.when]


@dataclass(frozen=True, repr=False)
class AnyOf(Rule):
    """Every alert of any of the sub-rules, under one name."""

    members: tuple[Rule, ...]
    name: str

    def rules(self) -> list[Rule]:
        return list(self.members)

    def conditions(self) -> list[When]:
        return [c for r in self.members for c in r.conditions()]

    def fields(self) -> list[str]:
        return [f for r in self.members for f in r.fields()]


@dataclass(frozen=True, repr=False)
class AllOf(AnyOf):
    """An alert once every sub-rule has alerted for the key within ``within``."""

    within: float = 0.0
    within_text: str = "0s"


# ------------------------------------------------------------------------ constructors
def threshold(
    field: str,
    above: float | None = None,
    below: float | None = None,
    for_: float | str = 0,
    name: str | None = None,
) -> Threshold:
    """Alert when ``field`` stays above ``above`` (or below ``below``) for ``for_``.

    The condition is ``value > above`` (or ``value < below``; with both, either: the value
    is outside ``[below, above]``). An *episode* starts at the first event of a key where the
    condition holds and lasts while consecutive events keep it; the rule alerts once per
    episode, at the first event whose time is at least ``for_`` after the episode's first
    event, and re-arms when the condition stops holding (a NaN value stops it too).

    Parameters
    ----------
    field
        Numeric column to watch.
    above, below
        Bounds (strict); at least one.
    for_
        How long the condition must hold, in event time: seconds or ``"30s"``; 0 alerts at
        the first event of each episode.
    name
        Label of the rule's alerts (default: ``"hr > 120 for 30s"``).

    Returns
    -------
    Threshold

    Examples
    --------
    >>> r = threshold("hr", above=120, for_="30s")
    >>> r.name, r.for_
    ('hr > 120 for 30s', 30.0)
    >>> threshold("hr", above=120, below=40).name
    'hr outside [40, 120]'
    """
    field = _field(field, "threshold")
    if above is None and below is None:
        raise ValueError(f"threshold({field!r}) needs above= or below= (or both)")
    hi = None if above is None else _number(above, "above")
    lo = None if below is None else _number(below, "below")
    if hi is not None and lo is not None and lo > hi:
        raise ValueError(f"threshold({field!r}): below={lo:g} is greater than above={hi:g}")
    seconds, text = _duration(for_, "for_")
    if hi is not None and lo is not None:
        label = f"{field} outside [{lo:g}, {hi:g}]"
    elif hi is not None:
        label = f"{field} > {hi:g}"
    else:
        label = f"{field} < {lo:g}"
    if seconds > 0:
        label += f" for {text}"
    return Threshold(field, hi, lo, seconds, name or label)


def change(
    field: str,
    by: float | None = None,
    pct: float | None = None,
    within: float | str = "1min",
    name: str | None = None,
) -> Change:
    """Alert when ``field`` rises (``by > 0``) or falls (``by < 0``) by ``|by|`` within ``within``.

    At an event with value ``v``, the rule compares ``v`` with the key's values at most
    ``within`` earlier (the events ``j`` before it with ``t_j >= t - within``): a rise of ``by``
    holds when ``v - min >= by``, a fall when ``v - max <= by``. With ``pct`` instead, the
    change is relative to the smallest (rise) or largest (fall) *positive* value in the window:
    ``(v - ref) / ref * 100 >= pct`` (rise, ``pct > 0``) or ``<= pct`` (fall). NaN values are
    ignored as references. One alert per episode of consecutive events where it holds.

    Parameters
    ----------
    field
        Numeric column to watch.
    by, pct
        Exactly one of them: an absolute change or a percentage; the sign gives the direction.
    within
        Time bound: seconds or ``"2min"``.
    name
        Label of the rule's alerts.

    Returns
    -------
    Change

    Examples
    --------
    >>> change("sbp", by=-25, within="2min").name
    'sbp falls by 25 within 2min'
    >>> change("hr", pct=20, within=60).name
    'hr rises by 20% within 60s'
    """
    field = _field(field, "change")
    if (by is None) == (pct is None):
        raise ValueError(f"change({field!r}) needs exactly one of by= or pct=")
    amount = _number(by if by is not None else pct, "by" if by is not None else "pct")
    if amount == 0:
        raise ValueError(f"change({field!r}): the change must not be 0 (its sign is the direction)")
    seconds, text = _duration(within, "within", positive=True)
    way = "rises" if amount > 0 else "falls"
    unit = "%" if pct is not None else ""
    label = f"{field} {way} by {abs(amount):g}{unit} within {text}"
    return Change(
        field,
        amount if by is not None else None,
        amount if pct is not None else None,
        seconds,
        name or label,
    )


def zscore(
    field: str,
    window: float | str = "5min",
    z: float = 3.0,
    min_count: int = 5,
    name: str | None = None,
) -> ZScore:
    """Alert when ``field`` deviates from the key's rolling mean by ``z`` standard deviations.

    At an event with value ``v`` at time ``t``, the reference is the key's *previous* non-NaN
    values with times ``>= t - window`` (not ``v`` itself): their mean ``m`` and sample standard
    deviation ``s``. The condition is ``|v - m| / s >= z``; it needs at least ``min_count``
    reference values and a spread that is not (numerically) zero. One alert per episode.

    Parameters
    ----------
    field
        Numeric column to watch.
    window
        How far back the reference values reach: seconds or ``"5min"``.
    z
        Threshold in standard deviations (positive).
    min_count
        Reference values needed before the rule can alert (at least 2).
    name
        Label of the rule's alerts.

    Returns
    -------
    ZScore

    Examples
    --------
    >>> zscore("hr", window="5min", z=3).name
    'hr |z| >= 3 over 5min'
    """
    field = _field(field, "zscore")
    seconds, text = _duration(window, "window", positive=True)
    zz = _number(z, "z")
    if zz <= 0:
        raise ValueError(f"zscore({field!r}): z must be positive, got {z!r}")
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 2:
        raise ValueError(f"zscore({field!r}): min_count must be an int >= 2, got {min_count!r}")
    return ZScore(field, seconds, zz, min_count, name or f"{field} |z| >= {zz:g} over {text}")


def sequence(
    *conditions: str | Callable[[pd.DataFrame], Any] | When,
    within: float | str,
    name: str | None = None,
) -> Sequence:
    """Alert when events of one key satisfy the conditions in order within ``within``.

    A match is events ``e1, e2, ..., en`` of one key, in event-time order (distinct events,
    ``e1`` before ``e2`` ...), with ``e_k`` satisfying condition ``k`` and
    ``time(en) - time(e1) <= within``. The rule alerts at the first event that completes a
    match (reporting, of the matches ending there, the one that starts latest, with the earliest
    events for the steps in between), then restarts: events up to and including the completing
    event are not reused.

    Parameters
    ----------
    *conditions
        Expressions (``"hr > 120"``) or callables of a DataFrame returning bools per row.
    within
        Time bound between the first and the last event of a match.
    name
        Label of the rule's alerts (default: ``"hr > 120 → spo2 < 90 within 2min"``).

    Returns
    -------
    Sequence

    Examples
    --------
    >>> sequence("kind == 'play'", "kind == 'quiz'", within="1h").name
    "kind == 'play' → kind == 'quiz' within 1h"
    """
    if not conditions:
        raise ValueError("sequence() needs at least one condition")
    steps = tuple(When(c) for c in conditions)
    seconds, text = _duration(within, "within")
    label = " → ".join(s.label for s in steps) + f" within {text}"
    return Sequence(steps, seconds, text, name or label)


def absence(within: float | str, name: str | None = None) -> Absence:
    """Alert when a key sends no event for more than ``within`` (in event time).

    For each key seen, the rule alerts at time ``last + within`` once it is certain that no
    event of the key has a time in ``(last, last + within]``: when the next event of the key
    comes later than that, or when the watermark passes ``last + within``. When a finite
    stream ends, the horizon is the largest event time seen (the end of the data), not
    infinity: a key is absent only if it was silent for more than ``within`` before the end.

    Parameters
    ----------
    within
        Silence that counts as absence: seconds or ``"10s"``.
    name
        Label of the rule's alerts.

    Returns
    -------
    Absence

    Examples
    --------
    >>> absence("10s").name
    'no event for 10s'
    """
    seconds, text = _duration(within, "within", positive=True)
    return Absence(seconds, text, name or f"no event for {text}")


def predicate(
    cond: str | Callable[[pd.DataFrame], Any] | When, name: str | None = None
) -> Predicate:
    """Alert on every event that satisfies ``cond`` (an expression or a callable).

    Parameters
    ----------
    cond
        ``"score >= 0.8"`` or a function of a DataFrame returning one bool per row.
    name
        Label of the rule's alerts (default: the expression, or the function's name).

    Returns
    -------
    Predicate

    Examples
    --------
    >>> predicate("score >= 0.8").name
    'score >= 0.8'
    """
    when = When(cond)
    return Predicate(when, name or when.label)


def _members(rules: tuple[Any, ...], what: str) -> tuple[Rule, ...]:
    if not rules:
        raise ValueError(f"{what}() needs at least one rule")
    for r in rules:
        if not isinstance(r, Rule):
            raise TypeError(f"{what}() takes rules (threshold(...), ...), got {r!r}")
    return tuple(rules)


def any_of(*rules: Rule, name: str | None = None) -> AnyOf:
    """Every alert of any of ``rules``, labelled with one name (messages name the sub-rule).

    Parameters
    ----------
    *rules
        The rules to combine.
    name
        Label of the alerts (default ``"any_of(a, b)"``).

    Returns
    -------
    AnyOf

    Examples
    --------
    >>> any_of(threshold("hr", above=150), threshold("spo2", below=85)).name
    'any_of(hr > 150, spo2 < 85)'
    """
    members = _members(rules, "any_of")
    return AnyOf(members, name or f"any_of({', '.join(r.name for r in members)})")


def all_of(*rules: Rule, within: float | str = 0, name: str | None = None) -> AllOf:
    """Alert when every one of ``rules`` has alerted for the same key within ``within``.

    The sub-rules' alerts of a key are taken in time order; at each one, if every sub-rule's
    latest alert is at most ``within`` before it, the combination alerts (at that time, listing
    the events of all the sub-alerts) and starts over for that key.

    Parameters
    ----------
    *rules
        The rules to combine.
    within
        Largest time between the first and the last of the sub-alerts.
    name
        Label of the alerts (default ``"all_of(a, b) within 5min"``).

    Returns
    -------
    AllOf

    Examples
    --------
    >>> all_of(threshold("hr", above=120), threshold("spo2", below=90), within="5min").name
    'all_of(hr > 120, spo2 < 90) within 5min'
    """
    members = _members(rules, "all_of")
    seconds, text = _duration(within, "within")
    label = f"all_of({', '.join(r.name for r in members)}) within {text}"
    return AllOf(members, name or label, within=seconds, within_text=text)
