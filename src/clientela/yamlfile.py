"""YAML files validated by pydantic models, with errors that give the line.

Configuration, mappings, load folders (and later scoring models and campaigns) are YAML files that
people write by hand.  A mistake must come back as one line naming the file, the line, what was
expected and, for a misspelt key, the close match.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from clientela.errors import ConfigError, suggest

__all__ = ["config_error", "load_model", "load_model_dict", "read_yaml", "validate"]

M = TypeVar("M", bound=BaseModel)


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    return _Located(mapping, lines, node.start_mark.line + 1)


class _Located(dict[Any, Any]):
    """A dict that knows the line of each of its keys."""

    def __init__(self, data: dict[Any, Any], lines: dict[Any, int], line: int):
        super().__init__(data)
        self.lines = lines
        self.line = line


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors and missing files become ConfigError."""
    if not path.exists():
        raise ConfigError("file not found", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", file=path) from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", file=path, line=line) from None


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest located node along a pydantic error location."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, _Located):
            line = node.lines.get(part, line)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the model reached by ``loc`` (for suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = _model_in(annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _format_error(model: type[BaseModel], data: Any, error: Any) -> tuple[str, int | None]:
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        hint = suggest(key, _allowed_keys(model, loc[:-1]))
        return f"unknown key '{key}'{hint}", _line_of(data, loc)
    if error["type"] == "missing":
        return f"'{path}' is required", _line_of(data, loc[:-1])
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    if error["type"] == "literal_error" and isinstance(value, str):
        # A misspelt choice (a channel, a decay, an exclusion rule): name the close one.
        expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        shown += suggest(value, expected)
    return f"'{path}': {message}{shown}", _line_of(data, loc)


def config_error(
    exc: ValidationError, model: type[BaseModel], data: Any, path: Path | None
) -> ConfigError:
    """One-line ConfigError for the first problem of a validation error, with its line."""
    message, line = _format_error(model, data, exc.errors()[0])
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, file=path, line=line if path is not None else None)


def validate(model: type[M], data: Any, path: Path) -> M:
    """Validate parsed YAML against ``model``; the first error becomes a one-line ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, model, data, path) from None


def load_model(path: Path, model: type[M]) -> M:
    """Read and validate a YAML file against a pydantic model."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError("the file is empty", file=path)
    return validate(model, data, path)


def load_model_dict(path: Path, model: type[BaseModel]) -> dict[str, Any]:
    """Read a YAML mapping for ``model``, checking its top-level keys, as a plain dict."""
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of settings at the top level", file=path, line=1)
    for key in data:
        if key not in model.model_fields:
            line = _line_of(data, (key,))
            hint = suggest(str(key), list(model.model_fields))
            raise ConfigError(f"unknown key '{key}'{hint}", file=path, line=line)
    return data  # keeps the line of every key for later validation errors
