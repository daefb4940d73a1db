"""The rules a row must satisfy, as layers of the transform query.

Per column: the value parses, e-mails and phones are valid, values are allowed and in range.  A
column mapped with ``on_invalid: null`` has a bad value cleared (and recorded) instead of the row
rejected.  Per row: required columns, table rules (a sale is positive, amounts are not absurd,
birth dates are plausible).  The first rule broken rejects the row.
"""

from __future__ import annotations

import datetime as dt

from clientela.config import Settings
from clientela.datamart.ingest._columns import Origins
from clientela.datamart.ingest._expr import one_of, sql_literal
from clientela.datamart.schema import TableSpec

__all__ = ["FAIL_TYPE", "derived_layer", "rule_layers"]

FAIL_TYPE = "STRUCT(column_name VARCHAR, value VARCHAR, rule VARCHAR, reason VARCHAR)"
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(sql: str) -> str:
    return f"CAST({sql} AS VARCHAR)"


def _shown(sql: str) -> str:
    return f"('''' || {_text(sql)} || '''')"


def _fail(column: str, value_sql: str, rule: str, reason_sql: str) -> str:
    return (
        f"{{'column_name': {sql_literal(column)}, 'value': {_text(value_sql)}, "
        f"'rule': {sql_literal(rule)}, 'reason': coalesce({reason_sql}, {sql_literal(rule)})}}"
    )


def derived_layer(spec: TableSpec, origins: Origins, current: str) -> str | None:
    """Values a table derives: amounts, margins and kinds of transactions; normalised keys."""
    replace: list[str] = []
    extra: list[str] = []
    if spec.name == "transactions":
        amount = 'coalesce("amount", "quantity" * "unit_price")'
        replace.append(f"{amount} AS amount")
        replace.append(f'coalesce("margin", {amount} - "cost") AS margin')
        replace.append(
            f'coalesce("kind", CASE WHEN "quantity" < 0 OR {amount} < 0 THEN \'return\' '
            "ELSE 'sale' END) AS kind"
        )
    elif spec.name == "customers":
        # The normalisers run in Python: a file without e-mails or phones does not call them.
        for key, normaliser in (("email", "clientela_email"), ("phone", "clientela_phone")):
            if key in origins.columns:
                replace.append(f'{normaliser}("{key}") AS {key}')
            extra.append(f'"{key}" AS {key}__pre')
        replace.append('coalesce("is_placeholder", FALSE) AS is_placeholder')
    elif spec.name == "do_not_contact":
        replace.append(
            'CASE lower("kind") WHEN \'email\' THEN clientela_email("value") '
            'WHEN \'phone\' THEN clientela_phone("value") ELSE "value" END AS value'
        )
        extra.append('"value" AS value__pre')
    if not replace:
        return None
    more = "".join(f", {e}" for e in extra)
    return f"derived AS (SELECT * REPLACE ({', '.join(replace)}){more} FROM {current})"


def _column_checks(spec: TableSpec, column: str, settings: Settings) -> list[str]:
    """CASE branches (WHEN ... THEN struct) for one column."""
    c = _q(column)
    raw = _q(column + "__raw")
    branches = [
        f"WHEN {_q(column + '__bad')} IS NOT NULL THEN "
        + _fail(column, raw, "type", _q(column + "__bad"))
    ]
    region = settings.default_region
    email_reason = f"{_shown(raw)} || ' is not an e-mail address'"
    phone_reason = f"{_shown(raw)} || ' is not a valid phone number (read in region {region})'"
    if spec.name == "customers" and column in ("email", "phone"):
        pre = _q(column + "__pre")
        reason = email_reason if column == "email" else phone_reason
        branches.append(
            f"WHEN {c} IS NULL AND {pre} IS NOT NULL THEN " + _fail(column, raw, column, reason)
        )
    if spec.name == "do_not_contact" and column == "value":
        branches.append(
            'WHEN "value" IS NULL AND "value__pre" IS NOT NULL AND lower("kind") = \'email\' '
            "THEN " + _fail(column, raw, "email", email_reason)
        )
        branches.append(
            'WHEN "value" IS NULL AND "value__pre" IS NOT NULL AND lower("kind") = \'phone\' '
            "THEN " + _fail(column, raw, "phone", phone_reason)
        )
    if column in spec.allowed:
        values = spec.allowed[column]
        reason = f"{_shown(c)} || ' is not one of: {', '.join(values)}'"
        branches.append(
            f"WHEN {c} IS NOT NULL AND NOT {one_of(c, values)} THEN "
            + _fail(column, c, "allowed", reason)
        )
    if column in spec.ranges:
        low, high = spec.ranges[column]
        conditions = []
        if low is not None:
            conditions.append(f"{c} < {low!r}")
        if high is not None:
            conditions.append(f"{c} > {high!r}")
        bounds = f"[{'' if low is None else low}, {'' if high is None else high}]"
        reason = f"{_shown(c)} || ' is outside the range {bounds}'"
        branches.append(f"WHEN {' OR '.join(conditions)} THEN " + _fail(column, c, "range", reason))
    if spec.name == "events" and column == "properties":
        reason = f"{_shown(raw)} || ' is not a JSON object'"
        branches.append(
            f"WHEN {c} IS NOT NULL AND NOT coalesce(json_valid({c}) AND "
            f"json_type({c}) = 'OBJECT', FALSE) THEN " + _fail(column, raw, "type", reason)
        )
    return branches


def _row_checks(spec: TableSpec, settings: Settings, as_of: dt.date) -> list[str]:
    branches = []
    required = list(dict.fromkeys([spec.key, *spec.required]))
    for column in required:
        reason = sql_literal(f"a value is required for '{column}'")
        branches.append(
            f"WHEN {_q(column)} IS NULL THEN "
            + _fail(column, _q(column + "__raw"), "required", reason)
        )
    if spec.customer_optional:
        reason = sql_literal("customer_id or anonymous_id is required")
        branches.append(
            'WHEN "customer_id" IS NULL AND "anonymous_id" IS NULL THEN '
            + _fail("customer_id", "NULL", "required", reason)
        )
    if spec.name == "transactions":
        for column, limit in (
            ("amount", settings.max_abs_amount),
            ("quantity", settings.max_abs_quantity),
        ):
            reason = f"'{column} ' || {_text(_q(column))} || ' is absurd (beyond +/-{limit:g})'"
            branches.append(
                f"WHEN abs({_q(column)}) > {limit!r} THEN "
                + _fail(column, _q(column), "absurd", reason)
            )
        branches.append(
            'WHEN "kind" = \'sale\' AND "amount" < 0 THEN '
            + _fail(
                "amount",
                '"amount"',
                "sign",
                "'a sale with a negative amount ' || CAST(\"amount\" AS VARCHAR) || "
                "' (returns have kind ''return'')'",
            )
        )
        branches.append(
            'WHEN ("kind" = \'return\' OR "kind" = \'cancellation\') AND "amount" > 0 THEN '
            + _fail(
                "amount",
                '"amount"',
                "sign",
                "'a ' || \"kind\" || ' with a positive amount ' || CAST(\"amount\" AS VARCHAR)",
            )
        )
    if spec.name == "customers":
        reason = (
            f"{_shown(_q('birth_date'))} || ' is not between {EARLIEST_BIRTH.isoformat()} and "
            f"{as_of.isoformat()}'"
        )
        branches.append(
            f'WHEN "birth_date" < DATE \'{EARLIEST_BIRTH.isoformat()}\' OR "birth_date" > '
            f"DATE '{as_of.isoformat()}' THEN "
            + _fail("birth_date", '"birth_date"', "absurd", reason)
        )
    return branches


def rule_layers(
    spec: TableSpec,
    current: str,
    on_invalid: dict[str, str],
    settings: Settings,
    as_of: dt.date,
) -> list[str]:
    """Layers ``columns``, ``cleared`` and ``checked`` (with ``__fail`` and ``__cleared``)."""
    checks = {c: _column_checks(spec, c, settings) for c in spec.columns}
    fails = ", ".join(
        f"CASE {' '.join(branches)} END AS {_q('f:' + c)}" for c, branches in checks.items()
    )
    layers = [f"columns AS (SELECT *, {fails} FROM {current})"]
    cleared_columns = [c for c in spec.columns if on_invalid.get(c) == "null"]
    if cleared_columns:
        replace = ", ".join(
            f"CASE WHEN {_q('f:' + c)} IS NULL THEN {_q(c)} END AS {_q(c)}" for c in cleared_columns
        )
        layers.append(f"cleared AS (SELECT * REPLACE ({replace}) FROM columns)")
        current = "cleared"
    else:
        current = "columns"
    rejecting = [_q("f:" + c) for c in spec.columns if c not in cleared_columns]
    row_checks = _row_checks(spec, settings, as_of)
    if row_checks:
        rejecting.append(f"CASE {' '.join(row_checks)} END")
    fail = f"coalesce({', '.join(rejecting)})" if rejecting else f"CAST(NULL AS {FAIL_TYPE})"
    if cleared_columns:
        listed = ", ".join(_q("f:" + c) for c in cleared_columns)
        cleared = f"list_filter([{listed}], x -> x IS NOT NULL)"
    else:
        cleared = f"CAST([] AS {FAIL_TYPE}[])"
    layers.append(f"checked AS (SELECT *, {fail} AS __fail, {cleared} AS __cleared FROM {current})")
    return layers
