"""What every workbook (and HTML page) export checks before it writes."""

from __future__ import annotations

from pathlib import Path

from clientela.errors import ConfigError

__all__ = ["html_target", "workbook_target"]


def workbook_target(path: str | Path) -> Path:
    """``path`` as the .xlsx file to write; ConfigError when it cannot be one."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ConfigError(f"the workbook name must end in .xlsx, got '{target.name}'")
    if not target.parent.exists():
        raise ConfigError(f"the folder of the workbook {target} does not exist")
    return target


def html_target(path: str | Path) -> Path:
    """``path`` as the .html page to write; ConfigError when it cannot be one."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"the page name must end in .html, got '{target.name}'")
    if not target.parent.exists():
        raise ConfigError(f"the folder of the page {target} does not exist")
    return target
