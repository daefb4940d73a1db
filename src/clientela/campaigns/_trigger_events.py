"""What each trigger event detects, backend-free.

Every detection returns the **occurrences** seen on the day ``as_of``: one row per profile and
occurrence with ``profile_id``, ``occurrence`` (a key that names the occurrence: the profile and
what happened, so that it fires once), ``occurred_at`` and ``detail`` (a short text for people).
Triggers see the data up to the end of the ``as_of`` day (a scheduler runs them during the day).

Events over rows that happen (a purchase, a cart, a response...) look back ``within_days`` days,
so that the first run does not fire on the whole history.  Changes of a value that the datamart
does not keep history of (the address, the value tier, the RFM segment) compare the value now
with the one the trigger saw on its previous run (``trigger_state``): the first run records the
baseline and fires nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from clientela.campaigns._trigger_spec import (
    ActivityChangeOptions,
    AddressChangeOptions,
    BalanceChangeOptions,
    BandChangeOptions,
    BirthdayOptions,
    CartAbandonOptions,
    ContractExpiringOptions,
    EventOptions,
    NewProductOptions,
    NonPaymentOptions,
    ResponseOptions,
    ScoreThresholdOptions,
    SegmentChangeOptions,
    UnderUseOptions,
)
from clientela.datamart.ingest.identity import with_profile

__all__ = ["STATEFUL_EVENTS", "TriggerTables", "current_values", "detect"]

# A table of the datamart by name (ibis tables of one connection), plus the live summary.
TableOf = Callable[[str], ir.Table]

STATEFUL_EVENTS: tuple[str, ...] = ("address_change", "segment_change")


class TriggerTables:
    """The tables detections read: the datamart's, the customer summary and the trigger state."""

    def __init__(self, table: TableOf, summary: Callable[[], ir.Table]):
        self._table = table
        self._summary = summary

    def __call__(self, name: str) -> ir.Table:
        return self._table(name)

    def summary(self) -> ir.Table:
        """One row per profile (``customer_id`` is the profile) with ``value_tier``, ``segment``."""
        return self._summary()

    def profiled(self, name: str) -> ir.Table:
        return with_profile(self._table(name), self._table("identity"))


def _start(day: dt.date) -> ir.TimestampScalar:
    return ibis.literal(dt.datetime.combine(day, dt.time()), type="timestamp")


def _until(as_of: dt.date) -> ir.TimestampScalar:
    """The end of the ``as_of`` day: triggers see the whole day."""
    return _start(as_of + dt.timedelta(days=1))


def _since(as_of: dt.date, days: int) -> ir.TimestampScalar:
    return _start(as_of - dt.timedelta(days=days))


def _text(value: ir.Value) -> ir.StringValue:
    text: ir.StringValue = value.cast("string")
    return text


def _occurrences(
    rows: ir.Table, key: ir.StringValue, occurred_at: ir.Value, detail: ir.StringValue
) -> ir.Table:
    return rows.select(
        profile_id=rows.profile_id,
        occurrence=rows.profile_id + "|" + key,
        occurred_at=occurred_at.cast("timestamp"),
        detail=detail,
    )


# -- one detection per event ---------------------------------------------------------------------
def _birthday(tables: TriggerTables, as_of: dt.date, o: BirthdayOptions) -> ir.Table:
    people = tables.profiled("customers")
    people = people.filter(people.birth_date.notnull())
    born = people.birth_date
    month_day = born.month() * 100 + born.day()
    this_year = ibis.literal(as_of.year, type="int64")
    today = as_of.month * 100 + as_of.day
    year = ibis.ifelse(month_day >= today, this_year, this_year + 1)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    # 29 February is celebrated on 28 February in other years.
    day = ibis.ifelse((month_day == 229) & ~leap, 28, born.day())
    upcoming = people.mutate(_year=year, _day=day)
    birthday = ibis.date(upcoming._year, upcoming.birth_date.month(), upcoming._day)
    dated = upcoming.mutate(_birthday=birthday)
    last = ibis.literal(as_of + dt.timedelta(days=o.days_ahead), type="date")
    due = dated.filter(
        (dated._birthday >= ibis.literal(as_of, type="date")) & (dated._birthday <= last)
    )
    age = due._year - due.birth_date.year()
    return _occurrences(
        due,
        "birthday " + _text(due._year),
        due._birthday,
        "birthday on " + _text(due._birthday) + " (" + _text(age) + ")",
    ).distinct()


def current_values(tables: TriggerTables, options: EventOptions) -> ir.Table:
    """``profile_id`` and ``value`` now, for an event that compares with the previous run."""
    if isinstance(options, AddressChangeOptions):
        people = tables.profiled("customers")
        value: ir.StringValue = ibis.literal("")
        for i, column in enumerate(options.fields):
            part = people[column].cast("string").fill_null("").strip()
            value = part if i == 0 else value + " | " + part
        rows = people.select(profile_id=people.profile_id, value=value)
        return rows.group_by("profile_id").aggregate(value=rows.value.max())
    assert isinstance(options, SegmentChangeOptions)
    summary = tables.summary()
    measure = "value_tier" if options.of == "value_tier" else "segment"
    return summary.select(
        profile_id=summary.customer_id.cast("string"),
        value=summary[measure].cast("string").fill_null(""),
    )


def _changed(tables: TriggerTables, options: EventOptions, state: ir.Table) -> ir.Table:
    now = current_values(tables, options)
    before = state.select(_seen=state.profile_id, _before=state.value, _recorded=state.recorded_at)
    joined = now.inner_join(before, now.profile_id == before._seen)
    moved = joined.filter(joined.value != joined._before)
    label = options.of if isinstance(options, SegmentChangeOptions) else "address"
    return _occurrences(
        moved,
        # The previous value's date makes each change its own occurrence (A to B to A to B).
        moved.value + " since " + _text(moved._recorded),
        moved._recorded,
        label + ": " + moved._before + " -> " + moved.value,
    )


def _band_change(tables: TriggerTables, as_of: dt.date, o: BandChangeOptions) -> ir.Table:
    changes = tables("score_band_changes")
    wanted = (
        (changes.model == o.model)
        & (changes.as_of >= ibis.literal(as_of - dt.timedelta(days=o.within_days), type="date"))
        & (changes.as_of <= ibis.literal(as_of, type="date"))
    )
    if o.to_band is not None:
        wanted &= changes.to_band == o.to_band
    if o.direction is not None:
        wanted &= changes.direction == o.direction
    rows = changes.filter(wanted)
    return _occurrences(
        rows,
        rows.model + " " + _text(rows.as_of),
        rows.as_of,
        rows.model + ": " + rows.from_band.fill_null("none") + " -> " + rows.to_band,
    )


def _score_threshold(tables: TriggerTables, as_of: dt.date, o: ScoreThresholdOptions) -> ir.Table:
    if o.source == "rule":
        snapshots = tables("score_snapshots")
        rows = snapshots.select("model", "profile_id", "as_of", "version", value=snapshots.score)
    else:
        scores = tables("predictive_scores")
        rows = scores.select("model", "profile_id", "as_of", "version", value=scores.probability)
    rows = rows.filter((rows.model == o.model) & (rows.as_of <= ibis.literal(as_of, type="date")))
    rank = ibis.row_number().over(
        group_by=rows.profile_id, order_by=[rows.as_of.desc(), rows.version.desc()]
    )
    ranked = rows.mutate(_rank=rank)
    newest = ranked.filter(ranked._rank == 0)
    previous = ranked.filter(ranked._rank == 1).select(
        _profile=ranked.profile_id, _previous=ranked.value
    )
    pair = newest.inner_join(previous, newest.profile_id == previous._profile)
    threshold = ibis.literal(o.threshold, type="float64")
    if o.direction == "up":
        crossed = (pair._previous < threshold) & (pair.value >= threshold)
    else:
        crossed = (pair._previous >= threshold) & (pair.value < threshold)
    hits = pair.filter(crossed)
    return _occurrences(
        hits,
        o.model + " " + _text(hits.as_of),
        hits.as_of,
        o.model + ": " + _text(hits._previous.round(4)) + " -> " + _text(hits.value.round(4)),
    )


def _sales(tables: TriggerTables) -> ir.Table:
    tx = tables.profiled("transactions")
    return tx.filter(tx.kind.fill_null("sale") == "sale")


def _new_product(tables: TriggerTables, as_of: dt.date, o: NewProductOptions) -> ir.Table:
    sales = _sales(tables).filter(lambda t: t.occurred_at < _until(as_of))
    item = sales.product_id if o.by == "product" else sales.category
    rows = sales.mutate(_item=item.cast("string")).filter(lambda t: t._item.notnull())
    if o.items:
        rows = rows.filter(rows._item.isin(list(o.items)))
    first = rows.group_by(["profile_id", "_item"]).aggregate(_first=rows.occurred_at.min())
    # Only a profile that had bought before buys something new.
    earlier = sales.group_by("profile_id").aggregate(_since=sales.occurred_at.min())
    earlier = earlier.rename(_buyer="profile_id")
    joined = first.inner_join(earlier, first.profile_id == earlier._buyer)
    new = joined.filter(
        (joined._first >= _since(as_of, o.within_days)) & (joined._first > joined._since)
    )
    return _occurrences(new, o.by + " " + new._item, new._first, "first " + o.by + " " + new._item)


def _active_contracts(tables: TriggerTables, as_of: dt.date, product: str | None) -> ir.Table:
    contracts = tables.profiled("contracts")
    wanted = (
        (contracts.status.fill_null("active") == "active")
        & (contracts.started_at < _until(as_of))
        & (contracts.ended_at.isnull() | (contracts.ended_at >= _until(as_of)))
    )
    if product is not None:
        wanted &= contracts.product == product
    return contracts.filter(wanted)


def _contract_expiring(
    tables: TriggerTables, as_of: dt.date, o: ContractExpiringOptions
) -> ir.Table:
    held = _active_contracts(tables, as_of, o.product)
    due = held.filter(
        (held.ends_at >= _start(as_of))
        & (held.ends_at < _until(as_of + dt.timedelta(o.days_ahead)))
    )
    return _occurrences(
        due,
        "contract " + due.contract_id + " ends " + _text(due.ends_at.date()),
        due.ends_at,
        due.product + " ends on " + _text(due.ends_at.date()),
    )


def _last_activity(tables: TriggerTables, as_of: dt.date) -> ir.Table:
    events = tables.profiled("events")
    sales = _sales(tables)
    moments = ibis.union(
        events.filter(events.occurred_at < _until(as_of)).select("profile_id", "occurred_at"),
        sales.filter(sales.occurred_at < _until(as_of)).select("profile_id", "occurred_at"),
    )
    return moments.group_by("profile_id").aggregate(_last=moments.occurred_at.max())


def _under_use(tables: TriggerTables, as_of: dt.date, o: UnderUseOptions) -> ir.Table:
    held = _active_contracts(tables, as_of, o.product)
    holders = held.group_by("profile_id").aggregate(_started=held.started_at.min())
    last = _last_activity(tables, as_of).rename(_active="profile_id")
    joined = holders.left_join(last, holders.profile_id == last._active)
    since = ibis.coalesce(joined._last, joined._started)
    idle = joined.mutate(_since=since).filter(lambda t: t._since < _since(as_of, o.days))
    # The idle period starts at the last activity: a new one after some use fires again.
    return _occurrences(
        idle,
        "idle since " + _text(idle._since),
        idle._since,
        "no activity since " + _text(idle._since.date()),
    )


def _activity_change(tables: TriggerTables, as_of: dt.date, o: ActivityChangeOptions) -> ir.Table:
    rows = tables.profiled("events") if o.source == "events" else _sales(tables)
    recent_from = _since(as_of, o.days - 1)
    before_from = _since(as_of, 2 * o.days - 1)
    window = rows.filter((rows.occurred_at >= before_from) & (rows.occurred_at < _until(as_of)))
    counts = window.group_by("profile_id").aggregate(
        _recent=window.count(where=window.occurred_at >= recent_from),
        _before=window.count(where=window.occurred_at < recent_from),
    )
    ratio = ibis.literal(o.ratio, type="float64")
    if o.direction == "drop":
        hit = (counts._before >= o.min_count) & (counts._recent * ratio <= counts._before)
    else:
        hit = (counts._recent >= o.min_count) & (counts._recent >= counts._before * ratio)
    changed = counts.filter(hit)
    # One occurrence per period of ``days`` days: a lasting change fires once per period.
    period = dt.date.fromordinal(as_of.toordinal() - as_of.toordinal() % o.days)
    return _occurrences(
        changed,
        ibis.literal(f"{o.source} {o.direction} {period.isoformat()}"),
        ibis.literal(dt.datetime.combine(as_of, dt.time()), type="timestamp"),
        ibis.literal(f"{o.source} in the last {o.days} days: ")
        + _text(changed._recent)
        + ", before: "
        + _text(changed._before),
    )


def _balance_change(tables: TriggerTables, as_of: dt.date, o: BalanceChangeOptions) -> ir.Table:
    attributes = tables.profiled("third_party")
    rows = attributes.filter(
        (attributes.attribute == o.attribute)
        & attributes.as_of.notnull()
        & (attributes.as_of <= ibis.literal(as_of, type="date"))
    )
    rows = rows.mutate(_value=rows.value.try_cast("float64")).filter(lambda t: t._value.notnull())
    rank = ibis.row_number().over(
        group_by=rows.profile_id, order_by=[rows.as_of.desc(), rows.attribute_id.desc()]
    )
    ranked = rows.mutate(_rank=rank)
    newest = ranked.filter(ranked._rank == 0)
    previous = ranked.filter(ranked._rank == 1).select(
        _profile=ranked.profile_id, _previous=ranked._value
    )
    pair = newest.inner_join(previous, newest.profile_id == previous._profile)
    change = pair._value - pair._previous
    size = change.abs()
    moved = change < 0 if o.direction == "drop" else change > 0
    if o.amount is not None:
        enough = size >= o.amount
    else:
        enough = size >= pair._previous.abs() * (o.ratio or 0.0)
    hits = pair.filter(moved & enough)
    return _occurrences(
        hits,
        o.attribute + " " + _text(hits.as_of),
        hits.as_of,
        o.attribute + ": " + _text(hits._previous) + " -> " + _text(hits._value),
    )


def _non_payment(tables: TriggerTables, as_of: dt.date, o: NonPaymentOptions) -> ir.Table:
    parts: list[ir.Table] = []
    if "suspended_contract" in o.signals:
        contracts = tables.profiled("contracts")
        suspended = contracts.filter(
            (contracts.status == "suspended") & (contracts.started_at < _until(as_of))
        )
        parts.append(
            _occurrences(
                suspended,
                "suspended " + suspended.contract_id,
                suspended.started_at,
                suspended.product + " suspended",
            )
        )
    if "unpaid_fee" in o.signals:
        tx = tables.profiled("transactions")
        fees = tx.filter(
            (tx.kind == "fee")
            & tx.product_name.fill_null("").lower().contains(o.fee_text.lower())
            & (tx.occurred_at >= _since(as_of, o.within_days))
            & (tx.occurred_at < _until(as_of))
        )
        parts.append(
            _occurrences(
                fees,
                "fee " + fees.transaction_id,
                fees.occurred_at,
                "unpaid: " + fees.product_name.fill_null(o.fee_text),
            )
        )
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def _cart_abandon(tables: TriggerTables, as_of: dt.date, o: CartAbandonOptions) -> ir.Table:
    events = tables.profiled("events")
    recent = events.filter(
        (events.occurred_at >= _since(as_of, o.within_days)) & (events.occurred_at < _until(as_of))
    )
    told = recent.filter(recent.event_type == "cart_abandon")
    parts = [
        _occurrences(
            told,
            "cart " + told.event_id,
            told.occurred_at,
            "cart abandoned: " + told.object_id.fill_null("?"),
        )
    ]
    # A cart add with no sale within ``hours``; only once the hours have passed.
    cutoff = _until(as_of) - ibis.interval(hours=o.hours)
    adds = recent.filter((recent.event_type == "cart_add") & (recent.occurred_at <= cutoff))
    sales = _sales(tables).select(_buyer="profile_id", _sold_at="occurred_at")
    joined = adds.left_join(
        sales,
        (adds.profile_id == sales._buyer)
        & (sales._sold_at >= adds.occurred_at)
        & (sales._sold_at <= adds.occurred_at + ibis.interval(hours=o.hours)),
    )
    bought = joined.group_by(["profile_id", "event_id", "occurred_at", "object_id"]).aggregate(
        _sales=joined._buyer.count()
    )
    left = bought.filter(bought._sales == 0)
    parts.append(
        _occurrences(
            left,
            "cart " + left.event_id,
            left.occurred_at,
            "cart not bought: " + left.object_id.fill_null("?"),
        )
    )
    return ibis.union(*parts)


def _response(tables: TriggerTables, as_of: dt.date, o: ResponseOptions) -> ir.Table:
    responses = tables.profiled("responses")
    rows = responses.filter(
        (responses.campaign == o.campaign)
        & responses.kind.isin(list(o.kinds))
        & (responses.responded_at >= _since(as_of, o.within_days))
        & (responses.responded_at < _until(as_of))
    )
    return _occurrences(
        rows,
        "response " + rows.response_id,
        rows.responded_at,
        o.campaign + ": " + rows.kind,
    )


def detect(
    tables: TriggerTables, as_of: dt.date, options: EventOptions, state: ir.Table | None = None
) -> ir.Table:
    """The occurrences of one trigger's event on ``as_of`` (module docstring).

    ``state`` is the trigger's ``trigger_state`` rows (for the events that compare values);
    without it (the first run), those events find nothing.
    """
    if isinstance(options, AddressChangeOptions | SegmentChangeOptions):
        if state is None:
            return _empty()
        return _changed(tables, options, state)
    detections: dict[type, Callable[..., ir.Table]] = {
        BirthdayOptions: _birthday,
        BandChangeOptions: _band_change,
        ScoreThresholdOptions: _score_threshold,
        NewProductOptions: _new_product,
        ContractExpiringOptions: _contract_expiring,
        UnderUseOptions: _under_use,
        ActivityChangeOptions: _activity_change,
        BalanceChangeOptions: _balance_change,
        NonPaymentOptions: _non_payment,
        CartAbandonOptions: _cart_abandon,
        ResponseOptions: _response,
    }
    found = detections[type(options)](tables, as_of, options)
    return found.select(
        profile_id=found.profile_id.cast("string"),
        occurrence=found.occurrence.cast("string"),
        occurred_at=found.occurred_at.cast("timestamp"),
        detail=found.detail.cast("string"),
    )


def _empty() -> ir.Table:
    return ibis.memtable(
        {"profile_id": [], "occurrence": [], "occurred_at": [], "detail": []},
        schema=ibis.schema(
            {
                "profile_id": "string",
                "occurrence": "string",
                "occurred_at": "timestamp",
                "detail": "string",
            }
        ),
    )
