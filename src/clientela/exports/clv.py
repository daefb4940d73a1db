"""Per-customer lifetime value as a CSV file or an Excel workbook."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from clientela.exports._table_file import one_sheet, write_table_file

__all__ = ["write_clv_customers"]

log = logging.getLogger(__name__)


def write_clv_customers(customers: pd.DataFrame, path: str | Path) -> Path:
    """Write one row per customer to ``path``: ``.csv`` or ``.xlsx`` (one sheet, ``clv``)."""
    workbook = one_sheet("clv", (1, 1), [(0, len(customers.columns) - 1, 16)])
    target = write_table_file(customers, path, workbook)
    log.info("wrote %d customers' lifetime value to %s", len(customers), target)
    return target
