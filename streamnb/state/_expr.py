"""Safe conditions over columns: ``"hr > 135"``, ``"spo2 < 90 and hr > 120"``, ``"kind == 'quiz'"``.

A condition is parsed with :mod:`ast` and checked against a whitelist before anything runs:
column names, numbers, strings, ``True``/``False``/``None``, comparisons (``< <= > >= == !=``,
chained ``90 < hr < 120``, ``in``/``not in`` a tuple or list of constants, ``is None`` and
``is not None`` for missing values), ``and``/``or``/``not`` (and pandas' ``& | ~``) and
arithmetic ``+ - * / // % **``. Everything else (attribute access, subscripts, calls, lambdas,
comprehensions, names starting with ``_``) is rejected with an :class:`ExpressionError` that
names the offending token. Nothing is ever passed to ``eval`` or ``exec``: the checked tree is
walked and evaluated with numpy on whole columns at once.

Semantics: numbers are float64 (so ``10 ** 400`` is ``inf``, never a huge integer); a missing
value (``None``/NaN) satisfies no comparison except ``is None`` and ``!=``.

>>> cond = compile_condition("spo2 < 90 and hr > 120")
>>> cond.columns
('spo2', 'hr')
>>> cond.evaluate({"spo2": np.array([88, 95, np.nan]), "hr": np.array([130, 130, 130])}).tolist()
[True, False, False]
>>> compile_condition("hr.real > 1")
Traceback (most recent call last):
...
streamnb.state._expr.ExpressionError: attribute access 'hr.real' is not allowed in condition \
'hr.real > 1' (at column 1); use column names, numbers, strings, comparisons, and/or/not and \
arithmetic
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Condition", "ExpressionError", "as_column", "compile_condition"]

MAX_LENGTH = 2000  # characters: longer conditions are refused before parsing

_HINT = "use column names, numbers, strings, comparisons, and/or/not and arithmetic"

_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_LOGIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.BitAnd: np.logical_and,
    ast.BitOr: np.logical_or,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_WHAT = {  # names of rejected nodes, for messages
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Call: "function call",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment",
    ast.IfExp: "if/else expression",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Starred: "star expression",
    ast.JoinedStr: "f-string",
    ast.Dict: "dict",
    ast.Set: "set",
}


class ExpressionError(ValueError):
    """A condition that cannot be parsed or uses something outside the whitelist."""


def as_column(values: Any) -> np.ndarray:
    """A column as the array conditions compute on: numbers as float64 (NaN for missing),
    booleans as bool, anything else as an object array with NaN for missing values.

    >>> as_column([1, None]).tolist(), as_column(pd.Series(["a", None])).tolist()
    ([1.0, nan], ['a', nan])
    """
    if isinstance(values, (pd.Series, pd.Index)):
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype) and not values.hasnans:
            return values.to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            return values.to_numpy(dtype="float64", na_value=np.nan)
        return values.to_numpy(dtype=object, na_value=np.nan)
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind in "iuf":
        return arr.astype("float64", copy=False)
    if kind == "b":
        return arr
    if kind == "O":
        out = arr.copy()
        out[pd.isna(out)] = np.nan
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in out):
            return out.astype("float64")  # numbers and missing values only
        return out
    return arr.astype(object)


class Condition:
    """A compiled, checked condition; ``evaluate(columns)`` gives one bool per row.

    Use :func:`compile_condition` to make one.
    """

    def __init__(self, text: str, tree: ast.Expression, columns: tuple[str, ...]) -> None:
        self.text = text
        self.columns = columns
        self._tree = tree

    def evaluate(self, columns: Mapping[str, Any], n: int | None = None) -> np.ndarray:
        """Evaluate on columns (arrays or Series, converted with :func:`as_column`).

        Raises ``KeyError`` naming a missing column and ``ValueError`` when values do not fit
        (e.g. ``'abc' > 3``).

        >>> compile_condition("kind in ('quiz', 'post')").evaluate(
        ...     {"kind": np.array(["quiz", "play", None], dtype=object)}).tolist()
        [True, False, False]
        """
        cols: dict[str, np.ndarray] = {}
        for name in self.columns:
            if name not in columns:
                raise KeyError(f"column {name!r} missing for condition {self.text!r}")
            cols[name] = as_column(columns[name])
        if n is None:
            n = len(next(iter(cols.values()))) if cols else _length(columns)
        with np.errstate(all="ignore"):
            try:
                out = _eval(self._tree.body, cols)
            except TypeError as exc:
                raise ValueError(f"cannot evaluate condition {self.text!r}: {exc}") from None
        if isinstance(out, np.ndarray):
            if out.dtype.kind != "b":
                if out.dtype.kind == "O" and all(isinstance(v, (bool, np.bool_)) for v in out):
                    out = out.astype(bool)
                else:
                    raise ValueError(
                        f"condition {self.text!r} gives {out.dtype} values, not true/false; "
                        f"compare them, e.g. '{self.text} > 0'"
                    )
            return out if out.shape == (n,) else np.broadcast_to(out, (n,)).copy()
        if isinstance(out, (bool, np.bool_)):
            return np.full(n, bool(out))
        raise ValueError(f"condition {self.text!r} is not true/false; write a comparison")

    def __call__(self, columns: Mapping[str, Any]) -> np.ndarray:
        return self.evaluate(columns)

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def _length(columns: Mapping[str, Any]) -> int:
    """Rows in ``columns`` when a condition reads none of them (``"1 < 2"``)."""
    if isinstance(columns, pd.DataFrame):
        return len(columns)
    for values in columns.values():
        return len(values)
    return 1


def compile_condition(text: str) -> Condition:
    """Parse and check a condition; raises :class:`ExpressionError` naming what is not allowed.

    Parameters
    ----------
    text
        The condition, e.g. ``"hr > 120 and spo2 < 90"``.

    Returns
    -------
    Condition
        ``.text``, ``.columns`` (the column names used, in order) and ``.evaluate(columns)``.

    Examples
    --------
    >>> compile_condition("90 < hr <= 120").evaluate({"hr": np.array([90, 100, 121])}).tolist()
    [False, True, False]
    >>> compile_condition("__import__('os')")
    Traceback (most recent call last):
    ...
    streamnb.state._expr.ExpressionError: function call "__import__('os')" is not allowed in \
condition "__import__('os')" (at column 1); use column names, numbers, strings, comparisons, \
and/or/not and arithmetic
    """
    if not isinstance(text, str):
        raise TypeError(f"a condition is a string such as 'hr > 120', got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"condition is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError("condition is empty; write one such as 'hr > 120'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        statement = _statement(text.strip())
        if statement:
            raise ExpressionError(
                f"{statement} {text.strip()!r} is not allowed: a condition is one expression "
                "such as 'hr > 120 and spo2 < 90'"
            ) from None
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(
            f"cannot parse condition {text!r}: {exc.msg}{where}; "
            "a condition is one expression such as 'hr > 120 and spo2 < 90'"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(f"cannot parse condition {text!r}: {exc}") from None
    columns: list[str] = []
    _check(tree.body, text.strip(), columns)
    body = tree.body
    if isinstance(body, (ast.BinOp, ast.UnaryOp)) and not _is_logical(body):
        raise ExpressionError(
            f"condition {text!r} is arithmetic, not true/false; compare it, e.g. '{text} > 0'"
        )
    if isinstance(body, ast.Constant) and not isinstance(body.value, bool):
        raise ExpressionError(f"condition {text!r} is a constant, not true/false")
    return Condition(text.strip(), tree, tuple(dict.fromkeys(columns)))


def _statement(text: str) -> str | None:
    """The kind of statement ``text`` is (``"import"``, ...) if it parses as one."""
    try:
        module = ast.parse(text, mode="exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    if module.body and not isinstance(module.body[0], ast.Expr):
        return f"a statement ({type(module.body[0]).__name__.lower()})"
    return None


def _is_logical(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.Not, ast.Invert))
    if isinstance(node, ast.BinOp):
        return type(node.op) in _LOGIC
    return True


def _reject(node: ast.AST, text: str, what: str | None = None, why: str = _HINT) -> ExpressionError:
    what = what or _WHAT.get(type(node), f"'{type(node).__name__}'")
    segment = ast.get_source_segment(text, node) or ""
    token = f" {segment!r}" if segment else ""
    col = getattr(node, "col_offset", None)
    at = f" (at column {col + 1})" if col is not None else ""
    return ExpressionError(f"{what}{token} is not allowed in condition {text!r}{at}; {why}")


def _check(node: ast.AST, text: str, columns: list[str]) -> None:
    """Raise :class:`ExpressionError` unless every node of ``node`` is whitelisted."""
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _reject(node, text, "name", "names starting with '_' are reserved")
        if not isinstance(node.ctx, ast.Load):
            raise _reject(node, text, "assignment")
        columns.append(node.id)
    elif isinstance(node, ast.Constant):
        if node.value is not None and not isinstance(node.value, (bool, int, float, str)):
            raise _reject(node, text, f"a {type(node.value).__name__} constant")
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, text, columns)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd, ast.Invert)):
            raise _reject(node, text, "operator")
        _check(node.operand, text, columns)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH and type(node.op) not in _LOGIC:
            raise _reject(node, text, f"operator {type(node.op).__name__}")
        _check(node.left, text, columns)
        _check(node.right, text, columns)
    elif isinstance(node, ast.Compare):
        _check(node.left, text, columns)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.Tuple, ast.List)) or not all(
                    isinstance(e, ast.Constant) for e in right.elts
                ):
                    raise _reject(right, text, "'in' with", "write 'in' with a tuple of constants")
                for e in right.elts:
                    _check(e, text, columns)
            elif isinstance(op, (ast.Is, ast.IsNot)):
                if not (isinstance(right, ast.Constant) and right.value is None):
                    raise _reject(right, text, "'is' with", "'is' only compares with None")
            elif type(op) not in _COMPARE:
                raise _reject(node, text, "comparison")
            else:
                _check(right, text, columns)
    else:
        raise _reject(node, text)


def _eval(node: ast.AST, cols: Mapping[str, np.ndarray]) -> Any:
    if isinstance(node, ast.Name):
        return cols[node.id]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        return np.float64(value)
    if isinstance(node, ast.BoolOp):
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = _truth(_eval(node.values[0], cols))
        for value in node.values[1:]:
            out = combine(out, _truth(_eval(value, cols)))
        return out
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, cols)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return np.logical_not(_truth(operand))
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, cols), _eval(node.right, cols)
        if type(node.op) in _LOGIC:
            return _LOGIC[type(node.op)](_truth(left), _truth(right))
        return _ARITH[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, cols)
        out: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                hit: Any = False
                for e in right_node.elts:
                    hit = np.logical_or(hit, _equal(left, _eval(e, cols)))
                step = np.logical_not(hit) if isinstance(op, ast.NotIn) else hit
                right = None
            elif isinstance(op, (ast.Is, ast.IsNot)):
                missing = _missing(left)
                step = np.logical_not(missing) if isinstance(op, ast.IsNot) else missing
                right = None
            else:
                right = _eval(right_node, cols)
                if isinstance(op, ast.Eq):
                    step = _equal(left, right)
                elif isinstance(op, ast.NotEq):
                    step = np.logical_not(_equal(left, right))
                else:
                    step = _order(_COMPARE[type(op)], left, right)
            out = np.logical_and(out, step)
            left = right
        return out
    raise ExpressionError(f"unexpected {type(node).__name__}")  # unreachable after _check


def _truth(value: Any) -> Any:
    """A value used as true/false: bool arrays as they are; NaN/None are false."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "b":
            return value
        if value.dtype.kind == "f":
            return np.nan_to_num(value, nan=0.0) != 0
        return np.array([bool(v) and not _is_nan(v) for v in value], dtype=bool)
    if value is None:
        return False
    return bool(value) and not _is_nan(value)


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _missing(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return np.isnan(value)
        if value.dtype.kind == "O":
            return pd.isna(value)
        return np.zeros(value.shape, dtype=bool)
    return value is None or _is_nan(value)


def _equal(left: Any, right: Any) -> Any:
    if right is None:
        return _missing(left)
    if left is None:
        return _missing(right)
    out = left == right
    if isinstance(out, np.ndarray) and out.dtype.kind == "O":
        out = out.astype(bool)
    return out


def _order(op: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """``<``-style comparison where a missing value (NaN, None) compares false."""
    if left is None or right is None:
        return False
    lo = isinstance(left, np.ndarray) and left.dtype.kind == "O"
    ro = isinstance(right, np.ndarray) and right.dtype.kind == "O"
    if not (lo or ro):
        return op(left, right)
    a = left if lo else np.broadcast_to(left, np.shape(right))
    b = right if ro else np.broadcast_to(right, np.shape(left))
    n = max(np.size(a), np.size(b))
    a = np.broadcast_to(a, (n,))
    b = np.broadcast_to(b, (n,))
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        x, y = a[i], b[i]
        if x is None or y is None or _is_nan(x) or _is_nan(y):
            continue
        out[i] = op(x, y)
    return out
