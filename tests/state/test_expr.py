"""The safe condition language: what it refuses, how it says so, and what it computes."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamnb.state._expr import ExpressionError, compile_condition

COLS = {
    "hr": np.array([100.0, 130.0, np.nan, 121.0]),
    "spo2": np.array([95.0, 88.0, 85.0, np.nan]),
    "kind": np.array(["quiz", "play", None, "post"], dtype=object),
    "ok": np.array([True, False, True, False]),
}


def ev(text, cols=COLS):
    return compile_condition(text).evaluate(cols).tolist()


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("hr.real > 1", "attribute access 'hr.real'"),
        ("hr.__class__ > 1", "attribute access 'hr.__class__'"),
        ("().__class__.__bases__[0]", "subscript"),
        ("abs(hr) > 3", "function call 'abs(hr)'"),
        ("__import__('os').system('true')", "function call"),
        ("open('/etc/passwd')", "function call"),
        ("__builtins__ > 1", "name '__builtins__'"),
        ("_secret > 1", "name '_secret'"),
        ("(lambda: 1)() > 0", "function call"),
        ("lambda x: x", "lambda 'lambda x: x'"),
        ("import os", "a statement (import)"),
        ("from os import path", "a statement (importfrom)"),
        ("hr = 3", "a statement (assign)"),
        ("del hr", "a statement (delete)"),
        ("hr[0] > 1", "subscript 'hr[0]'"),
        ("[x for x in hr] == 1", "comprehension"),
        ("(y := 3) > 1", "assignment"),
        ("f'{hr}' == 'x'", "f-string"),
        ("hr if ok else spo2", "if/else expression"),
        ("{1: 2} == hr", "dict"),
        ("kind in ('a', hr)", "'in' with"),
        ("hr is 3", "'is' with '3'"),
        ("hr @ spo2 > 1", "operator MatMult"),
        ("b'x' == kind", "a bytes constant"),
    ],
)
def test_dangerous_or_unknown_syntax_is_refused_naming_the_token(text, token):
    with pytest.raises(ExpressionError) as info:
        compile_condition(text)
    assert token in str(info.value)
    assert repr(text.strip()) in str(info.value) or "statement" in str(info.value)


def test_refused_conditions_run_nothing(tmp_path):
    marker = tmp_path / "ran"
    for text in (
        f"__import__('pathlib').Path('{marker}').touch()",
        f"open('{marker}', 'w')",
    ):
        with pytest.raises(ExpressionError):
            compile_condition(text)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "condition is empty"),
        ("hr >", "cannot parse condition 'hr >'"),
        ("hr + 1", "is arithmetic, not true/false"),
        ("3", "is a constant"),
        ("x" * 3000, "longer than 2000 characters"),
        ("(" * 500 + "hr" + ")" * 500 + " > 1", "cannot parse"),
    ],
)
def test_bad_conditions_get_clear_errors(text, message):
    with pytest.raises(ExpressionError, match=message):
        compile_condition(text)


def test_not_a_string():
    with pytest.raises(TypeError, match="a condition is a string"):
        compile_condition(3)  # type: ignore[arg-type]


def test_huge_powers_are_floats_not_a_denial_of_service():
    t0 = time.perf_counter()
    assert ev("10 ** 10 ** 10 > hr") == [True, True, False, True]
    assert time.perf_counter() - t0 < 1


def test_comparisons_missing_values_and_logic():
    assert ev("hr > 120") == [False, True, False, True]
    assert ev("hr > 120 and spo2 < 90") == [False, True, False, False]
    assert ev("hr > 120 or spo2 < 90") == [False, True, True, True]
    assert ev("not hr > 120") == [True, False, True, False]
    assert ev("(hr > 120) & ~(spo2 < 90)") == [False, False, False, True]
    assert ev("(hr > 120) | (spo2 < 86)") == [False, True, True, True]
    assert ev("100 <= hr < 125") == [True, False, False, True]
    assert ev("hr != 100") == [False, True, True, True]  # NaN differs from everything
    assert ev("hr is None") == [False, False, True, False]
    assert ev("spo2 is not None") == [True, True, True, False]
    assert ev("hr - spo2 > 20") == [False, True, False, False]
    assert ev("hr / 0 > 1") == [True, True, False, True]  # inf, no warning
    assert ev("-hr < -120") == [False, True, False, True]
    assert ev("hr % 2 == 1") == [False, False, False, True]


def test_strings_booleans_and_membership():
    assert ev("kind == 'quiz'") == [True, False, False, False]
    assert ev("kind in ('quiz', 'post')") == [True, False, False, True]
    assert ev("kind not in ['quiz']") == [False, True, True, True]
    assert ev("kind is None") == [False, False, True, False]
    assert ev("ok") == [True, False, True, False]
    assert ev("ok and hr > 99") == [True, False, False, False]
    assert ev("True") == [True] * 4 or ev("True") == [True]


def test_columns_are_listed_once_in_order():
    assert compile_condition("b > 1 and a < 2 or b == 3").columns == ("b", "a")


def test_pandas_columns_and_records_give_the_same_answer():
    df = pd.DataFrame({"hr": [100, None, 130], "kind": ["a", None, "b"]})
    cond = compile_condition("hr > 110 or kind == 'a'")
    batch = cond.evaluate(df).tolist()
    rows = [cond.evaluate({c: [r[c]] for c in ("hr", "kind")})[0] for r in df.to_dict("records")]
    one_by_one = [
        cond.evaluate({"hr": [v], "kind": [k]})[0]
        for v, k in [(100, "a"), (None, None), (130, "b")]
    ]
    assert batch == rows == one_by_one == [True, False, True]


def test_evaluation_errors_name_the_condition():
    cond = compile_condition("kind > 3")
    with pytest.raises(ValueError, match="cannot evaluate condition 'kind > 3'"):
        cond.evaluate({"kind": np.array(["a"], dtype=object)})
    with pytest.raises(KeyError, match="column 'kind' missing"):
        cond.evaluate({"hr": np.array([1.0])})
    with pytest.raises(ValueError, match="not true/false"):
        compile_condition("hr").evaluate({"hr": np.array([1.0])})


# ----------------------------------------------------------- against Python, row by row
names = st.sampled_from(["a", "b"])
numbers = st.integers(-5, 5).map(str)
atom = st.one_of(names, numbers)
arith = st.recursive(
    atom,
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
    max_leaves=4,
)
comparison = st.tuples(arith, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), arith).map(
    " ".join
)
condition = st.recursive(
    comparison,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda c: f"(not {c})"),
    ),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(condition, st.lists(st.tuples(st.integers(-4, 4), st.integers(-4, 4)), min_size=1))
def test_conditions_agree_with_python_on_numbers(text, rows):
    cols = {"a": np.array([float(a) for a, _ in rows]), "b": np.array([float(b) for _, b in rows])}
    got = compile_condition(text).evaluate(cols).tolist()
    code = compile(text, "<test>", "eval")  # the test's own reference, on generated text
    want = [bool(eval(code, {"__builtins__": {}}, {"a": a, "b": b})) for a, b in rows]
    assert got == want


def test_nan_never_satisfies_an_ordering():
    for op in ("<", "<=", ">", ">=", "=="):
        assert ev(f"hr {op} 121")[2] is False
    assert math.isnan(COLS["hr"][2])
