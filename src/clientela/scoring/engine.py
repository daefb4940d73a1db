"""The scoring engine: a model and the datamart's tables in, the points ledger and bands out.

Everything here is backend-free Ibis (nothing connects or executes).  The **ledger** has one line
per profile and rule that gave points, plus the lines that explain caps, manual adjustments and
the model's limits, so that a profile's score is by construction the sum of its ledger lines::

    score = sum(rule lines) + sum(group cap lines) + sum(manual lines) + limit line

Bands come from the score and, when the model has hysteresis or forbids moving down, from the
band of the previous snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from clientela.scoring._batched import Materialize, implicit_ledgers
from clientela.scoring._conditions import as_text, evidence, predicate
from clientela.scoring._facts import attribute_column
from clientela.scoring.definition import Condition, Rule, ScoringModel

__all__ = [
    "LEDGER_SCHEMA",
    "assign_bands",
    "band_changes",
    "explicit_ledger",
    "implicit_lines",
    "score_ledger",
    "totals",
]

LEDGER_SCHEMA = ibis.schema(
    {
        "profile_id": "string",
        "rule": "string",
        "rule_group": "string",
        "points": "float64",
        "matched": "int64",
        "evidence": "string",
    }
)
_DIGITS = 4


def _as_it_is(table: ir.Table) -> ir.Table:
    return table


def _resolve_fact(facts: ir.Table):  # type: ignore[no-untyped-def]
    def resolve(leaf: Condition) -> ir.Value:
        if leaf.subject_kind == "attribute":
            return facts[attribute_column(str(leaf.subject))]
        return facts[str(leaf.subject)]

    return resolve


def explicit_ledger(rule: Rule, facts: ir.Table) -> ir.Table:
    """A line for every profile whose facts satisfy the rule's condition."""
    assert rule.when is not None
    resolve = _resolve_fact(facts)
    matched = facts.filter(predicate(rule.when, resolve))
    return matched.select(
        profile_id=matched.profile_id,
        rule=ibis.literal(rule.name),
        rule_group=ibis.literal(rule.group, type="string"),
        points=ibis.literal(float(rule.points)),
        matched=ibis.literal(1, type="int64"),
        evidence=evidence(rule.when, resolve),
    )


def _capped(rule: Rule, lines: ir.Table) -> ir.Table:
    points = lines.points.round(_DIGITS)
    if rule.max_points is None:
        return lines.mutate(points=points)
    cap = rule.max_points
    limited = ibis.ifelse(points > cap, cap, ibis.ifelse(points < -cap, -cap, points))
    note = ibis.ifelse(points.abs() > cap, ibis.literal(f" (capped at {cap:g})"), ibis.literal(""))
    return lines.mutate(points=limited, evidence=lines.evidence + note)


def implicit_lines(
    models: Sequence[ScoringModel],
    activities: Mapping[str, ir.Table],
    as_of: dt.date,
    materialize: Materialize = _as_it_is,
) -> dict[str, dict[str, ir.Table]]:
    """The lines of the behaviour rules of ``models`` (by model, then rule name), the rules of
    all the models evaluated together on each behaviour table."""
    found: dict[str, dict[str, ir.Table]] = {model.name: {} for model in models}
    tables = {r.activity.table for m in models for r in m.rules if r.activity is not None}
    for table_name in sorted(tables):
        keyed = [
            (f"{model.name}\x00{rule.name}", rule, model.decay)
            for model in models
            for rule in model.rules
            if rule.activity is not None and rule.activity.table == table_name
        ]
        lines = implicit_ledgers(keyed, activities[table_name], table_name, as_of, materialize)
        for key, table in lines.items():
            model_name, rule_name = key.split("\x00", 1)
            found[model_name][rule_name] = table
    return found


def score_ledger(
    model: ScoringModel,
    facts: ir.Table,
    activities: Mapping[str, ir.Table],
    adjustments: ir.Table | None,
    as_of: dt.date,
    materialize: Materialize = _as_it_is,
    implicit: Mapping[str, ir.Table] | None = None,
) -> ir.Table:
    """Every line of every profile's score as of ``as_of`` (see the module docstring).

    ``adjustments`` are the manual adjustments (None when the model has none: nothing to
    read); ``materialize`` caches the intermediate tables that several parts of the ledger read
    (the service passes one that writes temporary tables); ``implicit``, the lines of the
    model's behaviour rules by rule name when :func:`implicit_lines` computed them already."""
    if implicit is None:
        implicit = implicit_lines([model], activities, as_of, materialize)[model.name]
    parts: list[ir.Table] = []
    for rule in model.rules:
        lines = implicit[rule.name] if rule.activity is not None else explicit_ledger(rule, facts)
        parts.append(_capped(rule, lines).select(*LEDGER_SCHEMA.names))
    # The caps, adjustments and limits below each read the rules' lines again.  They add a few
    # lines of their own, cached apart: the rules' lines (millions) are written once.
    rule_lines = materialize(_stack(parts))
    caps = _group_cap_lines(model, rule_lines)
    capped = _stack([rule_lines, materialize(_stack(caps))]) if caps else rule_lines
    adjusted = capped
    if adjustments is not None:
        manual = _adjustment_lines(model, capped, adjustments, as_of)
        adjusted = _stack([capped, materialize(_stack(manual))])
    limits = _limit_lines(model, adjusted)
    return _stack([adjusted, materialize(_stack(limits))]) if limits else adjusted


def _stack(parts: Sequence[ir.Table]) -> ir.Table:
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _cap_line(
    sums: ir.Table, points: ir.Value, rule: str, group: str | None, text: ir.StringValue
) -> ir.Table:
    return sums.select(
        profile_id=sums.profile_id,
        rule=ibis.literal(rule),
        rule_group=ibis.literal(group, type="string"),
        points=points.cast("float64").round(_DIGITS),
        matched=ibis.literal(0, type="int64"),
        evidence=text,
    )


def _group_cap_lines(model: ScoringModel, ledger: ir.Table) -> list[ir.Table]:
    """The lines that bring a group's points within its ``max`` and ``min``."""
    extra: list[ir.Table] = []
    for name, group in model.groups.items():
        if group.max is None and group.min is None:
            continue
        rows = ledger.filter(ledger.rule_group == name)
        sums = rows.group_by("profile_id").aggregate(total=rows.points.sum())
        bounds = [(group.max, "at most", sums.total > (group.max or 0))]
        bounds.append((group.min, "at least", sums.total < (group.min or 0)))
        for bound, words, beyond in bounds:
            if bound is None:
                continue
            outside = sums.filter(beyond)
            extra.append(
                _cap_line(
                    outside,
                    bound - outside.total,
                    f"cap:{name}",
                    name,
                    ibis.literal(f"rules of group {name} gave ")
                    + as_text(outside.total.round(2))
                    + ibis.literal(f"; the group counts {words} {bound:g}"),
                )
            )
    return extra


def _adjustment_lines(
    model: ScoringModel, ledger: ir.Table, adjustments: ir.Table, as_of: dt.date
) -> list[ir.Table]:
    """Manual adjustments made before ``as_of``: add and subtract are lines of their own; the
    newest ``set`` fixes the score at its value, after which later adds and subtracts apply."""
    cutoff = ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp")
    made = adjustments.filter((adjustments.model == model.name) & (adjustments.made_at < cutoff))
    sets = made.filter(made.kind == "set")
    newest = ibis.row_number().over(group_by=sets.profile_id, order_by=ibis.desc(sets.made_at))
    latest_set = sets.mutate(_rank=newest).filter(lambda t: t._rank == 0)
    latest_set = latest_set.select(
        _set_profile=latest_set.profile_id,
        _set_value=latest_set.points,
        _set_at=latest_set.made_at,
        _set_text=_adjustment_text(latest_set),
    )
    deltas = made.filter(made.kind.isin(["add", "subtract"]))
    deltas = deltas.left_join(latest_set, deltas.profile_id == latest_set._set_profile)
    deltas = deltas.filter(deltas._set_at.isnull() | (deltas.made_at > deltas._set_at))
    delta_lines = deltas.select(
        profile_id=deltas.profile_id,
        rule=ibis.literal("manual"),
        rule_group=ibis.literal(None, type="string"),
        points=ibis.ifelse(deltas.kind == "subtract", -deltas.points, deltas.points)
        .cast("float64")
        .round(_DIGITS),
        matched=ibis.literal(0, type="int64"),
        evidence=_adjustment_text(deltas),
    )
    sums = ledger.group_by("profile_id").aggregate(total=ledger.points.sum())
    with_sums = latest_set.left_join(sums, latest_set._set_profile == sums.profile_id)
    set_lines = with_sums.select(
        profile_id=with_sums._set_profile,
        rule=ibis.literal("manual:set"),
        rule_group=ibis.literal(None, type="string"),
        points=(with_sums._set_value - with_sums.total.fill_null(0)).cast("float64").round(_DIGITS),
        matched=ibis.literal(0, type="int64"),
        evidence=with_sums._set_text,
    )
    return [set_lines, delta_lines]


def _adjustment_text(rows: ir.Table) -> ir.StringValue:
    text: ir.StringValue = (
        rows.kind
        + ibis.literal(" ")
        + as_text(rows.points.round(2))
        + ibis.literal(" by ")
        + rows.author.fill_null("(unknown)")
        + ibis.literal(" on ")
        + rows.made_at.date().cast("string")
        + ibis.literal(": ")
        + rows.reason.fill_null("")
    )
    return text


def _limit_lines(model: ScoringModel, ledger: ir.Table) -> list[ir.Table]:
    """The line that brings the score within the model's ``maximum`` and ``minimum``."""
    if model.maximum is None and model.minimum is None:
        return []
    sums = ledger.group_by("profile_id").aggregate(total=ledger.points.sum())
    extra: list[ir.Table] = []
    if model.maximum is not None:
        over = sums.filter(sums.total > model.maximum)
        extra.append(
            _cap_line(
                over,
                model.maximum - over.total,
                "limit:maximum",
                None,
                ibis.literal("the rules gave ")
                + as_text(over.total.round(2))
                + ibis.literal(f"; the model's maximum is {model.maximum:g}"),
            )
        )
    if model.minimum is not None:
        under = sums.filter(sums.total < model.minimum)
        extra.append(
            _cap_line(
                under,
                model.minimum - under.total,
                "limit:minimum",
                None,
                ibis.literal("the rules gave ")
                + as_text(under.total.round(2))
                + ibis.literal(f"; the model's minimum is {model.minimum:g}"),
            )
        )
    return extra


def totals(ledger: ir.Table, profile_ids: ir.Table) -> ir.Table:
    """``profile_id`` and ``score`` for every profile (0 for those without a line)."""
    sums = ledger.group_by("profile_id").aggregate(_total=ledger.points.sum())
    joined = profile_ids.left_join(sums, profile_ids.profile_id == sums.profile_id)
    return joined.select(
        profile_id=profile_ids.profile_id,
        score=joined._total.fill_null(0.0).round(_DIGITS),
    )


def assign_bands(model: ScoringModel, scores: ir.Table, previous: ir.Table | None) -> ir.Table:
    """``scores`` with ``band`` and ``previous_band``.

    ``previous`` (``profile_id``, ``band``) is the last snapshot before this one.  Without
    hysteresis and free to move down, the band is the one the score falls in.  With hysteresis
    ``h``, a profile stays in its previous, higher band while its score is at least that band's
    minimum minus ``h``.  With ``can_move_down: false`` it never goes below its previous band.
    """
    if previous is None:
        with_previous = scores.mutate(previous_band=ibis.literal(None, type="string"))
    else:
        prev = previous.select(_prev_profile=previous.profile_id, _prev_band=previous.band)
        joined = scores.left_join(prev, scores.profile_id == prev._prev_profile)
        with_previous = joined.select(
            *[joined[c] for c in scores.columns], previous_band=joined._prev_band
        )
    if not model.bands:
        return with_previous.mutate(band=ibis.literal(None, type="string"))
    score = with_previous.score
    raw_rank = ibis.literal(0)
    for index, band in enumerate(model.bands[1:], start=1):
        assert band.min is not None
        raw_rank = ibis.ifelse(score >= band.min, index, raw_rank)
    prev_rank = ibis.cases(
        *[(with_previous.previous_band == band.name, i) for i, band in enumerate(model.bands)],
        else_=ibis.null(),
    )
    rank = raw_rank
    if not model.can_move_down:
        rank = ibis.greatest(raw_rank, prev_rank.fill_null(0))
    elif model.hysteresis > 0:
        prev_min = ibis.cases(
            *[
                (with_previous.previous_band == band.name, band.min)
                for band in model.bands
                if band.min is not None
            ],
            else_=ibis.null(),
        )
        stays = (
            prev_rank.notnull()
            & (raw_rank < prev_rank)
            & (score >= prev_min.fill_null(float("-inf")) - model.hysteresis)
        )
        rank = ibis.ifelse(stays, prev_rank, raw_rank)
    name = ibis.cases(*[(rank == i, band.name) for i, band in enumerate(model.bands)])
    return with_previous.mutate(band=name)


def band_changes(model: ScoringModel, banded: ir.Table) -> ir.Table:
    """Profiles whose band differs from the previous snapshot's (or, scored for the first time,
    that start above the lowest band): ``from_band``, ``to_band``, ``direction``, ``score``."""
    if not model.bands:
        return banded.select(
            profile_id=banded.profile_id,
            from_band=banded.previous_band,
            to_band=banded.band,
            direction=ibis.literal("up"),
            score=banded.score,
        ).limit(0)
    ranks = {band.name: i for i, band in enumerate(model.bands)}
    ranked = banded.mutate(
        _to=ibis.cases(*[(banded.band == n, r) for n, r in ranks.items()], else_=ibis.null()),
        _from=ibis.cases(
            *[(banded.previous_band == n, r) for n, r in ranks.items()], else_=ibis.null()
        ),
    )
    lowest = model.bands[0].name
    changed = ranked.filter(
        (ranked.previous_band.notnull() & (ranked.previous_band != ranked.band))
        | (ranked.previous_band.isnull() & (ranked.band != lowest))
    )
    direction = ibis.ifelse(
        changed.previous_band.isnull(),
        "entered",
        ibis.ifelse(changed._to > changed._from.fill_null(-1), "up", "down"),
    )
    return changed.select(
        profile_id=changed.profile_id,
        from_band=changed.previous_band,
        to_band=changed.band,
        direction=direction,
        score=changed.score,
    )
