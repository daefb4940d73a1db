"""What every workbook export checks before it writes."""

from __future__ import annotations

from pathlib import Path

from clientela.errors import ConfigError

__all__ = ["workbook_target"]


def workbook_target(path: str | Path) -> Path:
    """``path`` as the .xlsx file to write; ConfigError when it cannot be one."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ConfigError(f"the workbook name must end in .xlsx, got '{target.name}'")
    if not target.parent.exists():
        raise ConfigError(f"the folder of the workbook {target} does not exist")
    return target
