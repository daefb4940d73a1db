"""Every customer a predictive model scored, as a CSV file or an Excel workbook: the profile,
the probability, the decile and the reasons raising and lowering the score."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import xlsxwriter

from clientela.exports._table_file import write_table_file
from clientela.exports._xlsx_rows import BulkRows, append_rows

__all__ = ["write_model_scores"]

log = logging.getLogger(__name__)

_WIDTHS = {"profile_id": 16, "probability": 12, "decile": 8}


def write_model_scores(customers: pd.DataFrame, path: str | Path) -> Path:
    """Write one row per customer to ``path``: ``.csv`` or ``.xlsx`` (one sheet, ``scores``)."""
    target = write_table_file(customers, path, _workbook)
    log.info("wrote %d scored customers to %s", len(customers), target)
    return target


def _workbook(customers: pd.DataFrame, target: Path) -> None:
    # The rows are appended once the file is closed (see exports/_xlsx_rows.py): a population
    # of 100,000 customers takes seconds, not minutes.
    workbook = xlsxwriter.Workbook(str(target))
    columns = [str(c) for c in customers.columns]
    try:
        bold = workbook.add_format({"bold": True})
        probability = workbook.add_format({"num_format": "0.0000"})
        sheet = workbook.add_worksheet("scores")
        formats = [probability if name == "probability" else None for name in columns]
        for col, (name, cell_format) in enumerate(zip(columns, formats, strict=True)):
            sheet.set_column(col, col, _WIDTHS.get(name, 48), cell_format)
        sheet.write_row(0, 0, columns, bold)
        sheet.freeze_panes(1, 1)
        if len(customers):
            sheet.autofilter(0, 0, len(customers), len(columns) - 1)
        index = sheet.index
    finally:
        workbook.close()
    numeric = [name in ("probability", "decile") for name in columns]
    values = [
        customers[name].astype("object").where(customers[name].notna(), None).tolist()
        for name in columns
    ]
    styles = [None if fmt is None else fmt.xf_index for fmt in formats]
    append_rows(target, [BulkRows(index, 1, values, numeric, styles)])
