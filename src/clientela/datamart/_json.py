"""Reading one key of a JSON object held as text, with each backend's own JSON function.

Ibis's JSON operations parse the document once per use and, on PostgreSQL, compile to a
``VARIADIC`` call the server rejects; each backend's native function reads a key in one call.
The value comes back as text: a string's content, or the JSON text of a number, a boolean or
a nested value; NULL when the key is absent, is JSON ``null`` or is the empty string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

__all__ = ["JsonText", "json_text_reader"]

# (document, key) -> the key's value as text
JsonText = Callable[[ir.StringValue, str], ir.StringValue]


@ibis.udf.scalar.builtin(name="json_extract_string")  # type: ignore[untyped-decorator]
def _duckdb_json_extract_string(document: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's json_extract_string(document, path)."""


@ibis.udf.scalar.builtin(name="json_extract_path_text")  # type: ignore[untyped-decorator]
def _postgres_json_extract_path_text(document: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL's json_extract_path_text(document, key)."""


def _duckdb(document: ir.StringValue, key: str) -> ir.StringValue:
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    value: ir.StringValue = _duckdb_json_extract_string(document, path).nullif("")
    return value


def _postgres(document: ir.StringValue, key: str) -> ir.StringValue:
    value: ir.StringValue = _postgres_json_extract_path_text(document.cast("json"), key).nullif("")
    return value


def json_text_reader(kind: Literal["duckdb", "postgres"]) -> JsonText:
    """The function that reads a key of a JSON object held as text on backend ``kind``."""
    return {"duckdb": _duckdb, "postgres": _postgres}[kind]
