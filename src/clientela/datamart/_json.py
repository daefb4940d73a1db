"""Reading one key of a JSON object held as text, with each backend's own JSON function.

Ibis's JSON operations parse the document once per use and, on PostgreSQL, compile to a
``VARIADIC`` call the server rejects; each backend's native function reads a key in one call.
Each value comes back as text: a string's content, or the JSON text of a number, a boolean or a
nested value; NULL when the key is absent or is JSON ``null`` (the empty string stays empty:
callers treat it as missing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

__all__ = ["JsonText", "json_text_reader"]

# (document, keys) -> an array of the keys' values as text, in the order of ``keys``
JsonText = Callable[[ir.StringValue, Sequence[str]], ir.ArrayValue]


@ibis.udf.scalar.builtin(name="json_extract_string")  # type: ignore[untyped-decorator]
def _duckdb_json_extract_strings(document: str, paths: dt.Array[dt.String]) -> dt.Array[dt.String]:
    """DuckDB's json_extract_string(document, [path, ...]): the document parsed once."""


@ibis.udf.scalar.builtin(name="json_extract_path_text")  # type: ignore[untyped-decorator]
def _postgres_json_extract_path_text(document: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL's json_extract_path_text(document, key)."""


def _duckdb(document: ir.StringValue, keys: Sequence[str]) -> ir.ArrayValue:
    paths = ['$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in keys]
    values: ir.ArrayValue = _duckdb_json_extract_strings(
        document, ibis.literal(paths, type="array<string>")
    )
    return values


def _postgres(document: ir.StringValue, keys: Sequence[str]) -> ir.ArrayValue:
    parsed = document.cast("json")
    values: ir.ArrayValue = ibis.array(
        [_postgres_json_extract_path_text(parsed, key) for key in keys]
    )
    return values


def json_text_reader(kind: Literal["duckdb", "postgres"]) -> JsonText:
    """The function that reads keys of a JSON object held as text on backend ``kind``: an
    array of their values (on DuckDB, from one parse of the document)."""
    return {"duckdb": _duckdb, "postgres": _postgres}[kind]
