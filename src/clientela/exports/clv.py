"""Per-customer lifetime value as a CSV file or an Excel workbook."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from clientela.errors import ConfigError
from clientela.exports._workbook import workbook_target

__all__ = ["write_clv_customers"]

log = logging.getLogger(__name__)


def write_clv_customers(customers: pd.DataFrame, path: str | Path) -> Path:
    """Write one row per customer to ``path``: ``.csv`` or ``.xlsx`` (one sheet, ``clv``)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".xlsx":
        target = workbook_target(target)
        with pd.ExcelWriter(target, engine="xlsxwriter") as writer:
            customers.to_excel(writer, sheet_name="clv", index=False)
            sheet = writer.sheets["clv"]
            sheet.freeze_panes(1, 1)
            sheet.set_column(0, len(customers.columns) - 1, 16)
    elif suffix == ".csv":
        if not target.parent.exists():
            raise ConfigError(f"the folder of the file {target} does not exist")
        customers.to_csv(target, index=False)
    else:
        raise ConfigError(f"the output file must end in .csv or .xlsx, got '{target.name}'")
    log.info("wrote %d customers' lifetime value to %s", len(customers), target)
    return target
