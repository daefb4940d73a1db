"""Where each table column comes from, checked against a file's header before anything loads."""

from __future__ import annotations

from dataclasses import dataclass

from clientela.datamart.ingest._mapping import ColumnMapping, Located, normalise_name
from clientela.datamart.ingest._readers import RawSource
from clientela.datamart.schema import TableSpec
from clientela.errors import SchemaMismatchError, suggest

__all__ = ["Origins", "resolve_origins", "unique_names"]


@dataclass(frozen=True)
class Origins:
    """The resolved mapping: table column -> ColumnMapping, and source name -> SQL column."""

    columns: dict[str, ColumnMapping]
    sources: dict[str, str]  # source column name -> column of the working query
    ignored: tuple[str, ...]
    unpivoted: tuple[str, ...]  # positional columns turned into rows


def _derivable(spec: TableSpec, column: str, columns: dict[str, ColumnMapping]) -> bool:
    if column == spec.key and spec.key_from:
        return True
    if spec.name == "transactions" and column == "amount":
        return "quantity" in columns and "unit_price" in columns
    return False


def resolve_origins(spec: TableSpec, located: Located | None, raw: RawSource) -> Origins:
    """Match the mapping (or, without one, the column names) to the file's header.

    A header that does not fit raises SchemaMismatchError before anything is written.
    """
    mapping = located.mapping if located is not None else None
    header = unique_names(raw.columns)
    sources = {name: f"s{i}" for i, name in enumerate(header)}
    unpivoted: tuple[str, ...] = ()
    missing: list[str] = []
    if mapping is not None and mapping.unpivot is not None:
        missing += [c for c in mapping.unpivot.columns if c not in sources]
        unpivoted = tuple(sources.pop(c) for c in mapping.unpivot.columns if c in sources)
        sources[mapping.unpivot.attribute] = "u_attribute"
        sources[mapping.unpivot.value] = "u_value"

    columns: dict[str, ColumnMapping] = {}
    if mapping is not None:
        assert located is not None
        for target in mapping.columns:
            if target not in spec.columns:
                raise located.error(
                    f"table '{spec.name}' has no column '{target}'{suggest(target, spec.columns)}"
                    f"; its columns are: {', '.join(spec.columns)}",
                    target,
                )
            columns[target] = mapping.column(target)
    used = {c.source for c in columns.values() if c.source is not None}
    # Columns the mapping leaves out are matched by name, as without a mapping.
    by_name = {normalise_name(name): name for name in sources if name not in used}
    for target in spec.columns:
        if target not in columns and target in by_name:
            columns[target] = ColumnMapping(source=by_name[target])
    missing += [
        c.source for c in columns.values() if c.source is not None and c.source not in sources
    ]
    for target in spec.required:
        if target not in columns and not _derivable(spec, target, columns):
            missing.append(target)
    if spec.key not in columns and not spec.key_from:
        missing.append(spec.key)

    used = {c.source for c in columns.values() if c.source is not None}
    expr_text = " ".join(c.expr for c in columns.values() if c.expr)
    unused = [
        name
        for name in header
        if name not in used
        and name not in (mapping.unpivot.columns if mapping and mapping.unpivot else [])
        and name not in expr_text
    ]
    strict = mapping is not None and mapping.extra_columns == "error"
    if missing or (strict and unused):
        raise SchemaMismatchError(
            file=raw.name, missing=_dedupe(missing), unexpected=unused, hint=_hint(raw, missing)
        )
    return Origins(columns, sources, tuple(unused), unpivoted)


def _hint(raw: RawSource, missing: list[str]) -> str:
    if raw.kind != "text":
        return ""
    if raw.detected_delimiter and raw.detected_delimiter != raw.delimiter:
        shown = "whitespace" if raw.detected_delimiter == "whitespace" else raw.detected_delimiter
        shown = "\\t" if shown == "\t" else shown
        return (
            f"The header looks '{shown}'-separated: set 'delimiter: \"{shown}\"' in the mapping "
            "(or leave it out to detect it)."
        )
    lowered = {normalise_name(c) for c in raw.columns}
    close = [m for m in missing if normalise_name(m) in lowered]
    if close:
        return f"Names differ only in case or spacing: {', '.join(close)}."
    return ""


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count + 1}")
    return out


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
