"""Mapping files: how a company's export becomes rows of a datamart table.

A mapping is a YAML file validated by the pydantic models below (unknown keys are errors that
name the line and the close match).  Without a mapping, source columns are matched to table
columns by normalised name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from clientela.errors import ConfigError, suggest
from clientela.yamlfile import read_yaml, validate

__all__ = [
    "ColumnMapping",
    "Mapping",
    "Source",
    "SourcesFile",
    "Unpivot",
    "load_mapping",
    "load_sources",
    "normalise_name",
]

DEFAULT_NULL_VALUES = ("", "NULL", "null", "N/A", "NaN")


def normalise_name(name: str) -> str:
    """Case-insensitive name with spaces, dashes and dots as underscores."""
    return re.sub(r"[\s\-.]+", "_", name.strip()).lower()


class ColumnMapping(BaseModel):
    """Where one table column comes from: a source column, a constant or an expression."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    value: Any = None
    expr: str | None = None
    format: str | None = None
    map: dict[str, Any] | None = None
    default: Any = None
    on_invalid: Literal["reject", "null"] = "reject"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data

    @field_validator("map", mode="before")
    @classmethod
    def _keys_as_text(cls, mapping: Any) -> Any:
        # YAML reads `1: yes` or `true: x` as numbers and booleans; sources are text.
        if isinstance(mapping, dict):
            return {_as_text(k): v for k, v in mapping.items()}
        return mapping

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnMapping:
        origins = [
            name
            for name, given in (
                ("source", self.source is not None),
                ("value", "value" in self.model_fields_set),
                ("expr", self.expr is not None),
            )
            if given
        ]
        if len(origins) > 1:
            raise ValueError(f"give only one of source, value or expr (got {', '.join(origins)})")
        if not origins and self.default is None:
            raise ValueError("give one of source, value or expr")
        return self

    @property
    def is_constant(self) -> bool:
        return "value" in self.model_fields_set


def _as_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class Unpivot(BaseModel):
    """Turn a wide file into a long one: one row per listed column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str] = Field(min_length=1)
    attribute: str = "attribute"
    value: str = "value"


class Mapping(BaseModel):
    """A mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delimiter: str | None = None
    encoding: str | None = None
    header: bool = True
    names: list[str] | None = None
    sheet: str | None = None
    decimal: Literal[".", ","] = "."
    thousands: str | None = None
    date_format: str | None = None
    timestamp_format: str | None = None
    null_values: list[str] = Field(default_factory=lambda: list(DEFAULT_NULL_VALUES))
    extra_columns: Literal["ignore", "error"] = "ignore"
    unknown_customers: Literal["reject", "placeholder"] | None = None
    where: str | None = None
    duplicates: Literal["reject", "first", "last"] = "reject"
    columns: dict[str, ColumnMapping] = Field(default_factory=dict)
    unpivot: Unpivot | None = None

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, delimiter: str | None) -> str | None:
        if delimiter is None or delimiter == "whitespace":
            return delimiter
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise ValueError("a delimiter is one character, or 'whitespace'")
        return delimiter

    @model_validator(mode="after")
    def _names_without_header(self) -> Mapping:
        if not self.header and not self.names:
            raise ValueError("a file without a header needs 'names' for its columns")
        return self

    def column(self, target: str) -> ColumnMapping:
        return self.columns[target]


class Located:
    """A mapping with the YAML lines of its column entries, for error messages."""

    def __init__(self, mapping: Mapping, file: Path | None, lines: dict[str, int]):
        self.mapping = mapping
        self.file = file
        self.lines = lines

    def error(self, message: str, column: str | None = None) -> ConfigError:
        line = self.lines.get(column) if column is not None else None
        return ConfigError(message, file=self.file, line=line)


def load_mapping(path: Path) -> Located:
    """Read and validate a mapping file."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError("the mapping file is empty", file=path)
    columns = data.get("columns") if isinstance(data, dict) else None
    if isinstance(columns, dict):
        _check_column_keys(columns, path)
    mapping = validate(Mapping, data, path)
    lines = dict(getattr(columns, "lines", {}) or {})
    return Located(mapping, path, {str(k): v for k, v in lines.items()})


def _check_column_keys(columns: dict[Any, Any], path: Path) -> None:
    """Misspelt keys of a column entry, named with their line and the close match."""
    allowed = list(ColumnMapping.model_fields)
    for target, entry in columns.items():
        if not isinstance(entry, dict):
            continue
        for key in entry:
            if key not in allowed:
                line = getattr(entry, "lines", {}).get(key)
                raise ConfigError(
                    f"column '{target}': unknown key '{key}'{suggest(str(key), allowed)}; "
                    f"a column takes {', '.join(allowed)}",
                    file=path,
                    line=line,
                )


class Source(BaseModel):
    """One file of a load folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    table: str
    mapping: str | None = None


class SourcesFile(BaseModel):
    """``sources.yaml``: the files a load folder holds, loaded in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[Source] = Field(min_length=1)
    # Scoring model files (paths relative to the folder) registered after the data loads.
    scoring_models: list[str] = []


def load_sources(folder: Path) -> SourcesFile:
    from clientela.yamlfile import load_model

    if not folder.is_dir():
        raise ConfigError("not a folder", file=folder)
    path = folder / "sources.yaml"
    data = read_yaml(path)
    entries = data.get("sources") if isinstance(data, dict) else None
    allowed = list(Source.model_fields)
    for entry in entries if isinstance(entries, list) else []:
        for key in entry if isinstance(entry, dict) else []:
            if key not in allowed:
                raise ConfigError(
                    f"unknown key '{key}'{suggest(str(key), allowed)}",
                    file=path,
                    line=getattr(entry, "lines", {}).get(key),
                )
    return load_model(path, SourcesFile)
