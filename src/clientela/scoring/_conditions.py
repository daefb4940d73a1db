"""Conditions of scoring rules compiled to Ibis: a predicate and the evidence it leaves.

A condition compares one value of a row (a profile field, a third-party attribute, a column or a
JSON property of a behaviour row) with a constant.  A test on a missing value is false, except
``missing: true``.  Strings compare as they are (use ``matches`` with ``(?i)`` to ignore case);
a number compared with text (third-party values are text) compares the text read as a number,
and text that does not read as the row's type (a date, a number, yes or no) compares as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from clientela.scoring.definition import Condition

__all__ = ["as_text", "evidence", "predicate"]

Resolve = Callable[[Condition], ir.Value]

_NUMBER = r"^\s*[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$"
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def predicate(condition: Condition, resolve: Resolve) -> ir.BooleanValue:
    """True where the condition holds (never NULL)."""
    if condition.op in ("all", "any"):
        parts = [predicate(part, resolve) for part in condition.parts]
        result = parts[0]
        for part in parts[1:]:
            result = (result & part) if condition.op == "all" else (result | part)
        return result
    if condition.op == "not":
        return ~predicate(condition.parts[0], resolve)
    value = resolve(condition)
    test: ir.BooleanValue = _compare(condition.op, value, condition.value).fill_null(False)
    return test


def _compare(op: str, value: ir.Value, expected: Any) -> ir.BooleanValue:
    if op == "missing":
        absent = value.isnull()
        if value.type().is_string():
            absent = absent | (value.strip() == "")
        return absent if expected else ~absent
    if op == "matches":
        return value.cast("string").re_search(str(expected))
    if op in ("in", "not_in"):
        values = list(expected)
        mixed = len({isinstance(v, str) for v in values}) > 1
        if mixed or any(isinstance(v, str) and _read_as(value, v) is None for v in values):
            words = [v if isinstance(v, str) else f"{v:g}" for v in values]
            found = as_text(value).isin(words)
        else:
            found = _as_comparable(value, values[0]).isin([_constant(value, v) for v in values])
        return found if op == "in" else ~found
    if op == "between":
        low, high = expected
        number = _as_comparable(value, low)
        return (number >= _constant(value, low)) & (number <= _constant(value, high))
    comparable = _as_comparable(value, expected)
    constant = _constant(value, expected)
    comparisons: dict[str, Callable[[], ir.BooleanValue]] = {
        "equals": lambda: comparable == constant,
        "not_equals": lambda: comparable != constant,
        "at_least": lambda: comparable >= constant,
        "at_most": lambda: comparable <= constant,
        "above": lambda: comparable > constant,
        "below": lambda: comparable < constant,
    }
    return comparisons[op]()


def _as_comparable(value: ir.Value, expected: Any) -> ir.Value:
    """The row's value in the type of the constant it is compared with."""
    dtype = value.type()
    if isinstance(expected, bool):
        if dtype.is_boolean():
            return value
        return value.cast("string").lower().isin(list(_TRUE))
    if isinstance(expected, int | float):
        if dtype.is_numeric():
            return value
        if dtype.is_boolean():
            return value.cast("int64")
        text = value.cast("string")
        return ibis.ifelse(text.re_search(_NUMBER), text.strip().cast("float64"), ibis.null())
    if isinstance(expected, str) and _read_as(value, expected) is None:
        return as_text(value)  # text that is no date, number or yes/no: compared as text
    if dtype.is_date() or dtype.is_timestamp() or dtype.is_numeric() or dtype.is_boolean():
        return value
    return value.cast("string")


def _constant(value: ir.Value, expected: Any) -> Any:
    if isinstance(expected, str):
        typed = _read_as(value, expected)
        return expected if typed is None else typed
    return expected


def _read_as(value: ir.Value, text: str) -> Any:
    """``text`` read in the type of the row's value; None when it does not read as one."""
    dtype = value.type()
    try:
        if dtype.is_date():
            return ibis.literal(dt.date.fromisoformat(text), type="date")
        if dtype.is_timestamp():
            return ibis.literal(dt.datetime.fromisoformat(text), type="timestamp")
        if dtype.is_numeric():
            return float(text)
    except ValueError:
        return None
    if dtype.is_boolean():
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return text


def evidence(condition: Condition, resolve: Resolve) -> ir.StringValue:
    """What the row held for each value the condition read, e.g. ``region = San José``."""
    parts: list[ir.StringValue] = []
    for leaf in condition.leaves():
        value = resolve(leaf)
        shown = as_text(value).fill_null("(missing)")
        parts.append(ibis.literal(f"{_label(leaf)} = ") + shown)
    result = parts[0]
    for part in parts[1:]:
        result = result + ibis.literal("; ") + part
    return result


def as_text(value: ir.Value) -> ir.StringValue:
    """A value as text, the same on every backend (PostgreSQL writes 10.0 as ``10``, DuckDB as
    ``10.0``): whole floating-point numbers without a fraction."""
    text: ir.StringValue = value.cast("string")
    if value.type().is_floating():
        number: ir.FloatingValue = value
        whole = (number == number.floor()) & (number.abs() < 1e15)
        text = ibis.ifelse(whole, number.cast("int64").cast("string"), text)
    return text


def _label(leaf: Condition) -> str:
    if leaf.subject_kind == "attribute":
        return f"attribute {leaf.subject}"
    if leaf.subject_kind == "property":
        return f"property {leaf.subject}"
    return str(leaf.subject)
