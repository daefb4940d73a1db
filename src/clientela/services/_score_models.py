"""Scoring models stored in the datamart: register (a new version when the text changes), read,
list, and check a model against what the datamart holds (fields, attributes, event types)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from clientela.datamart import Datamart
from clientela.datamart.schema import (
    EVENT_TYPES_DOC,
    INTERACTION_KINDS,
    SOCIAL_KINDS,
    TRANSACTION_KINDS,
    spec,
)
from clientela.errors import ConfigError, NotFoundError, suggest
from clientela.scoring._facts import CUSTOMER_FIELDS, DERIVED_FIELDS
from clientela.scoring.definition import (
    ACTIVITY_TABLES,
    Condition,
    ScoringModel,
    load_model_file,
    parse_model_text,
)
from clientela.services._summary import SUMMARY_TABLE

__all__ = [
    "ModelInfo",
    "get_model",
    "list_models",
    "register_model",
    "summary_fields",
    "validate_against_datamart",
]

log = logging.getLogger(__name__)

_KNOWN_TYPES: dict[str, tuple[str, ...]] = {
    "events": EVENT_TYPES_DOC,
    "interactions": INTERACTION_KINDS,
    "transactions": TRANSACTION_KINDS,
    "social": SOCIAL_KINDS,
}
# The per-profile summary's columns that rules may test (KPIs, RFM, value tier).
_SUMMARY_FIELDS = (
    "revenue",
    "gross_sales",
    "returned_amount",
    "margin",
    "orders",
    "returns",
    "cost_to_serve",
    "referrals_made",
    "referrals_converted",
    "average_order_value",
    "return_rate",
    "contribution",
    "first_purchase",
    "last_purchase",
    "tenure_days",
    "value_tier",
    "recency_days",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "fm",
    "segment",
)


def summary_fields() -> tuple[str, ...]:
    return _SUMMARY_FIELDS


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: int
    rules: int
    bands: tuple[str, ...]
    registered_at: dt.datetime
    source_file: str | None
    description: str


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def register_model(dm: Datamart, model: ScoringModel | Path) -> ScoringModel:
    """Store a model (from its file or parsed); a new version only when its text changed.

    The model is checked against the datamart first (fields, attributes, event types)."""
    if isinstance(model, Path):
        model = load_model_file(model)
    validate_against_datamart(dm, model)
    checksum = hashlib.sha256(model.text.encode()).hexdigest()
    rows = dm.sql(
        "SELECT version, checksum FROM score_models WHERE model = ? ORDER BY version DESC LIMIT 1",
        [model.name],
    )
    if rows and rows[0][1] == checksum:
        return replace(model, version=int(rows[0][0]))
    version = int(rows[0][0]) + 1 if rows else 1
    dm.sql(
        "INSERT INTO score_models (model, version, definition, checksum, source_file, "
        "registered_at) VALUES (?, ?, ?, ?, ?, ?)",
        [model.name, version, model.text, checksum, model.source_file, _utcnow()],
    )
    log.info("registered scoring model %s version %d", model.name, version)
    return replace(model, version=version)


def get_model(dm: Datamart, name: str, version: int | None = None) -> ScoringModel:
    """A stored model (its newest version unless ``version``); NotFoundError names close ones."""
    if version is None:
        rows = dm.sql(
            "SELECT version, definition, source_file FROM score_models WHERE model = ? "
            "ORDER BY version DESC LIMIT 1",
            [name],
        )
    else:
        rows = dm.sql(
            "SELECT version, definition, source_file FROM score_models "
            "WHERE model = ? AND version = ?",
            [name, version],
        )
    if not rows:
        known = [str(r[0]) for r in dm.sql("SELECT DISTINCT model FROM score_models")]
        if version is not None and name in known:
            raise NotFoundError(f"scoring model '{name}' has no version {version}")
        listed = ", ".join(sorted(known)) or "none yet (register one with 'clientela score add')"
        raise NotFoundError(
            f"no scoring model '{name}'{suggest(name, known)}; the models are: {listed}"
        )
    stored_version, text, source = rows[0]
    model = parse_model_text(str(text), str(source) if source else None)
    return replace(model, version=int(stored_version))


def list_models(dm: Datamart) -> list[ModelInfo]:
    rows = dm.records(
        "SELECT model, version, definition, source_file, registered_at FROM score_models "
        "ORDER BY model, version"
    )
    newest: dict[str, dict[str, object]] = {}
    for row in rows:
        newest[str(row["model"])] = row
    infos = []
    for name, row in newest.items():
        model = parse_model_text(str(row["definition"]))
        infos.append(
            ModelInfo(
                name=name,
                version=int(str(row["version"])),
                rules=len(model.rules),
                bands=tuple(b.name for b in model.bands),
                registered_at=row["registered_at"],  # type: ignore[arg-type]
                source_file=str(row["source_file"]) if row["source_file"] else None,
                description=model.description,
            )
        )
    return infos


def _distinct(dm: Datamart, table: str, column: str) -> set[str]:
    rows = dm.sql(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
    return {str(r[0]) for r in rows}


def _type_known(dm: Datamart, table: str, kind: str) -> bool:
    """A type the datamart defines or holds a row of (found without reading the whole table
    when it is there: a daily run should not scan millions of events to check a name)."""
    if kind in _KNOWN_TYPES[table]:
        return True
    column = ACTIVITY_TABLES[table]
    return bool(dm.sql(f'SELECT 1 FROM "{table}" WHERE "{column}" = ? LIMIT 1', [kind]))


def validate_against_datamart(dm: Datamart, model: ScoringModel) -> None:
    """ConfigError (file, line, close match) for a field, attribute, column or type the datamart
    does not know."""
    fields = {*CUSTOMER_FIELDS, *DERIVED_FIELDS, *_SUMMARY_FIELDS}
    attributes = _distinct(dm, "third_party", "attribute")
    source = model.source_file
    for rule in model.rules:
        if rule.when is not None:
            for leaf in rule.when.leaves():
                _check_leaf(leaf, fields, attributes, rule.name, source)
        if rule.activity is None:
            continue
        table = rule.activity.table
        for kind in rule.activity.types:
            if not _type_known(dm, table, kind):
                known_types = {*_KNOWN_TYPES[table], *_distinct(dm, table, ACTIVITY_TABLES[table])}
                raise ConfigError(
                    f"rule '{rule.name}': unknown {ACTIVITY_TABLES[table]} '{kind}' in {table}"
                    f"{suggest(kind, known_types)}; known: {', '.join(sorted(known_types))}",
                    file=source,
                    line=rule.activity.line or rule.line,
                )
        columns = set(spec(table).columns)
        for condition in rule.activity.where:
            for leaf in condition.leaves():
                if leaf.subject_kind == "column" and leaf.subject not in columns:
                    raise ConfigError(
                        f"rule '{rule.name}': {table} has no column '{leaf.subject}'"
                        f"{suggest(str(leaf.subject), columns)}",
                        file=source,
                        line=leaf.line or rule.line,
                    )
                if leaf.subject_kind in ("field", "attribute"):
                    raise ConfigError(
                        f"rule '{rule.name}': an activity's 'where' tests the rows' 'column' or "
                        f"'property', not a {leaf.subject_kind}",
                        file=source,
                        line=leaf.line or rule.line,
                    )
                if leaf.subject_kind == "property" and table != "events":
                    raise ConfigError(
                        f"rule '{rule.name}': only events have properties; use 'column' for "
                        f"{table}",
                        file=source,
                        line=leaf.line or rule.line,
                    )
        if rule.per and rule.per.startswith("properties.") and table != "events":
            raise ConfigError(
                f"rule '{rule.name}': only events have properties; 'per' names a column of {table}",
                file=source,
                line=rule.line,
            )
        if rule.per and not rule.per.startswith("properties.") and rule.per not in columns:
            raise ConfigError(
                f"rule '{rule.name}': 'per' names no column of {table}: '{rule.per}'"
                f"{suggest(rule.per, columns)}",
                file=source,
                line=rule.line,
            )


def _check_leaf(
    leaf: Condition, fields: set[str], attributes: set[str], rule: str, source: str | None
) -> None:
    name = str(leaf.subject)
    if leaf.subject_kind == "field" and name not in fields:
        raise ConfigError(
            f"rule '{rule}': unknown field '{name}'{suggest(name, fields)}; fields are the "
            "customer's columns, age, email_domain, days_since_signup and the summary's KPIs "
            f"({SUMMARY_TABLE})",
            file=source,
            line=leaf.line,
        )
    if leaf.subject_kind == "attribute" and attributes and name not in attributes:
        raise ConfigError(
            f"rule '{rule}': unknown third-party attribute '{name}'{suggest(name, attributes)}; "
            f"the datamart has: {', '.join(sorted(attributes)[:20])}",
            file=source,
            line=leaf.line,
        )
    if leaf.subject_kind in ("column", "property"):
        raise ConfigError(
            f"rule '{rule}': a 'when' condition tests a 'field' or an 'attribute' of the "
            f"profile; '{leaf.subject_kind}' belongs in an activity's 'where'",
            file=source,
            line=leaf.line,
        )
