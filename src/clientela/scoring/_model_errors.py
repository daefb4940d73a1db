"""A scoring-model file's validation errors as one line that names the file and the line.

pydantic reports a misspelt key twice (the unknown key, and the field it leaves missing), and a
value that fits no branch of a union once per branch (``decay: none`` or a mapping).  The error a
person needs first is the misspelling, with its close match, and then the problem of the branch
the value was written for; a problem between several entries (bands that overlap, a rule name
used twice) points at the entry concerned rather than at the top of the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from clientela.errors import ConfigError
from clientela.yamlfile import _format_error, _line_of

__all__ = ["ModelProblemError", "model_error"]

Location = tuple[int | str, ...]

# How pydantic names the branches of a union in an error's location.
_SCALAR_BRANCHES = frozenset({"str", "int", "float", "bool"})


class ModelProblemError(ValueError):
    """A problem between several entries of a model file, and the entry it is found at."""

    def __init__(self, message: str, *where: int | str) -> None:
        super().__init__(message)
        self.where: Location = where


def _is_branch(part: int | str) -> bool:
    return isinstance(part, str) and ("[" in part or part in _SCALAR_BRANCHES)


def _wrong_branch(error: dict[str, Any]) -> bool:
    """True for the error of a union branch that the value was plainly not written for."""
    branches = [p for p in error["loc"] if _is_branch(p)]
    if not branches:
        return False
    branch = str(branches[-1])
    if branch.startswith("literal[") and isinstance(error.get("input"), dict):
        return True
    return error["type"] in ("model_type", "dict_type")


def model_error(
    exc: ValidationError, model: type[BaseModel], data: Any, path: Path | None
) -> ConfigError:
    """One-line ConfigError for the problem to fix first, with its line."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    misspelt = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    relevant = [
        e
        for e in errors
        if not _wrong_branch(e)
        and not (e["type"] == "missing" and tuple(e["loc"][:-1]) in misspelt)
    ] or errors
    relevant.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = relevant[0]
    loc: Location = tuple(p for p in first["loc"] if not _is_branch(p))
    first["loc"] = loc
    problem = (first.get("ctx") or {}).get("error")
    if isinstance(problem, ModelProblemError):
        message, line = str(problem), _line_of(data, (*loc, *problem.where))
    else:
        message, line = _format_error(model, data, first)
    more = len(relevant) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, file=path, line=line if path is not None else None)
