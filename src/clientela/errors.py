"""The error tree of clientela.

Every error a user can meet derives from :class:`ClientelaError`; the CLI maps the tree to exit
code 2 and one line on stderr in one place (``clientela.cli``), and the API will map it to HTTP
statuses in one place.  Anything else that escapes is a bug and keeps its traceback.

::

    ClientelaError
     +-- ConfigError          a settings value, configuration or mapping file is wrong
     +-- DataError            input data breaks a rule (file, line, column, value, rule)
     |    +-- SchemaMismatchError   a header does not fit the mapping (missing / unexpected)
     |    +-- InsufficientDataError too few examples or positives to train a model
     +-- NotFoundError        a customer, table, file or model that does not exist
     +-- NotFittedError       a model used before it was fitted
     +-- BackendError         the datamart cannot be reached, is locked, or is not initialised
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "BackendError",
    "ClientelaError",
    "ConfigError",
    "DataError",
    "InsufficientDataError",
    "NotFittedError",
    "NotFoundError",
    "SchemaMismatchError",
    "suggest",
]


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


class ClientelaError(Exception):
    """Root of every error clientela raises on purpose."""


class ConfigError(ClientelaError):
    """A setting, a configuration file or a mapping file is wrong.

    ``file`` and ``line`` locate the problem in a YAML file when known.
    """

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}, line {self.line}"
            where += ": "
        return where + self.message


class DataError(ClientelaError):
    """Input data breaks a rule.

    The message names the file, the line, the column, the value and the rule broken, as far as
    they are known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        rule: str | None = None,
    ):
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.value = value
        self.rule = rule
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        where = ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message


class SchemaMismatchError(DataError):
    """A file's header does not fit the mapping: nothing was written."""

    def __init__(
        self,
        *,
        file: str | Path,
        missing: list[str],
        unexpected: list[str],
        hint: str = "",
    ):
        self.missing = missing
        self.unexpected = unexpected
        message = "the header does not fit the mapping; nothing was loaded."
        message += " Missing: " + (", ".join(repr(c) for c in missing) if missing else "none")
        message += ". Unexpected: " + (
            ", ".join(repr(c) for c in unexpected) if unexpected else "none"
        )
        message += "." + (f" {hint}" if hint else "")
        super().__init__(message, file=file, rule="header")


class InsufficientDataError(DataError):
    """Too few examples, positives or negatives to train (or evaluate) a model.

    ``counts`` says how many there are and ``needed`` how many are needed, by what is counted.
    """

    def __init__(self, message: str, *, counts: dict[str, int], needed: dict[str, int]):
        self.counts = counts
        self.needed = needed
        super().__init__(message, rule="sufficiency")


class NotFoundError(ClientelaError):
    """Something asked for by name or key does not exist."""


class NotFittedError(ClientelaError):
    """A model was used before ``fit``."""


class BackendError(ClientelaError):
    """The datamart cannot be used: unreachable server, locked file, missing schema."""
