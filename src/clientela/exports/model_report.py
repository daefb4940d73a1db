"""A predictive model's evaluation as an Excel workbook with native (editable) Excel charts.

Sheets: **Summary** (the model, its training window and the measures), **Deciles** (lift and
cumulative gains, with the two charts), **Calibration** (mean predicted probability against the
observed rate, with the diagonal of a perfect calibration) and **Features** (each feature's share
of the importance, the 15 largest charted).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import xlsxwriter

from clientela.exports._workbook import workbook_target
from clientela.services._model_store import StoredModel

__all__ = ["CHARTED_FEATURES", "write_model_workbook"]

log = logging.getLogger(__name__)

CHARTED_FEATURES = 15


def write_model_workbook(stored: StoredModel, path: str | Path) -> Path:
    """Write the evaluation of ``stored`` to ``path`` (an .xlsx file)."""
    target = workbook_target(path)
    workbook = xlsxwriter.Workbook(str(target))
    try:
        formats = {
            "bold": workbook.add_format({"bold": True}),
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "int": workbook.add_format({"num_format": "#,##0"}),
            "ratio": workbook.add_format({"num_format": "0.000"}),
            "lift": workbook.add_format({"num_format": "0.00"}),
            "pct": workbook.add_format({"num_format": "0.0%"}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        _summary(workbook, stored, formats)
        _deciles(workbook, stored, formats)
        _calibration(workbook, stored, formats)
        _features(workbook, stored, formats)
    finally:
        workbook.close()
    log.info("wrote the evaluation of %s version %d to %s", stored.name, stored.version, target)
    return target


def _summary(workbook: Any, stored: StoredModel, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 60)
    ev = stored.evaluation
    sheet.write_string(0, 0, f"Model {stored.name}, version {stored.version}", f["title"])
    target = stored.target
    aimed = target.product or target.category or target.campaign
    rows: list[tuple[str, Any, str | None]] = [
        ("Kind", stored.kind + (f" ({aimed})" if aimed else ""), None),
        ("Algorithm", stored.algorithm, None),
        ("Cut-off", stored.cutoff, "date"),
        ("Outcome window (days)", target.outcome_days, "int"),
        ("Trained at (UTC)", stored.created_at, "time"),
        ("Training examples", stored.examples, "int"),
        ("Training positives", stored.positives, "int"),
        ("Features", len(stored.features), "int"),
        ("Evaluated on", ev.validation, None),
        ("Evaluation examples", ev.examples, "int"),
        ("Evaluation positives", ev.positives, "int"),
        ("Base rate", ev.base_rate, "pct"),
        ("ROC AUC", ev.roc_auc, "ratio"),
        ("PR AUC", ev.pr_auc, "ratio"),
        ("Brier score", ev.brier, "ratio"),
    ]
    if ev.fold_roc_auc:
        folds = ", ".join(f"{auc:.3f}" for auc in ev.fold_roc_auc)
        rows.append(("ROC AUC of each fold", folds, None))
    rows.extend(("Warning", warning, None) for warning in stored.warnings)
    for row, (label, value, kind) in enumerate(rows, start=2):
        sheet.write_string(row, 0, label)
        if kind is None:
            sheet.write_string(row, 1, str(value))
        elif kind in ("date", "time"):
            sheet.write_datetime(row, 1, value, f[kind])
        else:
            sheet.write_number(row, 1, value, f[kind])


def _deciles(workbook: Any, stored: StoredModel, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Deciles")
    header = ["decile", "examples", "positives", "rate", "lift", "cumulative gain", "random"]
    sheet.write_row(0, 0, header, f["bold"])
    sheet.set_column(0, 6, 14)
    sheet.freeze_panes(1, 0)
    deciles = stored.evaluation.deciles
    sheet.write_number(1, 0, 0, f["int"])  # the origin of the gains curve
    sheet.write_number(1, 5, 0.0, f["pct"])
    sheet.write_number(1, 6, 0.0, f["pct"])
    for row, d in enumerate(deciles, start=2):
        sheet.write_number(row, 0, d.decile, f["int"])
        sheet.write_number(row, 1, d.examples, f["int"])
        sheet.write_number(row, 2, d.positives, f["int"])
        sheet.write_number(row, 3, d.rate, f["pct"])
        sheet.write_number(row, 4, d.lift, f["lift"])
        sheet.write_number(row, 5, d.cumulative_gain, f["pct"])
        sheet.write_number(row, 6, d.decile / 10, f["pct"])
    last = len(deciles) + 1
    gains = workbook.add_chart({"type": "line"})
    for col, name, dash in ((5, "Model", None), (6, "Random", "dash")):
        series: dict[str, Any] = {
            "name": name,
            "categories": ["Deciles", 1, 0, last, 0],
            "values": ["Deciles", 1, col, last, col],
            "marker": {"type": "circle" if dash is None else "none"},
        }
        if dash is not None:
            series["line"] = {"dash_type": dash, "color": "#9E9E9E"}
        gains.add_series(series)
    gains.set_title({"name": "Cumulative gains: share of the positives found"})
    gains.set_x_axis({"name": "decile (1 = rated highest)"})
    gains.set_y_axis({"name": "positives found", "num_format": "0%", "min": 0, "max": 1})
    sheet.insert_chart(1, 8, gains)
    lift = workbook.add_chart({"type": "column"})
    lift.add_series(
        {
            "name": "Lift",
            "categories": ["Deciles", 2, 0, last, 0],
            "values": ["Deciles", 2, 4, last, 4],
            "data_labels": {"value": True, "num_format": "0.0"},
        }
    )
    lift.set_title({"name": "Lift by decile"})
    lift.set_x_axis({"name": "decile (1 = rated highest)"})
    lift.set_y_axis({"name": "rate / base rate", "num_format": "0.0"})
    lift.set_legend({"none": True})
    sheet.insert_chart(17, 8, lift)


def _calibration(workbook: Any, stored: StoredModel, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Calibration")
    sheet.write_row(0, 0, ["predicted", "observed", "examples", "", "perfect"], f["bold"])
    sheet.set_column(0, 4, 12)
    curve = stored.evaluation.calibration
    for row, point in enumerate(curve, start=1):
        sheet.write_number(row, 0, point.predicted, f["ratio"])
        sheet.write_number(row, 1, point.observed, f["ratio"])
        sheet.write_number(row, 2, point.examples, f["int"])
    for row, value in enumerate((0.0, 1.0), start=1):
        sheet.write_number(row, 4, value, f["ratio"])
    last = len(curve)
    chart = workbook.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.add_series(
        {
            "name": "Model",
            "categories": ["Calibration", 1, 0, last, 0],
            "values": ["Calibration", 1, 1, last, 1],
            "marker": {"type": "circle"},
        }
    )
    chart.add_series(
        {
            "name": "Perfect calibration",
            "categories": ["Calibration", 1, 4, 2, 4],
            "values": ["Calibration", 1, 4, 2, 4],
            "line": {"dash_type": "dash", "color": "#9E9E9E"},
            "marker": {"type": "none"},
        }
    )
    chart.set_title({"name": "Calibration: observed rate against predicted probability"})
    chart.set_x_axis({"name": "mean predicted probability", "min": 0, "max": 1})
    chart.set_y_axis({"name": "observed rate", "min": 0, "max": 1})
    sheet.insert_chart(1, 6, chart)


def _features(workbook: Any, stored: StoredModel, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("Features")
    sheet.write_row(0, 0, ["feature", "share of the importance"], f["bold"])
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 1, 22)
    sheet.freeze_panes(1, 0)
    importance = list(stored.evaluation.feature_importance.items())
    for row, (name, share) in enumerate(importance, start=1):
        sheet.write_string(row, 0, name)
        sheet.write_number(row, 1, share, f["pct"])
    charted = min(len(importance), CHARTED_FEATURES)
    if not charted:
        return
    chart = workbook.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Share of the importance",
            "categories": ["Features", 1, 0, charted, 0],
            "values": ["Features", 1, 1, charted, 1],
        }
    )
    chart.set_title({"name": f"The {charted} most important features"})
    chart.set_x_axis({"num_format": "0%"})
    chart.set_y_axis({"reverse": True})  # the most important on top
    chart.set_legend({"none": True})
    chart.set_size({"width": 720, "height": 24 * charted + 120})
    sheet.insert_chart(1, 3, chart)
