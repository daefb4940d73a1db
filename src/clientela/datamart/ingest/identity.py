"""Identity resolution: customers that share a normalised e-mail or phone unify into one profile.

The ``identity`` table maps every customer to its profile; a profile's id is the smallest
customer id of its group, so that the same data always give the same ids.  With the rule
``match="any"`` (the default) customers are linked by any one shared key, transitively: a and b
share an e-mail, b and c a phone, so a, b and c are one profile.  With ``match="all"`` customers
are linked only when every configured key is present and equal.

Groups are the connected components of the graph "customer shares a key with customer", found by
label propagation in SQL: each customer starts with its own id as label; every round, in one
set-based statement, a customer takes the smallest label among the customers it shares a key with
(and the label of its label, which halves long chains); the rounds stop when no label changes.

Every customer that joins a profile other than itself gets a row in ``identity_merges`` with the
key that linked it.  :func:`undo_merge` marks a merge undone and records the customer in
``identity_exclusions``: excluded customers, and placeholder customers, keep their own profile in
every later run.  Null and empty keys never link.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from clientela.config import IdentityRule, Settings
from clientela.datamart.backends import Datamart, quote
from clientela.datamart.ingest.normalize import normalise_email, normalise_phone
from clientela.errors import DataError, NotFoundError, suggest
from clientela.progress import NO_PROGRESS, Progress

__all__ = [
    "MAX_ROUNDS",
    "Merge",
    "MergeStatus",
    "UnifyReport",
    "merge_log",
    "profile_members",
    "resolve",
    "undo_merge",
    "unify",
    "with_profile",
]

log = logging.getLogger(__name__)

MAX_ROUNDS = 100
"""Label propagation rounds after which :func:`unify` gives up (chains this long are absurd)."""

MergeStatus = Literal["active", "superseded", "undone"]

# Working tables, private to the connection (temporary) and dropped after each run.
_KEYS = "_clientela_identity_keys"
_LABELS = ("_clientela_identity_labels_a", "_clientela_identity_labels_b")
_NODES = "_clientela_identity_nodes"
_EDGES = "_clientela_identity_edges"
_NEW = "_clientela_identity_new"
_CHANGED = "_clientela_identity_changed"
_LINKS = "_clientela_identity_links"
_WORK_TABLES = (_KEYS, _NODES, _EDGES, *_LABELS, _NEW, _CHANGED, _LINKS)


@dataclass(frozen=True)
class UnifyReport:
    """What one :func:`unify` run did."""

    customers: int
    """Customers in the datamart (each has one identity row)."""
    profiles: int
    """Distinct profiles after the run."""
    new_merges: int
    """Customers that joined a profile other than their own in this run."""
    unchanged: int
    """Customers whose profile did not change."""
    rounds: int = 0
    """Label propagation rounds needed."""


@dataclass(frozen=True)
class Merge:
    """One row of the merge log: a customer that joined a profile, and why."""

    merge_id: str
    profile_id: str
    customer_id: str
    matched_on: str
    key_value: str
    merged_at: dt.datetime
    undone_at: dt.datetime | None
    status: MergeStatus
    """``active`` (the customer is on this profile now), ``undone``, or ``superseded`` (a later
    run moved the customer to another profile)."""


# -- unify -----------------------------------------------------------------------------------


def unify(
    dm: Datamart,
    settings: Settings,
    *,
    at: dt.datetime | None = None,
    progress: Progress = NO_PROGRESS,
    max_rounds: int = MAX_ROUNDS,
) -> UnifyReport:
    """Unify customers into profiles by the rule ``settings.identity``; log every new merge.

    Idempotent: a second run on the same data changes nothing.  Runs inside the caller's
    transaction when there is one.  ``at`` (naive UTC, default now) stamps the changed rows.
    """
    moment = _naive_utc(at)
    rule = settings.identity
    with dm.transaction(), progress.task("unifying identities") as task:
        try:
            _build_keys(dm, rule)
            labels, rounds = _propagate(dm, max_rounds, task.advance)
            report = _apply(dm, rule, labels, moment, rounds)
        finally:
            for name in _WORK_TABLES:
                dm.drop_table(name)
    log.info(
        "unified %d customers into %d profiles in %d rounds: %d new merges, %d unchanged",
        report.customers,
        report.profiles,
        report.rounds,
        report.new_merges,
        report.unchanged,
    )
    return report


def _build_keys(dm: Datamart, rule: IdentityRule) -> None:
    """The keys that link, and the graph they make.

    ``_KEYS``: (customer, key name, key value) for the values two customers or more share;
    ``_NODES``: an integer per customer in ``_KEYS`` (integers join and compare faster than
    text); ``_EDGES``: each customer linked both ways to the first customer of each of its keys,
    a star per key value, which has the same connected components as the full graph.
    """
    eligible = (
        "SELECT c.customer_id, c.email, c.phone FROM customers c "
        "WHERE c.customer_id IS NOT NULL AND NOT coalesce(c.is_placeholder, FALSE) "
        "AND NOT EXISTS (SELECT 1 FROM identity_exclusions x WHERE x.customer_id = c.customer_id)"
    )
    present = {key: f"{quote(key)} IS NOT NULL AND trim({quote(key)}) <> ''" for key in rule.keys}
    if rule.match == "any":
        parts = [
            f"SELECT customer_id, '{key}' AS key_name, {quote(key)} AS key_value "
            f"FROM eligible WHERE {present[key]}"
            for key in rule.keys
        ]
        raw = " UNION ALL ".join(parts)
    else:
        # Every key must agree: the keys joined with a space (no normalised key holds one).
        value = " || ' ' || ".join(quote(key) for key in rule.keys)
        condition = " AND ".join(present.values())
        raw = (
            f"SELECT customer_id, '{'+'.join(rule.keys)}' AS key_name, {value} AS key_value "
            f"FROM eligible WHERE {condition}"
        )
    _create_temp(
        dm,
        _KEYS,
        f"WITH eligible AS ({eligible}), raw AS ({raw}), "
        "shared AS (SELECT key_name, key_value FROM raw GROUP BY key_name, key_value "
        "HAVING count(*) > 1) "
        "SELECT r.customer_id, r.key_name, r.key_value FROM raw r JOIN shared s "
        "ON s.key_name = r.key_name AND s.key_value = r.key_value",
    )
    _create_temp(
        dm,
        _NODES,
        "SELECT customer_id, CAST(row_number() OVER () AS BIGINT) AS node "
        f"FROM (SELECT DISTINCT customer_id FROM {_KEYS}) d",
    )
    _create_temp(
        dm,
        _EDGES,
        "WITH star AS (SELECT n.node, min(n.node) OVER (PARTITION BY k.key_name, k.key_value) "
        f"AS center FROM {_KEYS} k JOIN {_NODES} n ON n.customer_id = k.customer_id) "
        "SELECT node AS src, center AS dst FROM star WHERE node <> center "
        "UNION ALL SELECT center AS src, node AS dst FROM star WHERE node <> center",
    )


def _propagate(dm: Datamart, max_rounds: int, advance: Callable[[float], None]) -> tuple[str, int]:
    """Labels of the connected components; returns the labels table and the rounds needed.

    A node's label is always a node of its component, and only ever decreases: a round is over
    when the sum of the labels stops falling.  Each round, a node takes the smallest label of
    its neighbours, and so does its current label ("hooking" the whole tree it heads); then
    each node jumps to its label's label.  Chains converge in about log2(length) rounds.
    """
    current, following = _LABELS
    _create_temp(dm, current, f"SELECT node, node AS label FROM {_NODES}")
    previous = _label_sum(dm, current)
    for rounds in range(1, max_rounds + 1):
        _create_temp(
            dm,
            following,
            f"WITH neighbours AS (SELECT e.src AS node, min(p.label) AS label "
            f"FROM {_EDGES} e JOIN {current} p ON p.node = e.dst GROUP BY e.src), "
            f"smallest AS (SELECT p.node, p.label, "
            f"least(p.label, coalesce(nb.label, p.label)) AS reach "
            f"FROM {current} p LEFT JOIN neighbours nb ON nb.node = p.node), "
            f"hooked AS (SELECT node, min(reach) AS label FROM ("
            f"SELECT node, reach FROM smallest UNION ALL SELECT label AS node, reach FROM smallest"
            f") candidates GROUP BY node) "
            f"SELECT h.node, least(h.label, coalesce(j.label, h.label)) AS label "
            f"FROM hooked h LEFT JOIN hooked j ON j.node = h.label",
        )
        total = _label_sum(dm, following)
        dm.drop_table(current)
        current, following = following, current
        advance(1)
        log.debug("identity round %d: label sum %d", rounds, total)
        if total == previous:
            return current, rounds
        previous = total
    raise DataError(
        f"identity resolution did not converge in {max_rounds} rounds: the customers form "
        "chains of shared e-mails and phones too long to be plausible; check for a key shared "
        "by accident (a placeholder e-mail or phone such as 'none@none.com') and clear it",
        rule="identity",
    )


def _label_sum(dm: Datamart, labels: str) -> int:
    return int(dm.sql(f"SELECT coalesce(sum(label), 0) FROM {labels}")[0][0])


def _apply(
    dm: Datamart, rule: IdentityRule, labels: str, moment: dt.datetime, rounds: int
) -> UnifyReport:
    """Write the changed identity rows and the new merges; count what happened."""
    smallest = _binary(dm, "g.customer_id")
    _create_temp(
        dm,
        _NEW,
        f"WITH grouped AS (SELECT n.customer_id, l.label FROM {_NODES} n "
        f"JOIN {labels} l ON l.node = n.node), "
        f"profiles AS (SELECT g.label, min({smallest}) AS profile_id FROM grouped g "
        "GROUP BY g.label), "
        "members AS (SELECT g.customer_id, "
        f"{_default(dm, 'p.profile_id')} AS profile_id FROM grouped g "
        "JOIN profiles p ON p.label = g.label) "
        "SELECT c.customer_id, coalesce(m.profile_id, c.customer_id) AS profile_id "
        "FROM customers c LEFT JOIN members m ON m.customer_id = c.customer_id "
        "WHERE c.customer_id IS NOT NULL",
    )
    _create_temp(
        dm,
        _CHANGED,
        f"SELECT n.customer_id, n.profile_id FROM {_NEW} n WHERE NOT EXISTS ("
        "SELECT 1 FROM identity i "
        "WHERE i.customer_id = n.customer_id AND i.profile_id = n.profile_id)",
    )
    # Why each customer joined: its first configured key that another customer shares.
    order = " ".join(f"WHEN '{key}' THEN {pos}" for pos, key in enumerate(rule.keys))
    _create_temp(
        dm,
        _LINKS,
        "SELECT customer_id, key_name, key_value FROM ("
        "SELECT customer_id, key_name, key_value, row_number() OVER ("
        f"PARTITION BY customer_id ORDER BY CASE key_name {order} ELSE 99 END, key_value) AS rn "
        f"FROM {_KEYS}) ranked WHERE rn = 1",
    )
    dm.sql(
        "DELETE FROM identity WHERE NOT EXISTS ("
        f"SELECT 1 FROM {_NEW} n "
        "WHERE n.customer_id = identity.customer_id AND n.profile_id = identity.profile_id)"
    )
    changed, merged = dm.sql(
        "SELECT count(*), coalesce(sum(CASE WHEN profile_id <> customer_id THEN 1 ELSE 0 END), 0) "
        f"FROM {_CHANGED}"
    )[0]
    # Only inserts that add rows: DuckDB (1.5) loses the rows of a large INSERT ... SELECT that
    # follows an empty one into the same table in the same transaction (a load folder).
    if changed:
        dm.sql(
            "INSERT INTO identity (customer_id, profile_id, updated_at) "
            f"SELECT customer_id, profile_id, CAST(? AS TIMESTAMP) FROM {_CHANGED}",
            [moment],
        )
    if merged:
        dm.sql(
            "INSERT INTO identity_merges "
            "(merge_id, profile_id, customer_id, matched_on, key_value, merged_at, undone_at) "
            "SELECT substr(md5(c.customer_id || '|' || c.profile_id || '|' || ?), 1, 16), "
            "c.profile_id, c.customer_id, k.key_name, k.key_value, CAST(? AS TIMESTAMP), NULL "
            f"FROM {_CHANGED} c JOIN {_LINKS} k ON k.customer_id = c.customer_id "
            "WHERE c.profile_id <> c.customer_id",
            [moment.isoformat(), moment],
        )
    customers, profiles = dm.sql(f"SELECT count(*), count(DISTINCT profile_id) FROM {_NEW}")[0]
    return UnifyReport(
        customers=int(customers),
        profiles=int(profiles),
        new_merges=int(merged),
        unchanged=int(customers) - int(changed),
        rounds=rounds,
    )


def _create_temp(dm: Datamart, name: str, select: str) -> None:
    dm.drop_table(name)
    dm.sql(f"CREATE TEMPORARY TABLE {name} AS {select}")


def _binary(dm: Datamart, expr: str) -> str:
    """``expr`` compared byte by byte, so the smallest id is the same on every backend.

    PostgreSQL orders text by the database's locale (which may ignore case and punctuation);
    DuckDB always compares bytes.
    """
    return f'({expr}) COLLATE "C"' if dm.kind == "postgres" else expr


def _default(dm: Datamart, expr: str) -> str:
    """``expr`` back in the database's collation, to compare with stored columns."""
    return f'({expr}) COLLATE "default"' if dm.kind == "postgres" else expr


def _naive_utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if at.tzinfo is not None:
        return at.astimezone(dt.UTC).replace(tzinfo=None)
    return at


# -- the merge log and undo ------------------------------------------------------------------

_MERGE_COLUMNS = (
    "m.merge_id, m.profile_id, m.customer_id, m.matched_on, m.key_value, m.merged_at, m.undone_at"
)


def merge_log(
    dm: Datamart, *, profile_id: str | None = None, limit: int | None = None
) -> list[Merge]:
    """The merge log, newest first; only the merges into ``profile_id`` when given."""
    where = "WHERE m.profile_id = ?" if profile_id is not None else ""
    params = [profile_id] if profile_id is not None else []
    bounded = f"LIMIT {int(limit)}" if limit is not None else ""
    # The status needs the customer's newest merge, so rank over the whole log, then filter.
    rows = dm.sql(
        "SELECT * FROM ("
        f"SELECT {_MERGE_COLUMNS}, i.profile_id AS current_profile, row_number() OVER ("
        "PARTITION BY m.customer_id ORDER BY m.merged_at DESC, m.merge_id DESC) AS newest "
        "FROM identity_merges m LEFT JOIN identity i ON i.customer_id = m.customer_id) m "
        f"{where} ORDER BY m.merged_at DESC, m.merge_id {bounded}",
        params,
    )
    return [_merge(row) for row in rows]


def _merge(row: tuple[object, ...]) -> Merge:
    merge_id, profile_id, customer_id, matched_on, key_value, merged_at, undone_at = row[:7]
    current_profile, newest = row[7], row[8]
    status: MergeStatus
    if undone_at is not None:
        status = "undone"
    elif current_profile == profile_id and newest == 1:
        status = "active"
    else:
        status = "superseded"
    return Merge(
        merge_id=str(merge_id),
        profile_id=str(profile_id),
        customer_id=str(customer_id),
        matched_on=str(matched_on),
        key_value=str(key_value),
        merged_at=merged_at,  # type: ignore[arg-type]
        undone_at=undone_at,  # type: ignore[arg-type]
        status=status,
    )


def undo_merge(
    dm: Datamart,
    merge_id: str,
    *,
    at: dt.datetime | None = None,
    settings: Settings | None = None,
) -> Merge:
    """Undo a merge: the customer gets its own profile back and keeps it in later runs.

    With ``settings``, :func:`unify` runs again at once (in the same transaction), so that
    customers that were linked to the profile only through this customer are split off too;
    without, the next :func:`unify` does it.  Undoing an undone merge changes nothing.
    """
    moment = _naive_utc(at)
    with dm.transaction():
        rows = dm.sql(
            f"SELECT {_MERGE_COLUMNS}, NULL, NULL FROM identity_merges m WHERE m.merge_id = ?",
            [merge_id],
        )
        if not rows:
            raise NotFoundError(
                f"no merge '{merge_id}' in the merge log{_merge_hint(dm, merge_id)}"
            )
        merge = _merge(rows[0])
        if merge.undone_at is not None:
            log.info("merge %s was already undone at %s", merge_id, merge.undone_at)
            return merge
        dm.sql(
            "UPDATE identity_merges SET undone_at = CAST(? AS TIMESTAMP) WHERE merge_id = ?",
            [moment, merge_id],
        )
        dm.sql(
            "INSERT INTO identity_exclusions (customer_id, merge_id, excluded_at) "
            "VALUES (?, ?, CAST(? AS TIMESTAMP))",
            [merge.customer_id, merge_id, moment],
        )
        dm.sql(
            "UPDATE identity SET profile_id = customer_id, updated_at = CAST(? AS TIMESTAMP) "
            "WHERE customer_id = ?",
            [moment, merge.customer_id],
        )
        log.info("undid merge %s: customer %s is on its own again", merge_id, merge.customer_id)
        if settings is not None:
            unify(dm, settings, at=moment)
    return Merge(**{**merge.__dict__, "undone_at": moment, "status": "undone"})


def _merge_hint(dm: Datamart, merge_id: str) -> str:
    # Candidates that share a beginning or an end: cheap on a long log, and typos are local.
    head, tail = merge_id[:3], merge_id[-3:]
    candidates = dm.sql(
        "SELECT merge_id FROM identity_merges "
        "WHERE substr(merge_id, 1, 3) = ? OR substr(merge_id, length(merge_id) - 2, 3) = ? "
        "LIMIT 5000",
        [head, tail],
    )
    return suggest(merge_id, [str(row[0]) for row in candidates])


# -- looking profiles up ---------------------------------------------------------------------


def resolve(dm: Datamart, key: str, region: str) -> str:
    """The profile id of a customer id, an e-mail or a phone (read in ``region``).

    When several customers with different profiles share the key, the smallest profile id wins.
    """
    lookup = (
        "SELECT coalesce(i.profile_id, c.customer_id) AS profile_id FROM customers c "
        "LEFT JOIN identity i ON i.customer_id = c.customer_id WHERE c.{column} = ?"
    )
    tried: list[str] = []
    candidates: list[tuple[str, str, str]] = [("customer_id", "customer id", key.strip())]
    if "@" in key:
        try:
            email = normalise_email(key)
        except ValueError:
            email = None
        if email:
            candidates.append(("email", "e-mail", email))
    else:
        try:
            phone = normalise_phone(key, region)
        except ValueError:
            phone = None
        if phone:
            candidates.append(("phone", "phone", phone))
    for column, label, value in candidates:
        tried.append(f"{label} '{value}'")
        rows = dm.sql(lookup.format(column=column), [value])
        if rows:
            return min(str(row[0]) for row in rows)
    hint = _customer_hint(dm, key.strip())
    raise NotFoundError(f"no customer matches '{key}': tried {', '.join(tried)}{hint}")


def profile_members(dm: Datamart, profile_id: str) -> list[str]:
    """The customer ids of a profile, sorted; NotFoundError when it is not a profile."""
    rows = dm.sql("SELECT customer_id FROM identity WHERE profile_id = ?", [profile_id])
    if rows:
        return sorted(str(row[0]) for row in rows)
    found = dm.sql(
        "SELECT c.customer_id, i.profile_id FROM customers c "
        "LEFT JOIN identity i ON i.customer_id = c.customer_id WHERE c.customer_id = ?",
        [profile_id],
    )
    if found and found[0][1] is None:  # a customer that unify has not seen yet
        return [profile_id]
    if found:
        raise NotFoundError(
            f"'{profile_id}' is not a profile: customer '{profile_id}' belongs to profile "
            f"'{found[0][1]}'"
        )
    raise NotFoundError(f"no profile '{profile_id}'{_customer_hint(dm, profile_id)}")


def _customer_hint(dm: Datamart, key: str) -> str:
    if not key:
        return ""
    # Candidates that share the first half of the key: cheap on millions of customers.
    prefix = key[: max(1, len(key) // 2)]
    candidates = dm.sql(
        "SELECT customer_id FROM customers WHERE substr(customer_id, 1, ?) = ? LIMIT 5000",
        [len(prefix), prefix],
    )
    return suggest(key, [str(row[0]) for row in candidates])


# -- analytics by profile --------------------------------------------------------------------


def with_profile(table: ir.Table, identity: ir.Table, column: str = "customer_id") -> ir.Table:
    """``table`` with a column ``profile_id``: the profile of ``table[column]``.

    Customers without an identity row (unify has not seen them) are their own profile.  An
    existing ``profile_id`` column is replaced.  Backend-free: nothing is executed.
    """
    base = table.drop("profile_id") if "profile_id" in table.columns else table
    profiles = identity.select(
        _identity_customer=identity.customer_id, _identity_profile=identity.profile_id
    )
    joined = base.left_join(profiles, base[column] == profiles._identity_customer)
    return joined.select(
        *[joined[name] for name in base.columns],
        profile_id=ibis.coalesce(joined._identity_profile, joined[column]),
    )
