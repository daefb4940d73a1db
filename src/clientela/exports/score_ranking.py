"""A scoring run's ranking for sales, as a CSV file or an Excel workbook: the ranked customers
with their score, band, change and top reasons; in the workbook, a sheet of the run's bands
with a native Excel chart."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xlsxwriter

from clientela.exports._table_file import write_table_file
from clientela.exports._xlsx_rows import append_rows, frame_sheet

if TYPE_CHECKING:
    from clientela.services._score_ranking import Ranking

__all__ = ["write_score_ranking"]

log = logging.getLogger(__name__)

_WIDTHS = {"rank": 7, "customer_id": 14, "name": 24, "account_owner": 16, "band": 14}
_NUMBERS = ("rank", "score", "previous_score", "change", "points_1", "points_2", "points_3")


def write_score_ranking(ranking: Ranking, path: str | Path) -> Path:
    """Write ``ranking`` to ``path``: ``.csv`` (the customers) or ``.xlsx`` (sheets
    ``ranking`` and ``bands``, the latter with a chart of the run's customers per band)."""
    rows = ranking.customers.to_pandas()

    def workbook(customers: pd.DataFrame, target: Path) -> None:
        _workbook(ranking, customers, target)

    target = write_table_file(rows, path, workbook)
    log.info("wrote %d ranked customers to %s", len(rows), target)
    return target


def _workbook(ranking: Ranking, customers: pd.DataFrame, target: Path) -> None:
    # The customers are appended once the file is closed (see exports/_xlsx_rows.py): a whole
    # run of a million customers takes seconds, not minutes.
    workbook = xlsxwriter.Workbook(str(target))
    try:
        bold = workbook.add_format({"bold": True})
        number = workbook.add_format({"num_format": "#,##0.00"})
        rows = frame_sheet(
            workbook,
            "ranking",
            customers,
            formats={name: number for name in _NUMBERS if name != "rank"},
            widths=_WIDTHS,
            default_width=20,
            numeric=_NUMBERS,
            freeze=(1, 2),
            header=bold,
        )
        _bands_sheet(workbook, ranking, bold)
    finally:
        workbook.close()
    append_rows(target, [rows])


def _bands_sheet(workbook: xlsxwriter.Workbook, ranking: Ranking, bold: object) -> None:
    sheet = workbook.add_worksheet("bands")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 12)
    sheet.write_row(0, 0, ["model", ranking.model], bold)
    sheet.write_row(1, 0, ["version", ranking.version])
    sheet.write_row(2, 0, ["as of", str(ranking.as_of)])
    sheet.write_row(3, 0, ["previous run", str(ranking.previous_as_of or "-")])
    sheet.write_row(4, 0, ["customers in the run", ranking.profiles])
    sheet.write_row(5, 0, ["customers listed", len(ranking.customers)])
    sheet.write_row(7, 0, ["band", "customers"], bold)
    first = 8
    for offset, (band, count) in enumerate(ranking.bands.items()):
        sheet.write_row(first + offset, 0, [band, count])
    last = first + max(len(ranking.bands), 1) - 1
    chart = workbook.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "Customers",
            "categories": ["bands", first, 0, last, 0],
            "values": ["bands", first, 1, last, 1],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": f"{ranking.model} as of {ranking.as_of}: customers per band"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": "customers", "num_format": "#,##0"})
    sheet.insert_chart(0, 3, chart)
