"""Every customer a predictive model scored, as a CSV file or an Excel workbook: the profile,
the probability, the decile and the reasons raising and lowering the score."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import xlsxwriter

from clientela.exports._table_file import write_table_file
from clientela.exports._xlsx_rows import append_rows, frame_sheet

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
    try:
        rows = frame_sheet(
            workbook,
            "scores",
            customers,
            formats={"probability": workbook.add_format({"num_format": "0.0000"})},
            widths=_WIDTHS,
            default_width=48,
            numeric=("probability", "decile"),
            freeze=(1, 1),
            header=workbook.add_format({"bold": True}),
        )
    finally:
        workbook.close()
    append_rows(target, [rows])
