"""Reasons per customer: the features that raise a score the most, and those that lower it.

A reason is a feature, the customer's value of it and its contribution to the score in log-odds
(SHAP value or logistic term, see :meth:`PropensityModel.contributions`).  Contributions smaller
than ``min_effect`` in size are not reasons.

The reasons of a whole population are computed on the contribution matrix at once (one sort of
every row, masks for ``min_effect``) into :class:`ReasonColumns`: for each side and rank, the
feature, the value shown and the effect as columns.  The JSON documents stored with a score
snapshot and the text columns of the exports are built from those columns with Arrow's
element-wise string functions; nothing loops over the customers in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clientela.models._estimators import PropensityModel
from clientela.models._frame import as_frame

__all__ = [
    "Reason",
    "ReasonColumns",
    "Reasons",
    "explain",
    "reason_columns",
    "reasons_documents",
    "reasons_frame",
]

SIDES = ("raising", "lowering")
MISSING = "(missing)"


@dataclass(frozen=True)
class Reason:
    feature: str
    value: str
    effect: float  # log-odds; > 0 raises the score


@dataclass(frozen=True)
class Reasons:
    raising: tuple[Reason, ...]
    lowering: tuple[Reason, ...]


@dataclass(frozen=True)
class ReasonColumns:
    """The reasons of many rows, by column: for each side (``raising``, ``lowering``) and rank
    ``1..top``, ``feature``, ``value`` and ``effect`` arrays (null where a row has fewer
    reasons; a row's reasons of a side are always the first ranks)."""

    rows: int
    top: int
    feature: dict[tuple[str, int], pa.Array]
    value: dict[tuple[str, int], pa.Array]
    effect: dict[tuple[str, int], pa.Array]


def _shown_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers as the reasons show them: whole numbers without decimals, others to 4
    significant digits, missing as "(missing)"."""
    missing = np.isnan(values)
    # Whole numbers beyond 1e15 are shown like the others (4 significant digits): an int64
    # cannot hold every float.
    whole = ~missing & (np.abs(values) < 1e15) & (values == np.round(values))
    shown = np.full(len(values), MISSING, dtype=object)
    if whole.any():
        shown[whole] = pc.cast(pa.array(values[whole].astype("int64")), pa.string()).to_numpy(
            zero_copy_only=False
        )
    rest = ~missing & ~whole
    if rest.any():
        shown[rest] = np.char.mod("%.4g", values[rest]).astype(object)
    return shown


def _shown(column: pd.Series) -> np.ndarray:
    """A column's values as text, vectorised (see :func:`_shown_numbers`)."""
    if pd.api.types.is_bool_dtype(column):
        return np.where(column.to_numpy(), "True", "False").astype(object)
    if pd.api.types.is_numeric_dtype(column):
        return _shown_numbers(column.to_numpy(dtype="float64", na_value=np.nan))
    text = column.astype("object")
    present = text.notna().to_numpy()
    shown = np.full(len(text), MISSING, dtype=object)
    shown[present] = text[present].astype(str).to_numpy(dtype=object)
    return shown


def reason_columns(
    model: PropensityModel,
    X: object,
    *,
    top: int = 3,
    min_effect: float = 0.005,
    contributions: pd.DataFrame | None = None,
) -> ReasonColumns:
    """For each row of ``X``, up to ``top`` reasons raising and ``top`` lowering its score.

    ``contributions``: ``model.contributions(X)`` when the caller already has them.
    """
    frame = as_frame(X)
    if frame.empty:  # no rows to explain (a classifier may refuse an empty matrix)
        keys = [(side, rank) for side in SIDES for rank in range(1, top + 1)]
        return ReasonColumns(
            0,
            top,
            {key: pa.nulls(0, pa.string()) for key in keys},
            {key: pa.nulls(0, pa.string()) for key in keys},
            {key: pa.nulls(0, pa.float64()) for key in keys},
        )
    if contributions is None:
        contributions = model.contributions(frame)
    features = contributions.drop(columns="(baseline)")
    names = np.array([str(c) for c in features.columns], dtype=object)
    effects = features.to_numpy(dtype="float64")
    rows, width = effects.shape
    depth = min(top, width)
    # One stable sort per row, highest effect first: the raising reasons are its head and the
    # lowering ones its tail read backwards (ties keep the column order, as a row-by-row sort).
    order = np.argsort(-effects, axis=1, kind="stable")
    picks = {"raising": order[:, :depth], "lowering": order[:, ::-1][:, :depth]}
    row_index = np.arange(rows)[:, None]
    feature: dict[tuple[str, int], pa.Array] = {}
    value: dict[tuple[str, int], pa.Array] = {}
    effect: dict[tuple[str, int], pa.Array] = {}
    cells: list[tuple[tuple[str, int], np.ndarray, np.ndarray]] = []
    for side, columns in picks.items():
        picked = effects[row_index, columns]
        kept = picked >= min_effect if side == "raising" else picked <= -min_effect
        for rank in range(1, top + 1):
            key = (side, rank)
            if rank > depth:
                feature[key] = pa.nulls(rows, pa.string())
                effect[key] = pa.nulls(rows, pa.float64())
                continue
            mask = ~kept[:, rank - 1]
            feature[key] = pa.array(names[columns[:, rank - 1]], pa.string(), mask=mask)
            effect[key] = pa.array(picked[:, rank - 1], pa.float64(), mask=mask)
            where = np.flatnonzero(~mask)
            cells.append((key, where, columns[where, rank - 1]))
    # The values shown: every (row, feature) cell that is a reason, formatted feature by feature.
    texts = {key: np.full(rows, None, dtype=object) for key in feature}
    if cells and sum(len(where) for _, where, _ in cells):
        cell_rows = np.concatenate([where for _, where, _ in cells])
        cell_features = np.concatenate([position for _, _, position in cells])
        cell_text = np.empty(len(cell_rows), dtype=object)
        by_feature = np.argsort(cell_features, kind="stable")
        positions, starts = np.unique(cell_features[by_feature], return_index=True)
        for position, chunk in zip(
            positions, np.split(by_feature, starts[1:]), strict=True
        ):  # one pass per feature, not per customer
            cell_text[chunk] = _shown(frame[names[position]].iloc[cell_rows[chunk]])
        offset = 0
        for key, where, _ in cells:
            texts[key][where] = cell_text[offset : offset + len(where)]
            offset += len(where)
    for key, text in texts.items():
        value[key] = pa.array(text, pa.string())
    return ReasonColumns(rows, top, feature, value, effect)


def explain(
    model: PropensityModel, X: object, *, top: int = 3, min_effect: float = 0.005
) -> list[Reasons]:
    """For each row of ``X``, up to ``top`` reasons raising and ``top`` lowering its score.

    Objects for the Python API; scoring a population uses :func:`reason_columns`.
    """
    columns = reason_columns(model, X, top=top, min_effect=min_effect)
    listed = {
        key: list(
            zip(
                columns.feature[key].to_pylist(),
                columns.value[key].to_pylist(),
                columns.effect[key].to_pylist(),
                strict=True,
            )
        )
        for key in columns.feature
    }

    def side(name: str, row: int) -> tuple[Reason, ...]:
        found = (listed[name, rank][row] for rank in range(1, top + 1))
        return tuple(Reason(f, v, e) for f, v, e in found if f is not None)

    return [Reasons(side("raising", row), side("lowering", row)) for row in range(columns.rows)]


def _json_text(array: pa.Array) -> pa.Array:
    """Strings as JSON string literals (quoted and escaped)."""
    escaped = pc.replace_substring(array, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    if pc.any(pc.match_substring_regex(escaped, "[\\x00-\\x1f]")).as_py():
        for code in range(0x20):
            escaped = pc.replace_substring(escaped, chr(code), f"\\u{code:04x}")
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _joined(parts: list[pa.Array], separator: str) -> pa.Array:
    """Each row's non-null parts joined (a row's parts are a prefix of ``parts``)."""
    result = pc.fill_null(parts[0], "") if parts else pa.nulls(0, pa.string())
    for part in parts[1:]:
        result = pc.if_else(
            part.is_valid(), pc.binary_join_element_wise(result, part, separator), result
        )
    return result


def reasons_documents(columns: ReasonColumns) -> pa.Array:
    """One JSON document per row: ``{"raising": [{"feature", "value", "effect"}...],
    "lowering": [...]}`` (what ``json.dumps(dataclasses.asdict(reasons))`` writes)."""
    sides = []
    for side in SIDES:
        items = []
        for rank in range(1, columns.top + 1):
            key = (side, rank)
            effect = pc.cast(columns.effect[key], pa.string())
            items.append(
                pc.binary_join_element_wise(
                    '{"feature": ',
                    _json_text(columns.feature[key]),
                    ', "value": ',
                    _json_text(columns.value[key]),
                    ', "effect": ',
                    effect,
                    "}",
                    "",
                )
            )
        listed = _joined(items, ", ") if items else pa.array([""] * columns.rows, pa.string())
        sides.append(pc.binary_join_element_wise(f'"{side}": [', listed, "]", ""))
    return pc.binary_join_element_wise("{", sides[0], ", ", sides[1], "}", "")


def _signed(effect: pa.Array) -> pa.Array:
    """``+0.42`` / ``-0.07``: two decimals with the sign, from whole hundredths."""
    numbers = effect.to_numpy(zero_copy_only=False)
    hundredths = np.round(np.abs(np.nan_to_num(numbers)) * 100).astype("int64")
    sign = np.where(numbers < 0, "-", "+").astype(object)
    whole = pc.cast(pa.array(hundredths // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(hundredths % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(pa.array(sign, pa.string()), whole, ".", cents, "")
    return pc.if_else(effect.is_valid(), text, pa.nulls(len(effect), pa.string()))


def reasons_frame(columns: ReasonColumns) -> pd.DataFrame:
    """One text column per reason rank, for exports: ``feature = value (+0.42)``."""
    result = {}
    for side in SIDES:
        for rank in range(1, columns.top + 1):
            key = (side, rank)
            text = pc.binary_join_element_wise(
                columns.feature[key],
                " = ",
                columns.value[key],
                " (",
                _signed(columns.effect[key]),
                ")",
                "",
            )
            result[f"{side}_{rank}"] = text.to_pandas()
    return pd.DataFrame(result)
