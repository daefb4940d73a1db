"""A table written as a .csv file or an .xlsx workbook: the checks of its path and the writing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from clientela.errors import ConfigError
from clientela.exports._workbook import workbook_target

__all__ = ["one_sheet", "table_file_suffix", "write_table_file"]

WorkbookWriter = Callable[[pd.DataFrame, Path], None]


def table_file_suffix(path: Path) -> str:
    """The suffix of ``path``, ``.csv`` or ``.xlsx``; ConfigError when it is neither."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigError(f"the output file must end in .csv or .xlsx, got '{path.name}'")
    return suffix


def write_table_file(
    rows: pd.DataFrame,
    path: str | Path,
    workbook: WorkbookWriter,
) -> Path:
    """Write ``rows`` to ``path``: a CSV file, or an .xlsx file laid out by ``workbook``."""
    target = Path(path)
    if table_file_suffix(target) == ".xlsx":
        target = workbook_target(target)
        workbook(rows, target)
        return target
    if not target.parent.exists():
        raise ConfigError(f"the folder of the file {target} does not exist")
    rows.to_csv(target, index=False)
    return target


def one_sheet(
    name: str, freeze: tuple[int, int], widths: Sequence[tuple[int, int, int]]
) -> WorkbookWriter:
    """A workbook of the rows on one sheet ``name``: panes frozen at ``freeze`` (row, column),
    columns ``first`` to ``last`` ``width`` wide for each ``(first, last, width)``."""

    def write(rows: pd.DataFrame, target: Path) -> None:
        with pd.ExcelWriter(target, engine="xlsxwriter") as writer:
            rows.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes(*freeze)
            for first, last, width in widths:
                sheet.set_column(first, last, width)

    return write
