"""Look-alike customers as a CSV file or an Excel workbook."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from clientela.exports._table_file import one_sheet, write_table_file

__all__ = ["write_lookalikes"]

log = logging.getLogger(__name__)

# Rank, profile and score narrow; the closest traits wide.
_WORKBOOK = one_sheet("lookalikes", (1, 2), [(0, 2, 14), (3, 3, 90)])


def write_lookalikes(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write the ranked look-alikes to ``path``: ``.csv`` or ``.xlsx`` (sheet ``lookalikes``)."""
    target = write_table_file(rows, path, _WORKBOOK)
    log.info("wrote %d look-alikes to %s", len(rows), target)
    return target
