"""A target compiled to one Ibis expression: per-subject tables joined onto the profiles, then
the predicate.

Backend-free: the functions take tables and return expressions.  Every subject becomes one
column of a per-profile table (a field, the newest score of a model, a count of behaviour in a
window, a segment flag); a profile without a row for a subject has NULL there (a test on it is
false, except ``missing: true``), a count of zero, or is no member.  The comparisons are the
scoring conditions' own (:mod:`clientela.scoring._conditions`), so ``equals: North`` means the
same in a target, a segment and a scoring rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from clientela.campaigns.targeting import BEHAVIOUR_FILTERS, BEHAVIOUR_SUBJECTS, TargetCondition
from clientela.datamart.ingest.identity import with_profile
from clientela.scoring._conditions import _compare
from clientela.scoring._facts import attribute_column

__all__ = [
    "BEHAVIOUR_TIME",
    "SubjectTable",
    "behaviour_counts",
    "column_of",
    "join_subjects",
    "latest_predictions",
    "latest_scores",
    "segment_flags",
    "target_predicate",
    "window_key",
]

# The column that dates a row of each behaviour table.
BEHAVIOUR_TIME: dict[str, str] = {
    "events": "occurred_at",
    "transactions": "occurred_at",
    "interactions": "occurred_at",
    "responses": "responded_at",
}


@dataclass(frozen=True)
class SubjectTable:
    """A per-profile table (``_subject_profile`` and value columns) and how its columns are
    named on the joined facts, with the value a profile without a row takes (None: NULL)."""

    table: ir.Table
    columns: Mapping[str, str]
    default: object = None


def window_key(leaf: TargetCondition) -> tuple[object, ...]:
    """What a count reads: tests of the same count share its column."""
    return (leaf.subject, leaf.types, leaf.within_days, leaf.filters)


def column_of(leaf: TargetCondition, counts: Sequence[tuple[object, ...]]) -> str:
    """The column of the joined facts a test reads."""
    kind, name = leaf.subject_kind, str(leaf.subject)
    if kind == "field":
        return name
    if kind == "attribute":
        return attribute_column(name)
    if kind in ("score", "band", "probability", "decile"):
        return f"_{kind}__{name}"
    if kind == "segment":
        return f"_segment__{name}"
    return f"_count__{counts.index(window_key(leaf))}"


def latest_scores(snapshots: ir.Table, model: str, as_of: dt.date) -> ir.Table:
    """Each profile's newest score and band of a scoring model dated on or before ``as_of``."""
    rows = snapshots.filter(
        (snapshots.model == model) & (snapshots.as_of <= ibis.literal(as_of, type="date"))
    )
    newest = ibis.row_number().over(
        group_by=rows.profile_id, order_by=[ibis.desc(rows.as_of), ibis.desc(rows.version)]
    )
    latest = rows.mutate(_rank=newest).filter(lambda t: t._rank == 0)
    return latest.select(_subject_profile=latest.profile_id, score=latest.score, band=latest.band)


def latest_predictions(scores: ir.Table, model: str, as_of: dt.date) -> ir.Table:
    """Each profile's newest probability and decile of a predictive model on or before
    ``as_of`` (the newest version when one date was scored twice)."""
    rows = scores.filter(
        (scores.model == model) & (scores.as_of <= ibis.literal(as_of, type="date"))
    )
    newest = ibis.row_number().over(
        group_by=rows.profile_id, order_by=[ibis.desc(rows.as_of), ibis.desc(rows.version)]
    )
    latest = rows.mutate(_rank=newest).filter(lambda t: t._rank == 0)
    return latest.select(
        _subject_profile=latest.profile_id,
        probability=latest.probability,
        decile=latest.decile,
    )


def behaviour_counts(
    table: ir.Table,
    identity: ir.Table,
    windows: Sequence[TargetCondition],
    as_of: dt.date,
) -> ir.Table:
    """For each count (leaf) of one behaviour table, how many of its rows of the leaf's types
    and filters each profile has in the leaf's ``within_days`` days before the as-of date (the
    as-of day itself is not counted yet): columns ``count_0``, ``count_1``... in the order of
    ``windows``.

    The table is read once for all its counts: the rows of the widest window and of any type
    counted, each counted where its own window, types and filters hold.  Profiles without any
    such row have no row here (the caller fills 0).
    """
    assert windows and all(w.subject in BEHAVIOUR_SUBJECTS for w in windows)
    name = str(windows[0].subject)
    cutoff = ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp")
    time = table[BEHAVIOUR_TIME[name]]
    widest = max(int(w.within_days or 0) for w in windows)
    types = sorted({t for w in windows for t in w.types})
    rows = table.filter(
        time < cutoff,
        time >= cutoff - ibis.interval(days=widest),
        table[BEHAVIOUR_SUBJECTS[name]].isin(types),
        table.customer_id.notnull(),
    )
    tests = {
        f"_holds_{index}": _row_test(rows, name, window, cutoff)
        for index, window in enumerate(windows)
    }
    linked = with_profile(rows.select("customer_id", **tests), identity)
    counted = linked.group_by("profile_id").aggregate(
        **{
            f"count_{index}": linked.profile_id.count(where=linked[f"_holds_{index}"])
            for index in range(len(windows))
        }
    )
    return counted.rename(_subject_profile="profile_id")


def _row_test(
    rows: ir.Table, name: str, window: TargetCondition, cutoff: ir.TimestampScalar
) -> ir.BooleanValue:
    """True on the rows one count counts (never NULL)."""
    assert window.within_days is not None
    time = rows[BEHAVIOUR_TIME[name]]
    test: ir.BooleanValue = (time >= cutoff - ibis.interval(days=window.within_days)) & rows[
        BEHAVIOUR_SUBJECTS[name]
    ].isin(list(window.types))
    columns = BEHAVIOUR_FILTERS[name]
    for key, values in window.filters:
        matched = [rows[column].isin(list(values)).fill_null(False) for column in columns[key]]
        either = matched[0]
        for other in matched[1:]:
            either = either | other
        test = test & either
    return test.fill_null(False)


def segment_flags(members: ir.Table) -> ir.Table:
    """``member`` (true) for each distinct profile of a segment's members."""
    distinct = members.select("profile_id").distinct()
    return distinct.select(_subject_profile=distinct.profile_id, member=ibis.literal(True))


def join_subjects(facts: ir.Table, subjects: Sequence[SubjectTable]) -> ir.Table:
    """The facts (one row per ``profile_id``) with each subject table's columns joined on."""
    for subject in subjects:
        joined = facts.left_join(subject.table, facts.profile_id == subject.table._subject_profile)
        added: dict[str, ir.Value] = {}
        for source, name in subject.columns.items():
            value = joined[source]
            added[name] = value if subject.default is None else value.fill_null(subject.default)
        facts = joined.select(*[joined[c] for c in facts.columns], **added)
    return facts


def target_predicate(
    condition: TargetCondition, facts: ir.Table, counts: Sequence[tuple[object, ...]]
) -> ir.BooleanValue:
    """True where the condition holds on a row of the joined facts (never NULL)."""
    if condition.op in ("all", "any"):
        parts = [target_predicate(part, facts, counts) for part in condition.parts]
        result = parts[0]
        for part in parts[1:]:
            result = (result & part) if condition.op == "all" else (result | part)
        return result
    if condition.op == "not":
        return ~target_predicate(condition.parts[0], facts, counts)
    value = facts[column_of(condition, counts)]
    if condition.op == "member":
        member: ir.BooleanValue = value.fill_null(False)
        return member
    test: ir.BooleanValue = _compare(condition.op, value, condition.value).fill_null(False)
    return test
