"""List scoring: match a CRM's contact list to the datamart, score it, record the run, report.

:func:`score_list` reads the list, bulk-inserts its keys into a temporary table and matches them
set-based to customers and profiles; applies the profile filters; scores the profiles with
:func:`clientela.services.scoring.score_profiles`; gives each scored contact an interest level;
records the run in ``score_list_runs`` and ``score_list_contacts``; compares with the previous
run of the same list and model; and, when asked, writes the Excel report and the audience files
(only contacts whose profile consents to advertising).  See ``docs/score-list.md``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.errors import ConfigError
from clientela.progress import NO_PROGRESS, Progress
from clientela.scoring.definition import LevelCutoffs
from clientela.scoring.lists import (
    LEVELS,
    ContactList,
    ListFilters,
    ScoreListResult,
    ScoreListSummary,
    advertising_consent,
    best_matches,
    choose_cutoffs,
    confirmed_keys,
    filter_facts,
    level_of,
    on_do_not_contact,
    phone_problem,
    read_contact_list,
    top_reasons,
)
from clientela.services._list_history import list_history, previous_contacts, record_run
from clientela.services._summary import default_as_of
from clientela.services.scoring import get_model, score_profiles

__all__ = ["score_list"]

log = logging.getLogger(__name__)

_KEYS = "_score_list_keys"
_MATCHES = "_score_list_matches"
_UNMATCHED = "no customer has this e-mail or phone"


def score_list(
    dm: Datamart,
    settings: Settings,
    file: str | Path,
    model: str,
    *,
    name: str | None = None,
    as_of: dt.date | None = None,
    filters: ListFilters | None = None,
    high: float | None = None,
    medium: float | None = None,
    region: str | None = None,
    sheet: str | None = None,
    out: str | Path | None = None,
    audience_dir: str | Path | None = None,
    audience_levels: Sequence[str] = LEVELS,
    progress: Progress = NO_PROGRESS,
) -> ScoreListResult:
    """Score the contact list ``file`` with ``model``; see the module docstring."""
    filters = filters or ListFilters()
    wanted_levels = _levels(audience_levels)
    _check_outputs(out, audience_dir)
    chosen = get_model(dm, model)
    with progress.task("reading the list") as task:
        contacts = read_contact_list(
            file, region=region or settings.default_region, name=name, sheet=sheet
        )
        task.update(total=contacts.rows)
        task.advance(contacts.rows)
    as_of = as_of or default_as_of(dm)
    try:
        with progress.task("matching to the datamart", total=2) as task:
            matched = _match(dm, contacts, filters, as_of)
            task.advance()
            passing = sorted(
                {str(p) for p, ok in zip(matched["profile_id"], matched["passes"], strict=True)
                 if ok}
            )  # fmt: skip
            task.advance()
        scores = score_profiles(
            dm, settings, chosen, as_of=as_of, profiles=passing, progress=progress
        )
        audience: dict[int, tuple[str | None, str | None]] = {}
        if audience_dir is not None:
            audience = _audience_keys(dm)
    finally:
        dm.drop_table(_MATCHES)
        dm.drop_table(_KEYS)

    by_profile = dict(
        zip(
            scores.scores.column("profile_id").to_pylist(),
            scores.scores.column("score").to_pylist(),
            strict=True,
        )
    )
    scored_values = [
        float(by_profile[p])
        for p, ok in zip(matched["profile_id"], matched["passes"], strict=True)
        if ok and by_profile.get(p) is not None
    ]
    cutoffs, source = choose_cutoffs(
        scored_values, model_levels=chosen.levels, high=high, medium=medium
    )
    reasons = top_reasons(scores.ledger)
    table = _contact_rows(contacts, matched, by_profile, reasons, cutoffs, filters)

    run_id = uuid.uuid4().hex[:16]
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # runs order by it: keep µs
    previous_run, previous = previous_contacts(dm, contacts.name, chosen.name)
    table = _with_changes(table, previous)
    with progress.task("recording the run") as task:
        record_run(
            dm,
            run_id=run_id,
            list_name=contacts.name,
            file=str(file),
            model=chosen.name,
            version=scores.version,
            as_of=as_of,
            scored_at=scored_at,
            contacts=table,
        )
        task.advance()
    history = list_history(dm, contacts.name, chosen.name)
    summary = _summary(
        contacts, table, run_id, chosen.name, scores.version, as_of, scored_at, cutoffs, source,
        filters, previous_run,
    )  # fmt: skip
    result = ScoreListResult(summary=summary, contacts=table, history=history)
    if out is not None:
        from clientela.exports.list_workbook import write_list_workbook

        with progress.task("writing the workbook") as task:
            path = write_list_workbook(result, out)
            task.advance()
        summary = replace(summary, workbook=str(path))
    if audience_dir is not None:
        from clientela.exports.audience import write_audiences

        rows = _audience_rows(table, audience, wanted_levels)
        with progress.task("writing the audience files") as task:
            files, notes = write_audiences(rows, audience_dir, contacts.name)
            task.advance()
        summary = replace(summary, audience=files, warnings=summary.warnings + notes)
    return replace(result, summary=summary)


def _levels(levels: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(level.strip().lower() for level in levels if level.strip()))
    unknown = [level for level in chosen if level not in LEVELS]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown interest level {', '.join(repr(u) for u in unknown) or 'none'}; "
            f"expected some of: {', '.join(LEVELS)}"
        )
    return chosen


def _check_outputs(out: str | Path | None, audience_dir: str | Path | None) -> None:
    """Fail before any work when an output cannot be written."""
    if out is not None:
        target = Path(out)
        if target.suffix.lower() != ".xlsx":
            raise ConfigError(f"the workbook name must end in .xlsx, got '{target.name}'")
        if not target.parent.exists():
            raise ConfigError(f"the folder of the workbook {target} does not exist")
    if audience_dir is not None and Path(audience_dir).exists() and not Path(audience_dir).is_dir():
        raise ConfigError(f"the audience folder {audience_dir} is a file, not a folder")


def _match(
    dm: Datamart, contacts: ContactList, filters: ListFilters, as_of: dt.date
) -> dict[str, list[Any]]:
    """Columns of the matched contacts: contact_no, profile_id, customer_id, matched_on,
    profiles, gender, age, interested, passes."""
    dm.drop_table(_KEYS)
    dm.create_table(
        _KEYS,
        ibis.schema({"contact_no": "int64", "kind": "string", "value": "string"}),
        temp=True,
    )
    dm.bulk_insert(_KEYS, contacts.keys)
    keys = dm.temp_table(_KEYS)
    matches = best_matches(keys, dm.table("customers"), dm.table("identity"))
    dm.create_table_as(_MATCHES, matches, temp=True)
    found = dm.temp_table(_MATCHES)
    if filters.active:
        expr = filter_facts(
            found, dm.table("customers"), dm.table("identity"), dm.table("third_party"),
            filters, as_of,
        )  # fmt: skip
    else:
        expr = found.mutate(
            gender=ibis.null("string"),
            age=ibis.null("int64"),
            interested=ibis.literal(True),
            passes=ibis.literal(True),
        )
    rows = dm.to_pyarrow(expr.order_by("contact_no"))
    return {name: rows.column(name).to_pylist() for name in rows.column_names}


def _audience_keys(dm: Datamart) -> dict[int, tuple[str | None, str | None]]:
    """(e-mail, phone) that may be sent for each contact whose profile consents to advertising.

    Only values a customer of the contact's profile has (checked by the datamart), and none on
    a do-not-contact list; the first e-mail and the first phone of the contact's list order.
    """
    found = dm.temp_table(_MATCHES)
    keys = dm.temp_table(_KEYS)
    customers, identity = dm.table("customers"), dm.table("identity")
    consenting = advertising_consent(dm.table("consents"), identity, among=found)
    allowed = found.semi_join(consenting, found.profile_id == consenting.profile_id)
    sendable = confirmed_keys(keys, customers, identity, allowed)
    listed = on_do_not_contact(sendable, dm.table("do_not_contact"))
    sendable = sendable.anti_join(
        listed, (sendable.kind == listed.kind) & (sendable.value == listed.value)
    )
    rows = dm.to_pyarrow(sendable.order_by(["contact_no", "kind", "value"])).to_pylist()
    first: dict[int, tuple[str | None, str | None]] = {}
    for row in rows:
        email, phone = first.get(int(row["contact_no"]), (None, None))
        if row["kind"] == "email" and email is None:
            email = str(row["value"])
        elif row["kind"] == "phone" and phone is None:
            phone = str(row["value"])
        first[int(row["contact_no"])] = (email, phone)
    return first


def _contact_rows(
    contacts: ContactList,
    matched: dict[str, list[Any]],
    by_profile: dict[str, float | None],
    reasons: dict[str, str],
    cutoffs: LevelCutoffs | None,
    filters: ListFilters,
) -> pa.Table:
    """Every contact once, in list order, with its match, score, level and reasons."""
    n = contacts.size
    status = ["unmatched"] * n
    customer: list[str | None] = [None] * n
    profile: list[str | None] = [None] * n
    matched_on: list[str | None] = [None] * n
    score: list[float | None] = [None] * n
    level: list[str | None] = [None] * n
    why: list[str | None] = [None] * n
    for i, contact_no in enumerate(matched["contact_no"]):
        c = int(contact_no)
        profile_id = str(matched["profile_id"][i])
        customer[c] = matched["customer_id"][i]
        profile[c] = profile_id
        on = str(matched["matched_on"][i])
        others = int(matched["profiles"][i]) - 1
        matched_on[c] = on + (f" (and {others} other profiles)" if others > 0 else "")
        if not matched["passes"][i]:
            status[c] = "excluded"
            why[c] = "excluded by the filters: " + _failed(filters, matched, i)
            continue
        value = by_profile.get(profile_id)
        status[c] = "scored"
        score[c] = 0.0 if value is None else float(value)
        level[c] = level_of(score[c] or 0.0, cutoffs) if cutoffs is not None else None
        why[c] = reasons.get(profile_id, "no rule gave points")
    problems = contacts.contacts.column("problem").to_pylist()
    emails = contacts.contacts.column("email").to_pylist()
    phones = contacts.contacts.column("phone").to_pylist()
    written = contacts.contacts.column("phone_raw").to_pylist()
    for c in range(n):
        if status[c] != "unmatched":
            continue
        problem = problems[c]
        if problem is None and emails[c] is None and phones[c] is not None:
            # Phones were read without the full validity check: explain the one that failed.
            as_written = written[c] if written[c] and "," not in written[c] else phones[c]
            problem = phone_problem(as_written, contacts.region)
        why[c] = problem or _UNMATCHED
    base = contacts.contacts
    return pa.table(
        {
            "contact": base.column("contact"),
            "email": base.column("email"),
            "phone": base.column("phone"),
            "email_raw": base.column("email_raw"),
            "phone_raw": base.column("phone_raw"),
            "line": base.column("line"),
            "rows": base.column("rows"),
            "status": pa.array(status, pa.string()),
            "customer_id": pa.array(customer, pa.string()),
            "profile_id": pa.array(profile, pa.string()),
            "matched_on": pa.array(matched_on, pa.string()),
            "score": pa.array(score, pa.float64()),
            "level": pa.array(level, pa.string()),
            "reasons": pa.array(why, pa.string()),
        }
    )


def _failed(filters: ListFilters, matched: dict[str, list[Any]], i: int) -> str:
    gender, age, interested = matched["gender"][i], matched["age"][i], matched["interested"][i]
    failed = []
    if filters.genders and (gender or "unknown") not in filters.genders:
        failed.append(f"gender {gender or 'unknown'}")
    too_young = filters.min_age is not None and (age is None or age < filters.min_age)
    too_old = filters.max_age is not None and (age is None or age > filters.max_age)
    if too_young or too_old:
        failed.append("age unknown" if age is None else f"age {age}")
    if filters.interests and not interested:
        wanted = " or ".join(filters.interests)
        failed.append(f"no {filters.interest_attribute} matching {wanted}")
    return "; ".join(failed)


def _with_changes(
    table: pa.Table, previous: dict[str, tuple[float | None, str | None]]
) -> pa.Table:
    names = table.column("contact").to_pylist()
    scores = table.column("score").to_pylist()
    levels = table.column("level").to_pylist()
    before = [previous.get(name, (None, None)) for name in names]
    change = [
        None if now is None or was is None else now - was
        for now, (was, _) in zip(scores, before, strict=True)
    ]
    movement = [
        _movement(now, was, name in previous)
        for now, (_, was), name in zip(levels, before, names, strict=True)
    ]
    return (
        table.append_column("previous_score", pa.array([b[0] for b in before], pa.float64()))
        .append_column("previous_level", pa.array([b[1] for b in before], pa.string()))
        .append_column("change", pa.array(change, pa.float64()))
        .append_column("movement", pa.array(movement, pa.string()))
    )


def _movement(now: str | None, was: str | None, known: bool) -> str | None:
    if not known:
        return "new"
    if now is None or was is None:
        if now is None:
            return None if was is None else "no longer scored"
        return "newly scored"
    rank = {level: i for i, level in enumerate(reversed(LEVELS))}
    if rank[now] > rank[was]:
        return "up"
    if rank[now] < rank[was]:
        return "down"
    return "same"


def _summary(
    contacts: ContactList,
    table: pa.Table,
    run_id: str,
    model: str,
    version: int,
    as_of: dt.date,
    scored_at: dt.datetime,
    cutoffs: LevelCutoffs | None,
    source: Any,
    filters: ListFilters,
    previous_run: str | None,
) -> ScoreListSummary:
    status = table.column("status").to_pylist()
    levels = table.column("level").to_pylist()
    movements = table.column("movement").to_pylist()
    counts = {level: levels.count(level) for level in LEVELS}
    changes: dict[str, int] = {}
    if previous_run is not None:
        for movement in ("up", "down", "same", "new", "newly scored", "no longer scored"):
            changes[movement] = movements.count(movement)
    warnings: list[str] = []
    if contacts.duplicates:
        warnings.append(
            f"{_count(contacts.duplicates, 'duplicate row')} (same e-mail or phone as an "
            "earlier row) merged into the first row's contact"
        )
    if contacts.local_phones:
        warnings.append(
            f"{_count(contacts.local_phones, 'phone')} without a country code read as "
            f"numbers of region {contacts.region}"
        )
    if contacts.invalid_values:
        warnings.append(
            f"{_count(contacts.invalid_values, 'e-mail or phone value')} neither a valid e-mail "
            "nor a valid phone; their contacts are matched on their other values or listed as "
            "unmatched"
        )
    if contacts.by_content:
        warnings.append("no column header names an e-mail or phone; the columns were "
                        "recognised by their values")  # fmt: skip
    matched = sum(s != "unmatched" for s in status)
    return ScoreListSummary(
        run_id=run_id,
        list_name=contacts.name,
        file=contacts.file,
        model=model,
        version=version,
        as_of=as_of,
        scored_at=scored_at,
        rows=contacts.rows,
        contacts=contacts.size,
        duplicates=contacts.duplicates,
        matched=matched,
        unmatched=contacts.size - matched,
        excluded=status.count("excluded"),
        scored=status.count("scored"),
        levels=counts,
        cutoffs=cutoffs,
        cutoffs_source=source,
        filters=filters.describe(),
        region=contacts.region,
        local_phones=contacts.local_phones,
        invalid_values=contacts.invalid_values,
        email_columns=contacts.email_columns,
        phone_columns=contacts.phone_columns,
        previous_run=previous_run,
        changes=changes,
        warnings=tuple(warnings),
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _audience_rows(
    table: pa.Table,
    sendable: dict[int, tuple[str | None, str | None]],
    levels: Sequence[str],
) -> list[tuple[str | None, str | None]]:
    """(e-mail, phone) of the scored contacts in ``levels`` that may be sent, in list order."""
    return [
        sendable[contact_no]
        for contact_no, level in enumerate(table.column("level").to_pylist())
        if level in levels and contact_no in sendable
    ]
