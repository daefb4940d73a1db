"""A predictive model's evaluation as one self-contained HTML page: the measures, the tables
and four charts drawn as inline SVG (cumulative gains, lift by decile, calibration, feature
importance); no script, no external file, readable offline and printable."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path

from clientela.exports._workbook import html_target
from clientela.exports.model_report import CHARTED_FEATURES
from clientela.services._model_store import StoredModel

__all__ = ["model_html", "write_model_html"]

log = logging.getLogger(__name__)

_WIDTH, _HEIGHT = 460, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 16, 44
_INK, _GRID, _MODEL, _BASE = "#212121", "#E0E0E0", "#1565C0", "#9E9E9E"

_STYLE = """
body { font-family: system-ui, sans-serif; color: #212121; margin: 2em auto; max-width: 1000px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #E0E0E0; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; } figcaption { font-weight: bold; margin-bottom: 0.3em; }
.warning { color: #B71C1C; }
svg text { font-size: 11px; fill: #212121; }
"""


def _x(value: float, low: float, high: float) -> float:
    return _LEFT + (value - low) / ((high - low) or 1) * (_WIDTH - _LEFT - _RIGHT)


def _y(value: float, low: float, high: float) -> float:
    return _HEIGHT - _BOTTOM - (value - low) / ((high - low) or 1) * (_HEIGHT - _TOP - _BOTTOM)


def _axes(
    x_label: str,
    y_label: str,
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
) -> list[str]:
    """Grid lines, tick labels and axis names; ticks are already in pixels."""
    parts = []
    for y, label in y_ticks:
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" '
            f'stroke="{_GRID}"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{html.escape(label)}</text>'
        )
    for x, label in x_ticks:
        parts.append(
            f'<text x="{x:.1f}" y="{_HEIGHT - _BOTTOM + 16}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
        )
    bottom = _HEIGHT - _BOTTOM
    parts.append(
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{_WIDTH - _RIGHT}" y2="{bottom}" stroke="{_INK}"/>'
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}" stroke="{_INK}"/>'
        f'<text x="{(_LEFT + _WIDTH - _RIGHT) / 2:.0f}" y="{_HEIGHT - 8}" text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
        f'<text transform="translate(14 {(_TOP + bottom) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{html.escape(y_label)}</text>'
    )
    return parts


def _svg(title: str, parts: Sequence[str], height: int = _HEIGHT) -> str:
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{html.escape(title)}">'
        + "".join(parts)
        + "</svg></figure>"
    )


def _polyline(points: Sequence[tuple[float, float]], colour: str, dashed: bool = False) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'


def _dots(points: Sequence[tuple[float, float]], colour: str) -> str:
    return "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)


def _percent_ticks(vertical: bool) -> list[tuple[float, str]]:
    place = _y if vertical else _x
    return [(place(v / 100, 0, 1), f"{v}%") for v in range(0, 101, 25)]


def _gains_chart(stored: StoredModel) -> str:
    deciles = stored.evaluation.deciles
    model = [(0.0, 0.0), *((d.decile / 10, d.cumulative_gain) for d in deciles)]
    pixels = [(_x(x, 0, 1), _y(y, 0, 1)) for x, y in model]
    random = [(_x(0, 0, 1), _y(0, 0, 1)), (_x(1, 0, 1), _y(1, 0, 1))]
    ticks = [(_x(d / 10, 0, 1), str(d)) for d in range(0, 11, 2)]
    parts = _axes("deciles (1 = rated highest)", "positives found", ticks, _percent_ticks(True))
    parts += [
        _polyline(random, _BASE, dashed=True),
        _polyline(pixels, _MODEL),
        _dots(pixels, _MODEL),
    ]
    return _svg("Cumulative gains (dashed: random order)", parts)


def _lift_chart(stored: StoredModel) -> str:
    deciles = stored.evaluation.deciles
    top = max([d.lift for d in deciles] + [1.0]) * 1.1
    step = 0.5 if top <= 3 else 1.0 if top <= 6 else 2.0
    y_ticks = [(_y(v * step, 0, top), f"{v * step:g}") for v in range(int(top / step) + 1)]
    slot = (_WIDTH - _LEFT - _RIGHT) / max(len(deciles), 1)
    parts = _axes("decile (1 = rated highest)", "lift (rate / base rate)", [], y_ticks)
    one = _y(1.0, 0, top)
    for i, d in enumerate(deciles):
        left = _LEFT + i * slot + slot * 0.15
        y = _y(d.lift, 0, top)
        parts.append(
            f'<rect x="{left:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{_HEIGHT - _BOTTOM - y:.1f}" fill="{_MODEL}"/>'
            f'<text x="{left + slot * 0.35:.1f}" y="{_HEIGHT - _BOTTOM + 16}" '
            f'text-anchor="middle">{d.decile}</text>'
            f'<text x="{left + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
            f"{d.lift:.1f}</text>"
        )
    parts.append(
        f'<line x1="{_LEFT}" y1="{one:.1f}" x2="{_WIDTH - _RIGHT}" y2="{one:.1f}" '
        f'stroke="{_BASE}" stroke-dasharray="5 4"/>'
    )
    return _svg("Lift by decile (dashed: the base rate)", parts)


def _calibration_chart(stored: StoredModel) -> str:
    curve = stored.evaluation.calibration
    high = max([c.predicted for c in curve] + [c.observed for c in curve] + [0.1])
    high = min(1.0, round(high * 1.1 + 0.05, 1))
    ticks = [i * high / 4 for i in range(5)]
    x_ticks = [(_x(v, 0, high), f"{v:.2f}") for v in ticks]
    y_ticks = [(_y(v, 0, high), f"{v:.2f}") for v in ticks]
    parts = _axes("mean predicted probability", "observed rate", x_ticks, y_ticks)
    diagonal = [(_x(0, 0, high), _y(0, 0, high)), (_x(high, 0, high), _y(high, 0, high))]
    pixels = [(_x(c.predicted, 0, high), _y(c.observed, 0, high)) for c in curve]
    parts += [
        _polyline(diagonal, _BASE, dashed=True),
        _polyline(pixels, _MODEL),
        _dots(pixels, _MODEL),
    ]
    return _svg("Calibration (dashed: perfect calibration)", parts)


def _importance_chart(stored: StoredModel) -> str:
    shown = list(stored.evaluation.feature_importance.items())[:CHARTED_FEATURES]
    row, label_width = 20, 190
    height = _TOP + row * max(len(shown), 1) + 24
    top = max([share for _, share in shown] + [0.01])
    span = _WIDTH - label_width - 60
    parts = []
    for i, (name, share) in enumerate(shown):
        y = _TOP + i * row
        width = share / top * span
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end">{html.escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{_MODEL}"/>'
            f'<text x="{label_width + width + 4:.1f}" y="{y + 14}">{share:.1%}</text>'
        )
    return _svg(
        f"The {len(shown)} most important features (share of the importance)", parts, height
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def model_html(stored: StoredModel) -> str:
    """The page (see the module docstring) as text."""
    ev = stored.evaluation
    title = f"Model {stored.name}, version {stored.version}"
    target = stored.target
    about = [
        ("kind", stored.kind),
        ("algorithm", stored.algorithm),
        ("cut-off", stored.cutoff.isoformat()),
        ("outcome window", f"{target.outcome_days} days"),
        ("trained at (UTC)", stored.created_at.isoformat(sep=" ", timespec="minutes")),
        ("training examples", f"{stored.examples:,} ({stored.positives:,} positives)"),
        ("evaluated on", ev.validation),
        ("evaluation examples", f"{ev.examples:,} ({ev.positives:,} positives)"),
        ("base rate", f"{ev.base_rate:.1%}"),
    ]
    measures = [("ROC AUC", f"{ev.roc_auc:.3f}"), ("PR AUC", f"{ev.pr_auc:.3f}"),
                ("Brier score", f"{ev.brier:.4f}")]  # fmt: skip
    if ev.fold_roc_auc:
        measures.append(("ROC AUC of each fold", ", ".join(f"{a:.3f}" for a in ev.fold_roc_auc)))
    warnings = "".join(f'<p class="warning">warning: {html.escape(w)}</p>' for w in stored.warnings)
    deciles = _table(
        ["decile", "examples", "positives", "rate", "lift", "cumulative gain"],
        [(d.decile, f"{d.examples:,}", f"{d.positives:,}", f"{d.rate:.1%}", f"{d.lift:.2f}",
          f"{d.cumulative_gain:.1%}") for d in ev.deciles],
    )  # fmt: skip
    calibration = _table(
        ["predicted", "observed", "examples"],
        [(f"{c.predicted:.3f}", f"{c.observed:.3f}", f"{c.examples:,}") for c in ev.calibration],
    )
    features = _table(
        ["feature", "share of the importance"],
        [(name, f"{share:.1%}") for name, share in ev.feature_importance.items()],
    )
    charts = (
        _gains_chart(stored)
        + _lift_chart(stored)
        + _calibration_chart(stored)
        + _importance_chart(stored)
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + _table(["", ""], about)
        + warnings
        + "<h2>Measures</h2>"
        + _table(["measure", "value"], measures)
        + f'<h2>Charts</h2><div class="charts">{charts}</div>'
        + "<h2>Lift and cumulative gains by decile</h2>"
        + deciles
        + "<h2>Calibration</h2>"
        + calibration
        + "<h2>Feature importance</h2>"
        + features
        + "</body></html>\n"
    )


def write_model_html(stored: StoredModel, path: str | Path) -> Path:
    """Write the page to ``path`` (an .html file)."""
    target = html_target(path)
    target.write_text(model_html(stored), encoding="utf-8")
    log.info("wrote the evaluation of %s version %d to %s", stored.name, stored.version, target)
    return target
