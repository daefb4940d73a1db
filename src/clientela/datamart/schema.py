"""The datamart's tables: one ibis schema per table, with its key and its rules.

Timestamps are naive and mean UTC; dates are calendar dates.  Money is ``float64`` in the
company's currency (``transactions.currency`` records it when an export carries several).

Every table has a key column (``<name>_id`` or ``customer_id``) that makes loads idempotent: a row
whose key is already in the datamart with the same values is counted as unchanged; with other
values it updates the row (``on_conflict="update"``, for descriptive tables such as customers) or
is rejected (``on_conflict="reject"``, for facts such as transactions).  When an export has no key,
the loader derives it as a hash of ``key_from``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import ibis
import ibis.expr.schema as sch

from clientela.errors import NotFoundError, suggest

__all__ = [
    "BOOKKEEPING",
    "CAMPAIGNS",
    "DATA_TABLES",
    "DERIVED",
    "INDEXING",
    "PREDICTIVE",
    "REFUND_KINDS",
    "SCORING",
    "SEGMENTS",
    "TABLES",
    "TableSpec",
    "spec",
]

ConflictPolicy = Literal["update", "reject"]


@dataclass(frozen=True)
class TableSpec:
    """A datamart table: its schema, key and the rules a load applies to it."""

    name: str
    schema: sch.Schema
    key: str
    description: str
    key_from: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    on_conflict: ConflictPolicy = "reject"
    customer_columns: tuple[str, ...] = ("customer_id",)
    customer_optional: bool = False
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)


CUSTOMER_KINDS = ("person", "company")
GENDERS = ("female", "male", "other", "unknown")
TRANSACTION_KINDS = ("sale", "return", "cancellation", "fee", "adjustment")
# Rows that give money back; their amounts are negative.
REFUND_KINDS = ("return", "cancellation")
EVENT_TYPES_DOC = (
    "page_view",
    "email_open",
    "email_click",
    "form_submit",
    "app_session",
    "search",
    "cart_add",
    "cart_abandon",
)
SOCIAL_KINDS = ("like", "share", "comment", "mention", "follow", "review")
INTERACTION_KINDS = (
    "contact",
    "offer",
    "response",
    "call",
    "complaint",
    "incident",
    "return",
    "visit",
    "message",
)
INTERACTION_STATUSES = ("open", "closed")
CONSENT_CHANNELS = ("email", "sms", "phone", "mail", "push", "ads", "any")
CONSENT_STATUSES = ("opt_in", "opt_out")
DNC_KINDS = ("email", "phone")
CONTRACT_STATUSES = ("active", "ended", "suspended")
ResponseKind = Literal[
    "delivered",
    "bounce",
    "open",
    "click",
    "call_outcome",
    "accepted",
    "rejected",
    "purchase",
    "unsubscribe",
]
RESPONSE_KINDS: tuple[str, ...] = get_args(ResponseKind)

CUSTOMERS = TableSpec(
    name="customers",
    description="One row per customer (person or company) as the source systems know them.",
    schema=ibis.schema(
        {
            "customer_id": "string",
            "kind": "string",
            "name": "string",
            "email": "string",
            "phone": "string",
            "birth_date": "date",
            "gender": "string",
            "address": "string",
            "postal_code": "string",
            "city": "string",
            "region": "string",
            "country": "string",
            "industry": "string",
            "company_size": "string",
            "employees": "int64",
            "account_owner": "string",
            "created_at": "timestamp",
            "updated_at": "timestamp",
            "is_placeholder": "boolean",
        }
    ),
    key="customer_id",
    required=("customer_id",),
    on_conflict="update",
    customer_columns=(),
    allowed={"kind": CUSTOMER_KINDS, "gender": GENDERS},
    ranges={"employees": (0, 10_000_000)},
)

TRANSACTIONS = TableSpec(
    name="transactions",
    description=(
        "Order or invoice lines.  Returns and cancellations are rows of kind 'return' or "
        "'cancellation' with negative quantity and amount."
    ),
    schema=ibis.schema(
        {
            "transaction_id": "string",
            "order_id": "string",
            "line_no": "int64",
            "customer_id": "string",
            "occurred_at": "timestamp",
            "product_id": "string",
            "product_name": "string",
            "category": "string",
            "quantity": "float64",
            "unit_price": "float64",
            "amount": "float64",
            "cost": "float64",
            "margin": "float64",
            "channel": "string",
            "kind": "string",
            "currency": "string",
        }
    ),
    key="transaction_id",
    key_from=(
        "order_id",
        "line_no",
        "customer_id",
        "occurred_at",
        "product_id",
        "product_name",
        "quantity",
        "unit_price",
        "amount",
    ),
    required=("order_id", "customer_id", "occurred_at", "amount"),
    allowed={"kind": TRANSACTION_KINDS},
)

REFERRALS = TableSpec(
    name="referrals",
    description="Who referred whom; whether the referred customer bought.",
    schema=ibis.schema(
        {
            "referral_id": "string",
            "referrer_id": "string",
            "referred_id": "string",
            "referred_at": "timestamp",
            "converted": "boolean",
            "channel": "string",
        }
    ),
    key="referral_id",
    key_from=("referrer_id", "referred_id"),
    required=("referrer_id", "referred_id"),
    on_conflict="update",
    customer_columns=("referrer_id", "referred_id"),
)

COST_TO_SERVE = TableSpec(
    name="cost_to_serve",
    description="What serving a customer cost in a period (support, logistics, sales visits...).",
    schema=ibis.schema(
        {
            "cost_id": "string",
            "customer_id": "string",
            "period_start": "date",
            "period_end": "date",
            "category": "string",
            "cost": "float64",
        }
    ),
    key="cost_id",
    key_from=("customer_id", "period_start", "category"),
    required=("customer_id", "period_start", "cost"),
    on_conflict="update",
    ranges={"cost": (0, None)},
)

THIRD_PARTY = TableSpec(
    name="third_party",
    description="Bought or appended attributes: source, as-of date, attribute, value.",
    schema=ibis.schema(
        {
            "attribute_id": "string",
            "customer_id": "string",
            "source": "string",
            "as_of": "date",
            "attribute": "string",
            "value": "string",
        }
    ),
    key="attribute_id",
    key_from=("customer_id", "source", "attribute", "as_of"),
    required=("customer_id", "attribute"),
    on_conflict="update",
)

EVENTS = TableSpec(
    name="events",
    description=(
        "Behaviour: page views, e-mail opens and clicks, forms, app sessions, searches, carts.  "
        "``object_id`` is the page, product or e-mail concerned; ``properties`` a JSON object."
    ),
    schema=ibis.schema(
        {
            "event_id": "string",
            "customer_id": "string",
            "anonymous_id": "string",
            "occurred_at": "timestamp",
            "event_type": "string",
            "object_id": "string",
            "channel": "string",
            "properties": "string",
        }
    ),
    key="event_id",
    key_from=("customer_id", "anonymous_id", "occurred_at", "event_type", "object_id"),
    required=("occurred_at", "event_type"),
    customer_optional=True,
)

SOCIAL = TableSpec(
    name="social",
    description="Social signals: network, kind (like, share, comment, mention), sentiment.",
    schema=ibis.schema(
        {
            "signal_id": "string",
            "customer_id": "string",
            "network": "string",
            "kind": "string",
            "sentiment": "float64",
            "occurred_at": "timestamp",
            "content": "string",
        }
    ),
    key="signal_id",
    key_from=("customer_id", "network", "kind", "occurred_at"),
    required=("customer_id", "network", "kind", "occurred_at"),
    allowed={"kind": SOCIAL_KINDS},
    ranges={"sentiment": (-1, 1)},
)

INTERACTIONS = TableSpec(
    name="interactions",
    description=(
        "Every contact with its outcome: contacts, offers, responses, calls, complaints, "
        "incidents, returns.  Open complaints, incidents and returns are the customer's open "
        "issues."
    ),
    schema=ibis.schema(
        {
            "interaction_id": "string",
            "customer_id": "string",
            "occurred_at": "timestamp",
            "kind": "string",
            "channel": "string",
            "status": "string",
            "outcome": "string",
            "closed_at": "timestamp",
            "campaign_id": "string",
            "offer_id": "string",
            "description": "string",
        }
    ),
    key="interaction_id",
    key_from=("customer_id", "occurred_at", "kind", "channel"),
    required=("customer_id", "occurred_at", "kind"),
    on_conflict="update",
    allowed={"kind": INTERACTION_KINDS, "status": INTERACTION_STATUSES},
)

CONSENTS = TableSpec(
    name="consents",
    description="Consent records: channel, purpose, opt-in or opt-out; the newest one counts.",
    schema=ibis.schema(
        {
            "consent_id": "string",
            "customer_id": "string",
            "channel": "string",
            "purpose": "string",
            "status": "string",
            "source": "string",
            "recorded_at": "timestamp",
        }
    ),
    key="consent_id",
    key_from=("customer_id", "channel", "purpose", "recorded_at"),
    required=("customer_id", "channel", "status", "recorded_at"),
    allowed={"channel": CONSENT_CHANNELS, "status": CONSENT_STATUSES},
)

DO_NOT_CONTACT = TableSpec(
    name="do_not_contact",
    description="Robinson-style lists: normalised e-mails and phones never to be contacted.",
    schema=ibis.schema(
        {
            "entry_id": "string",
            "kind": "string",
            "value": "string",
            "list_name": "string",
            "added_at": "timestamp",
        }
    ),
    key="entry_id",
    key_from=("kind", "value", "list_name"),
    required=("kind", "value"),
    on_conflict="update",
    customer_columns=(),
    allowed={"kind": DNC_KINDS},
)

CONTRACTS = TableSpec(
    name="contracts",
    description=(
        "Contracts and subscriptions: the product held, when it started, when it is due to end "
        "(renewal or expiry) and when it actually ended.  A contract that ended is churn for a "
        "contractual business; one about to end is a trigger for a retention action."
    ),
    schema=ibis.schema(
        {
            "contract_id": "string",
            "customer_id": "string",
            "product": "string",
            "status": "string",
            "started_at": "timestamp",
            "ends_at": "timestamp",
            "ended_at": "timestamp",
            "monthly_amount": "float64",
            "channel": "string",
        }
    ),
    key="contract_id",
    key_from=("customer_id", "product", "started_at"),
    required=("customer_id", "product", "started_at"),
    on_conflict="update",
    allowed={"status": CONTRACT_STATUSES},
    ranges={"monthly_amount": (0, None)},
)

RESPONSES = TableSpec(
    name="responses",
    description=(
        "Responses to campaign contacts: deliveries, opens, clicks, call outcomes, offers "
        "accepted or rejected, purchases attributed to a contact.  ``campaign`` names the "
        "campaign; ``contact_id`` the contact of contact_history answered, when the file knows "
        "it (otherwise the customer's contact in that campaign is found by the attribution)."
    ),
    schema=ibis.schema(
        {
            "response_id": "string",
            "campaign": "string",
            "customer_id": "string",
            "contact_id": "string",
            "responded_at": "timestamp",
            "kind": "string",
            "channel": "string",
            "offer_id": "string",
            "outcome": "string",
            "revenue": "float64",
            "margin": "float64",
            "source": "string",
        }
    ),
    key="response_id",
    key_from=("campaign", "customer_id", "responded_at", "kind"),
    required=("campaign", "customer_id", "responded_at", "kind"),
    on_conflict="update",
    allowed={"kind": RESPONSE_KINDS},
)

DATA_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CUSTOMERS,
        TRANSACTIONS,
        REFERRALS,
        COST_TO_SERVE,
        THIRD_PARTY,
        EVENTS,
        SOCIAL,
        INTERACTIONS,
        CONSENTS,
        DO_NOT_CONTACT,
        CONTRACTS,
        RESPONSES,
    )
}

# Tables the datamart keeps about itself.
BOOKKEEPING: dict[str, sch.Schema] = {
    "schema_migrations": ibis.schema(
        {"version": "int64", "description": "string", "applied_at": "timestamp"}
    ),
    "loads": ibis.schema(
        {
            "load_id": "string",
            "batch_id": "string",
            "file": "string",
            "sha256": "string",
            "target": "string",
            "started_at": "timestamp",
            "finished_at": "timestamp",
            "rows_read": "int64",
            "rows_inserted": "int64",
            "rows_updated": "int64",
            "rows_unchanged": "int64",
            "rows_rejected": "int64",
            "rows_skipped": "int64",
        }
    ),
    "rejects": ibis.schema(
        {
            "load_id": "string",
            "file": "string",
            "line": "int64",
            "target": "string",
            "column_name": "string",
            "value": "string",
            "rule": "string",
            "reason": "string",
            "action": "string",
            "raw": "string",
        }
    ),
    "identity": ibis.schema(
        {
            "customer_id": "string",
            "profile_id": "string",
            "updated_at": "timestamp",
        }
    ),
    "identity_merges": ibis.schema(
        {
            "merge_id": "string",
            "profile_id": "string",
            "customer_id": "string",
            "matched_on": "string",
            "key_value": "string",
            "merged_at": "timestamp",
            "undone_at": "timestamp",
        }
    ),
    "identity_exclusions": ibis.schema(
        {"customer_id": "string", "merge_id": "string", "excluded_at": "timestamp"}
    ),
}

# Kept by the loads (migration 6): one row per customer and order, with the time of its earliest
# line other than a return or cancellation (``ordered_at``, null when it has none) and of its
# earliest return or cancellation (``refunded_at``), so that a customer's orders and returns as
# of any date are plain counts (RFM frequency, the summary's KPIs) instead of distinct counts
# of the order ids of every line.
DERIVED: dict[str, sch.Schema] = {
    "orders": ibis.schema(
        {
            "customer_id": "string",
            "order_id": "string",
            "ordered_at": "timestamp",
            "refunded_at": "timestamp",
        }
    ),
}

# Indexes that a load replaced with its table and has still to build (migration 7).  A first load
# on DuckDB replaces the empty target with its stage (see ``clientela.datamart.ingest._merge``);
# the target's indexes are built after the load commits, where DuckDB builds them in about half
# the time, and stay listed here until they are, so that an interrupted build is finished by the
# next command.
INDEXING: dict[str, sch.Schema] = {
    "pending_indexes": ibis.schema(
        {
            "index_name": "string",
            "table_name": "string",
            "sql": "string",
            "recorded_at": "timestamp",
        }
    ),
}

# Rule-based scoring (migration 2): models and their versions, runs, the dated snapshot of every
# profile's score and band, the points ledger that explains each score, band changes, manual
# adjustments, and the runs of list scoring.
SCORING: dict[str, sch.Schema] = {
    "score_models": ibis.schema(
        {
            "model": "string",
            "version": "int64",
            "definition": "string",
            "checksum": "string",
            "source_file": "string",
            "registered_at": "timestamp",
        }
    ),
    "score_runs": ibis.schema(
        {
            "run_id": "string",
            "model": "string",
            "version": "int64",
            "as_of": "date",
            "started_at": "timestamp",
            "finished_at": "timestamp",
            "profiles": "int64",
            "scored": "int64",
            "band_changes": "int64",
        }
    ),
    "score_snapshots": ibis.schema(
        {
            "model": "string",
            "as_of": "date",
            "profile_id": "string",
            "version": "int64",
            "run_id": "string",
            "score": "float64",
            "band": "string",
        }
    ),
    "score_ledger": ibis.schema(
        {
            "model": "string",
            "as_of": "date",
            "profile_id": "string",
            "rule": "string",
            "rule_group": "string",
            "points": "float64",
            "matched": "int64",
            "evidence": "string",
        }
    ),
    "score_band_changes": ibis.schema(
        {
            "model": "string",
            "as_of": "date",
            "profile_id": "string",
            "from_band": "string",
            "to_band": "string",
            "direction": "string",
            "score": "float64",
            "run_id": "string",
        }
    ),
    "score_adjustments": ibis.schema(
        {
            "adjustment_id": "string",
            "model": "string",
            "profile_id": "string",
            "kind": "string",
            "points": "float64",
            "reason": "string",
            "author": "string",
            "made_at": "timestamp",
        }
    ),
    "score_list_runs": ibis.schema(
        {
            "run_id": "string",
            "list_name": "string",
            "file": "string",
            "model": "string",
            "version": "int64",
            "as_of": "date",
            "scored_at": "timestamp",
            "contacts": "int64",
            "matched": "int64",
            "unmatched": "int64",
        }
    ),
    "score_list_contacts": ibis.schema(
        {
            "run_id": "string",
            "contact": "string",
            "email": "string",
            "phone": "string",
            "profile_id": "string",
            "score": "float64",
            "level": "string",
            "reasons": "string",
        }
    ),
}

# Predictive models (migration 3): every trained version with its target, training window,
# features, parameters, metrics, the fitted estimator (joblib, base64 text: the datamart is
# trusted like the code, see docs/models.md) and the training baseline for monitoring, and the
# dated scores with their top reasons.
PREDICTIVE: dict[str, sch.Schema] = {
    "predictive_models": ibis.schema(
        {
            "name": "string",
            "version": "int64",
            "kind": "string",
            "algorithm": "string",
            "target": "string",
            "cutoff": "date",
            "outcome_days": "int64",
            "feature_spec": "string",
            "features": "string",
            "parameters": "string",
            "metrics": "string",
            "warnings": "string",
            "examples": "int64",
            "positives": "int64",
            "created_at": "timestamp",
            "estimator": "string",
            # The training sample's bins of the score and of each feature (monitoring, PSI).
            "baseline": "string",
        }
    ),
    "predictive_scores": ibis.schema(
        {
            "model": "string",
            "version": "int64",
            "as_of": "date",
            "profile_id": "string",
            "probability": "float64",
            "decile": "int64",
            "reasons": "string",
        }
    ),
}

# Saved segments (migration 4): a name and its definition (YAML text, as ``segment save`` got it).
SEGMENTS: dict[str, sch.Schema] = {
    "segments": ibis.schema({"name": "string", "definition": "string", "created_at": "timestamp"}),
}

# Campaigns (migration 5): every version of a campaign's definition, its runs (previews are not
# stored; executions are), the contact history (one row per customer, campaign and contact,
# held-out and deferred customers included, with the reason), the customers each exclusion
# removed with its reason, the global hold-out and the log of trigger firings (one per
# occurrence: the key makes a trigger idempotent).
CAMPAIGNS: dict[str, sch.Schema] = {
    "campaigns": ibis.schema(
        {
            "name": "string",
            "version": "int64",
            "objective": "string",
            "definition": "string",
            "created_at": "timestamp",
        }
    ),
    "campaign_runs": ibis.schema(
        {
            "run_id": "string",
            "campaign": "string",
            "version": "int64",
            "as_of": "date",
            "executed_at": "timestamp",
            "trigger": "string",
            "funnel": "string",
            "contacted": "int64",
            "held_out": "int64",
            "deferred": "int64",
            "dropped": "int64",
            "out_dir": "string",
        }
    ),
    "contact_history": ibis.schema(
        {
            "contact_id": "string",
            "run_id": "string",
            "campaign": "string",
            "version": "int64",
            "profile_id": "string",
            "customer_id": "string",
            "channel": "string",
            "offer_id": "string",
            # planned (to be contacted on planned_for), contacted, held_out (control group or
            # global hold-out: never contacted), deferred (over capacity, a later run may take
            # it), dropped (over capacity, with the reason).
            "status": "string",
            "group_name": "string",
            "planned_for": "date",
            "priority": "float64",
            "score_decile": "int64",
            "reason": "string",
            "created_at": "timestamp",
        }
    ),
    "campaign_exclusions": ibis.schema(
        {
            "run_id": "string",
            "campaign": "string",
            "profile_id": "string",
            "step": "string",
            "reason": "string",
        }
    ),
    "global_holdout": ibis.schema(
        {
            "profile_id": "string",
            "valid_from": "date",
            "valid_until": "date",
            "seed": "int64",
            "created_at": "timestamp",
        }
    ),
    "trigger_firings": ibis.schema(
        {
            "trigger": "string",
            "occurrence": "string",
            "profile_id": "string",
            "occurred_at": "timestamp",
            "fired_at": "timestamp",
            "action": "string",
            "result": "string",
            "detail": "string",
        }
    ),
    # The value each change trigger (address, value tier, RFM segment) saw per profile on its
    # previous run: the next run compares with it.
    "trigger_state": ibis.schema(
        {
            "trigger": "string",
            "profile_id": "string",
            "value": "string",
            "recorded_at": "timestamp",
        }
    ),
}

TABLES: dict[str, sch.Schema] = {
    **{name: t.schema for name, t in DATA_TABLES.items()},
    **BOOKKEEPING,
    **SCORING,
    **PREDICTIVE,
    **SEGMENTS,
    **CAMPAIGNS,
    **DERIVED,
}


def spec(name: str) -> TableSpec:
    """The spec of a data table, or NotFoundError naming the close match."""
    try:
        return DATA_TABLES[name]
    except KeyError:
        hint = suggest(name, DATA_TABLES)
        known = ", ".join(DATA_TABLES)
        raise NotFoundError(f"no datamart table '{name}'{hint}; the tables are: {known}") from None
