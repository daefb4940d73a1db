"""Look-alike customers as a CSV file or an Excel workbook."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from clientela.errors import ConfigError
from clientela.exports._workbook import workbook_target

__all__ = ["write_lookalikes"]

log = logging.getLogger(__name__)


def write_lookalikes(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write the ranked look-alikes to ``path``: ``.csv`` or ``.xlsx`` (sheet ``lookalikes``)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".xlsx":
        target = workbook_target(target)
        with pd.ExcelWriter(target, engine="xlsxwriter") as writer:
            rows.to_excel(writer, sheet_name="lookalikes", index=False)
            sheet = writer.sheets["lookalikes"]
            sheet.freeze_panes(1, 2)
            sheet.set_column(0, 2, 14)
            sheet.set_column(3, 3, 90)
    elif suffix == ".csv":
        if not target.parent.exists():
            raise ConfigError(f"the folder of the file {target} does not exist")
        rows.to_csv(target, index=False)
    else:
        raise ConfigError(f"the output file must end in .csv or .xlsx, got '{target.name}'")
    log.info("wrote %d look-alikes to %s", len(rows), target)
    return target
