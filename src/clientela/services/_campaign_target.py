"""Who a campaign's target condition selects in the datamart (checked against it first).

The checks name what is wrong before anything runs: an unknown field, attribute, scoring model,
band, predictive model, event type or kind, or saved segment (with the close match and what is
known), and a value of the wrong type for a field (text against a number, a number against
text, something that is not a date against a date).  Each error gives the target's file and the
line of the test when they are known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir

from clientela.campaigns._target_compile import (
    SubjectTable,
    behaviour_counts,
    join_subjects,
    latest_predictions,
    latest_scores,
    segment_flags,
    target_predicate,
    window_key,
)
from clientela.campaigns.targeting import Target, TargetCondition, shown
from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.schema import (
    CUSTOMERS,
    EVENT_TYPES_DOC,
    INTERACTION_KINDS,
    RESPONSE_KINDS,
    TRANSACTION_KINDS,
)
from clientela.errors import ClientelaError, ConfigError, NotFoundError, suggest
from clientela.profile.rfm import SEGMENTS
from clientela.profile.tiers import TIERS
from clientela.scoring._facts import CUSTOMER_FIELDS, DERIVED_FIELDS
from clientela.services._score_models import summary_fields
from clientela.services._segment_base import facts_for, segment_members
from clientela.services._segment_store import list_segments, load_segment
from clientela.services._summary import summary_for

__all__ = ["check_target", "target_members"]

# The types of the derived fields (see clientela.scoring._facts.DERIVED_FIELDS).
_DERIVED_TYPES: dict[str, dt_types.DataType] = {
    "age": dt_types.int64,
    "email_domain": dt_types.string,
    "days_since_signup": dt_types.int64,
}
# Kinds the datamart documents for each behaviour table (a table may not hold them all yet).
_DOCUMENTED: dict[str, tuple[str, ...]] = {
    "events": EVENT_TYPES_DOC,
    "transactions": TRANSACTION_KINDS,
    "interactions": INTERACTION_KINDS,
    "responses": RESPONSE_KINDS,
}
# Fields whose values are a fixed list of names: a misspelt one selects nobody, so it is an error.
_NAMED_VALUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "value_tier": ("value tier", TIERS),
    "segment": ("RFM segment", SEGMENTS),
}
_TRUE_FALSE = ("true", "false", "yes", "no", "1", "0")


def target_members(dm: Datamart, settings: Settings, target: Target, as_of: dt.date) -> ir.Table:
    """The target's ``profile_id`` (one row per profile) as one expression, checked against the
    datamart first (ConfigError or NotFoundError naming what is wrong)."""
    check_target(dm, settings, target, as_of)
    leaves = target.leaves()
    facts = facts_for(dm, settings, target.names("field"), target.names("attribute"), as_of)
    subjects: list[SubjectTable] = []
    scored = [*target.names("score"), *target.names("band")]
    for model in dict.fromkeys(scored):
        subjects.append(
            SubjectTable(
                latest_scores(dm.table("score_snapshots"), model, as_of),
                {"score": f"_score__{model}", "band": f"_band__{model}"},
            )
        )
    predicted = [*target.names("probability"), *target.names("decile")]
    for model in dict.fromkeys(predicted):
        subjects.append(
            SubjectTable(
                latest_predictions(dm.table("predictive_scores"), model, as_of),
                {"probability": f"_probability__{model}", "decile": f"_decile__{model}"},
            )
        )
    # Each behaviour table is read once for all the counts of it the target makes.
    counts: list[tuple[object, ...]] = []
    windows: dict[str, list[TargetCondition]] = {}
    for leaf in leaves:
        if leaf.within_days is not None and window_key(leaf) not in counts:
            counts.append(window_key(leaf))
            windows.setdefault(str(leaf.subject), []).append(leaf)
    for table, table_windows in windows.items():
        counted = behaviour_counts(dm.table(table), dm.table("identity"), table_windows, as_of)
        columns = {
            f"count_{index}": f"_count__{counts.index(window_key(window))}"
            for index, window in enumerate(table_windows)
        }
        subjects.append(SubjectTable(counted, columns, 0))
    for name in target.names("segment"):
        members = segment_members(dm, settings, load_segment(dm, name), as_of)
        subjects.append(
            SubjectTable(segment_flags(members), {"member": f"_segment__{name}"}, False)
        )
    joined = join_subjects(facts, subjects)
    return joined.filter(target_predicate(target.condition, joined, counts)).select("profile_id")


def check_target(dm: Datamart, settings: Settings, target: Target, as_of: dt.date) -> None:
    """ConfigError or NotFoundError for the first test the datamart cannot answer."""
    summary_types: dict[str, dt_types.DataType] | None = None
    cache: dict[tuple[str, str], list[str]] = {}

    def distinct(table: str, column: str, where: tuple[str, str] | None = None) -> list[str]:
        key = (table, column if where is None else f"{column}|{where[0]}={where[1]}")
        if key not in cache:
            expr = dm.table(table)
            if where is not None:
                expr = expr.filter(expr[where[0]] == where[1])
            values = dm.to_pyarrow(expr.select(column).distinct().order_by(column)).column(0)
            cache[key] = [str(v) for v in values.to_pylist() if v is not None]
        return cache[key]

    for leaf in target.leaves():
        kind, name = leaf.subject_kind, str(leaf.subject)
        if kind == "field":
            if name in summary_fields() and summary_types is None:
                summary = summary_for(dm, settings, as_of)[0]
                summary_types = dict(summary.schema().items())
            _check_field(target, leaf, summary_types or {})
        elif kind == "attribute":
            known = distinct("third_party", "attribute")
            if name not in known:
                raise _error(
                    target,
                    leaf,
                    f"unknown third-party attribute '{name}'{suggest(name, known)}; the "
                    f"datamart has: {_listed(known)}",
                )
        elif kind in ("score", "band"):
            models = distinct("score_snapshots", "model")
            if name not in models:
                raise _unknown_model(dm, target, leaf, models, "score_models", "model")
            if kind == "band":
                bands = distinct("score_snapshots", "band", ("model", name))
                for value in _values(leaf):
                    if isinstance(value, str) and value not in bands:
                        raise _error(
                            target,
                            leaf,
                            f"no band '{value}' of scoring model '{name}'"
                            f"{suggest(value, bands)}; its bands are: {_listed(bands)}",
                            not_found=True,
                        )
        elif kind in ("probability", "decile"):
            models = distinct("predictive_scores", "model")
            if name not in models:
                raise _unknown_model(dm, target, leaf, models, "predictive_models", "name")
        elif kind == "segment":
            _check_segment(dm, target, leaf)
        elif leaf.within_days is not None:
            _check_types(target, leaf, distinct)


def _check_field(
    target: Target, leaf: TargetCondition, summary_types: dict[str, dt_types.DataType]
) -> None:
    name = str(leaf.subject)
    known = [*CUSTOMER_FIELDS, *DERIVED_FIELDS, *summary_fields()]
    if name not in known:
        raise _error(
            target,
            leaf,
            f"unknown field '{name}'{suggest(name, known)}; fields are the customer's columns "
            f"({', '.join(CUSTOMER_FIELDS)}), {', '.join(DERIVED_FIELDS)} and the summary's "
            f"KPIs, RFM and value tier ({', '.join(summary_fields())})",
        )
    if name in CUSTOMER_FIELDS:
        dtype = CUSTOMERS.schema[name]
    elif name in _DERIVED_TYPES:
        dtype = _DERIVED_TYPES[name]
    elif name in summary_types:
        dtype = summary_types[name]
    else:
        return
    if leaf.op in ("matches", "missing"):
        return
    for value in _values(leaf):
        problem = _mismatch(dtype, value)
        if problem:
            raise _error(
                target,
                leaf,
                f"type mismatch: field '{name}' is {problem} but '{leaf.op}' got {_quoted(value)}",
            )
        names = _NAMED_VALUES.get(name)
        if names is not None and leaf.op in ("equals", "not_equals", "in", "not_in"):
            what, known_values = names
            if value not in known_values:
                raise _error(
                    target,
                    leaf,
                    f"no {what} '{value}'{suggest(str(value), known_values)}; the {what}s are: "
                    f"{', '.join(known_values)}",
                )


def _mismatch(dtype: dt_types.DataType, value: Any) -> str | None:
    """What the field is when ``value`` cannot be compared with it (None when it can)."""
    if dtype.is_numeric():
        if isinstance(value, bool):
            return "a number"
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return "a number"
        return None
    if dtype.is_date() or dtype.is_timestamp():
        what = "a date (write it as 2026-01-31)"
        if not isinstance(value, str):
            return what
        try:
            if dtype.is_date():
                dt.date.fromisoformat(value)
            else:
                dt.datetime.fromisoformat(value)
        except ValueError:
            return what
        return None
    if dtype.is_boolean():
        if isinstance(value, bool) or str(value).strip().lower() in _TRUE_FALSE:
            return None
        return "yes or no"
    if dtype.is_string() and not isinstance(value, str):
        return "text (put a code that looks like a number in quotes, e.g. '75001')"
    return None


def _check_types(target: Target, leaf: TargetCondition, distinct: Any) -> None:
    table = str(leaf.subject)
    column = "event_type" if table == "events" else "kind"
    documented = _DOCUMENTED[table]
    for value in leaf.types:
        if value in documented:
            continue
        # Free-form event types are known by the rows that hold them.
        known = sorted({*documented, *distinct(table, column)})
        if value not in known:
            what = "event type" if table == "events" else f"kind of {table}"
            raise _error(
                target,
                leaf,
                f"unknown {what} '{value}'{suggest(value, known)}; the known ones are: "
                f"{_listed(known)}",
            )


def _check_segment(dm: Datamart, target: Target, leaf: TargetCondition) -> None:
    name = str(leaf.subject)
    known = [saved.name for saved in list_segments(dm)]
    if name not in known:
        listed = ", ".join(known) if known else "none (save one with 'clientela segment save')"
        raise _error(
            target,
            leaf,
            f"no saved segment '{name}'{suggest(name, known)}; the saved segments are: {listed}",
            not_found=True,
        )


def _unknown_model(
    dm: Datamart,
    target: Target,
    leaf: TargetCondition,
    scored: list[str],
    registry: str,
    column: str,
) -> ClientelaError:
    name, kind = str(leaf.subject), leaf.subject_kind
    table = dm.table(registry)
    registered = dm.to_pyarrow(table.select(column).distinct()).column(0).to_pylist()
    what = "scoring model" if registry == "score_models" else "predictive model"
    command = "clientela score run" if registry == "score_models" else "clientela model score"
    if name in registered:
        return _error(
            target,
            leaf,
            f"{what} '{name}' has no scores yet, so '{kind}' cannot be read; run '{command}'",
            not_found=True,
        )
    return _error(
        target,
        leaf,
        f"no {what} '{name}' with scores{suggest(name, scored)}; the models with scores are: "
        f"{_listed(scored)}",
        not_found=True,
    )


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else shown(value)


def _values(leaf: TargetCondition) -> Sequence[Any]:
    return list(leaf.value) if isinstance(leaf.value, tuple) else [leaf.value]


def _listed(names: Sequence[str], limit: int = 30) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _error(
    target: Target, leaf: TargetCondition, message: str, *, not_found: bool = False
) -> ClientelaError:
    """A ConfigError (or NotFoundError) located at the test's line of the target's file."""
    if not_found:
        where = ""
        if target.source is not None:
            where = target.source + (f", line {leaf.line}" if leaf.line else "") + ": "
        return NotFoundError(where + message)
    return ConfigError(
        message, file=target.source, line=leaf.line if target.source is not None else None
    )
