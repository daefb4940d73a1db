"""Progress reporting without printing.

Library code that a user may wait on takes a :class:`Progress` and reports steps to it; the CLI
passes one that draws Rich progress bars, tests and the API pass :data:`NO_PROGRESS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

__all__ = ["NO_PROGRESS", "Progress", "ProgressTask"]


class ProgressTask(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def update(self, *, total: float | None = None, description: str | None = None) -> None: ...


class Progress(Protocol):
    def task(
        self, description: str, total: float | None = None
    ) -> contextlib.AbstractContextManager[ProgressTask]: ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        return None

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        return None


class _NullProgress:
    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        yield _NullTask()


NO_PROGRESS: Progress = _NullProgress()
