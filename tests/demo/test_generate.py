"""The demo generator: files, schema, allowed values and the realistic shapes, read back with
pandas and pyarrow from the Parquet files themselves."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow.parquet as pq
import pytest
import yaml

from clientela.datamart.schema import DATA_TABLES
from clientela.demo import LOAD_ORDER, DemoFiles, generate
from clientela.errors import ConfigError

CUSTOMERS = 3000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate(tmp_path_factory.mktemp("demo"), customers=CUSTOMERS, seed=7)


def read(demo: DemoFiles, table: str) -> pd.DataFrame:
    return pq.read_table(demo.tables[table].path).to_pandas()


def test_sources_yaml_lists_every_table_customers_first(demo: DemoFiles) -> None:
    listing = yaml.safe_load(demo.sources.read_text(encoding="utf-8"))
    assert [s["table"] for s in listing["sources"]] == list(LOAD_ORDER)
    assert LOAD_ORDER[0] == "customers"
    # Responses come from campaigns run on the datamart, not from the company's files.
    assert set(LOAD_ORDER) == set(DATA_TABLES) - {"responses"}
    for source in listing["sources"]:
        assert (demo.folder / source["file"]).is_file()


@pytest.mark.parametrize("table", LOAD_ORDER)
def test_every_table_is_filled_with_the_datamart_columns(demo: DemoFiles, table: str) -> None:
    spec = DATA_TABLES[table]
    arrow = pq.read_table(demo.tables[table].path)
    assert arrow.num_rows == demo.rows(table) > 0
    assert arrow.schema.names == list(spec.columns)
    # Readers see plain types equal to the datamart's, never dictionary columns.
    assert arrow.schema.equals(spec.schema.to_pyarrow())
    frame = arrow.to_pandas()
    assert frame[spec.key].is_unique
    for column in spec.required:
        if spec.customer_optional and column == "customer_id":
            continue
        assert frame[column].notna().all(), column
    for column, allowed in spec.allowed.items():
        assert set(frame[column].dropna()) <= set(allowed), column
    for column, (low, high) in spec.ranges.items():
        values = frame[column].dropna()
        assert low is None or (values >= low).all(), column
        assert high is None or (values <= high).all(), column


def test_every_customer_reference_names_a_customer(demo: DemoFiles) -> None:
    known = set(read(demo, "customers").customer_id)
    for table in LOAD_ORDER[1:]:
        frame = read(demo, table)
        for column in DATA_TABLES[table].customer_columns:
            assert set(frame[column].dropna()) <= known, (table, column)
    events = read(demo, "events")
    anonymous = events.customer_id.isna()
    assert 0 < anonymous.mean() < 0.1
    assert events.loc[anonymous, "anonymous_id"].notna().all()


def test_spend_is_skewed_towards_the_top_fifth(demo: DemoFiles) -> None:
    margin = read(demo, "transactions").groupby("customer_id").margin.sum()
    margin = margin.reindex(read(demo, "customers").customer_id, fill_value=0.0)
    top = margin.sort_values(ascending=False).head(CUSTOMERS // 5).sum()
    assert 0.6 <= top / margin.sum() <= 0.85
    order_values = read(demo, "transactions").query("kind == 'sale'").groupby("order_id").amount
    totals = order_values.sum()
    assert totals.mean() > 1.5 * totals.median()  # a heavy right tail


def test_a_few_companies_place_big_orders(demo: DemoFiles) -> None:
    customers = read(demo, "customers")
    companies = set(customers.loc[customers.kind == "company", "customer_id"])
    assert 0.005 < len(companies) / CUSTOMERS < 0.05
    sales = read(demo, "transactions").query("kind == 'sale'")
    orders = sales.groupby(["order_id", "customer_id"]).amount.sum().reset_index()
    b2b = orders.customer_id.isin(companies)
    assert orders[b2b].amount.median() > 5 * orders[~b2b].amount.median()


def test_december_is_the_peak_of_each_season(demo: DemoFiles) -> None:
    sales = read(demo, "transactions").query("kind == 'sale'")
    per_month = sales.groupby(sales.occurred_at.dt.to_period("M")).size()
    for year in (2024, 2025):
        december = per_month[pd.Period(f"{year}-12", "M")]
        assert december > per_month[pd.Period(f"{year}-11", "M")]
        assert december > 1.4 * per_month[pd.Period(f"{year + 1}-01", "M")]


def test_returns_refer_to_earlier_sales_with_negative_amounts(demo: DemoFiles) -> None:
    transactions = read(demo, "transactions")
    sales = transactions[transactions.kind == "sale"]
    returns = transactions[transactions.kind == "return"]
    assert 0.05 <= len(returns) / len(sales) <= 0.08
    assert (transactions.kind == "cancellation").sum() > 0
    for kind in ("return", "cancellation"):
        rows = transactions[transactions.kind == kind]
        assert (rows.amount < 0).all() and (rows.quantity < 0).all()
        assert (rows.margin <= rows.amount - rows.cost + 0.011).all()
    matched = returns.merge(
        sales, on=["order_id", "line_no"], suffixes=("", "_sale"), validate="many_to_one"
    )
    assert len(matched) == len(returns)
    assert (matched.occurred_at > matched.occurred_at_sale).all()
    assert (matched.product_id == matched.product_id_sale).all()
    assert (-matched.quantity <= matched.quantity_sale).all()
    assert np.allclose(sales.margin, sales.amount - sales.cost, atol=0.011)


def test_some_customers_cost_more_to_serve_than_they_earn(demo: DemoFiles) -> None:
    margin = read(demo, "transactions").groupby("customer_id").margin.sum()
    cost = read(demo, "cost_to_serve")
    assert (cost.period_start <= cost.period_end).all()
    contribution = margin.sub(cost.groupby("customer_id").cost.sum(), fill_value=0.0)
    negative = (contribution < 0).mean()
    assert 0.02 < negative < 0.25


def test_complainers_leave_earlier(demo: DemoFiles) -> None:
    interactions = read(demo, "interactions")
    complaints = interactions[interactions.kind == "complaint"]
    assert (complaints.status == "open").any() and (complaints.status == "closed").any()
    assert complaints.loc[complaints.status == "open", "closed_at"].isna().all()
    sales = read(demo, "transactions").query("kind == 'sale'")
    first = complaints.groupby("customer_id").occurred_at.min()
    early = first[first < pd.Timestamp("2025-06-30")].index  # a year to show the effect
    last_purchase = sales.groupby("customer_id").occurred_at.max()
    still_buying = last_purchase > pd.Timestamp("2026-01-01")
    complainers = still_buying.reindex(early).fillna(False).mean()
    others = still_buying.reindex(last_purchase.index.difference(first.index)).mean()
    assert complainers < others - 0.1


def test_behaviour_precedes_purchases(demo: DemoFiles) -> None:
    events = read(demo, "events").dropna(subset=["customer_id"])
    carts = events[events.event_type == "cart_add"][["customer_id", "occurred_at", "object_id"]]
    sales = read(demo, "transactions").query("kind == 'sale' and line_no == 1")
    orders = sales[["customer_id", "occurred_at", "product_id"]].sort_values("occurred_at")
    before = pd.merge_asof(
        orders,
        carts.sort_values("occurred_at").rename(columns={"occurred_at": "cart_at"}),
        left_on="occurred_at",
        right_on="cart_at",
        by="customer_id",
        direction="backward",
        tolerance=pd.Timedelta(days=7),
    )
    assert before.cart_at.notna().mean() > 0.3
    same_product = (before.object_id == before.product_id).mean()
    assert same_product > 0.25
    assert set(events.event_type) >= {"page_view", "email_open", "cart_add", "search"}


def test_identities_are_clean_and_some_are_shared(demo: DemoFiles) -> None:
    customers = read(demo, "customers")
    emails = customers.email.dropna()
    assert (emails == emails.str.lower()).all()
    assert emails.str.endswith(
        (".example.com", "@example.com", "@example.org", "@example.net")
    ).all()
    assert emails.duplicated().sum() > 0
    phones = customers.phone.dropna()
    assert phones.duplicated().sum() > 0
    do_not_contact = read(demo, "do_not_contact")
    listed = do_not_contact[do_not_contact.kind == "phone"].value
    for phone in pd.concat([phones, listed]):
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
    assert set(do_not_contact.value) & set(emails)  # some customers are on the list
    assert set(customers.country) == {"GB", "IE", "FR", "DE"}


def test_consents_opt_out_after_opting_in(demo: DemoFiles) -> None:
    consents = read(demo, "consents")
    assert set(consents.channel) == {"email", "sms", "phone", "mail"}
    latest = consents.sort_values("recorded_at").groupby(["customer_id", "channel"]).last()
    assert 0.05 < (latest.status == "opt_out").mean() < 0.8
    flipped = consents.groupby(["customer_id", "channel"]).status.agg(list)
    changes = flipped[flipped.map(len) > 1]
    assert len(changes) > 0
    assert all(history == ["opt_in", "opt_out"] for history in changes)


def test_campaigns_only_reach_consenting_customers(demo: DemoFiles) -> None:
    interactions = read(demo, "interactions")
    contacts = interactions[interactions.kind.isin(["contact", "offer"])]
    assert contacts.campaign_id.notna().all() and len(contacts) > CUSTOMERS // 2
    offers = interactions[interactions.kind == "offer"]
    assert offers.offer_id.notna().all()
    assert {"accepted", "ignored", "declined"} <= set(offers.outcome)
    consents = read(demo, "consents").sort_values("recorded_at")
    email = contacts[contacts.channel == "email"].sort_values("occurred_at")
    state = pd.merge_asof(
        email,
        consents[consents.channel == "email"][["customer_id", "recorded_at", "status"]].rename(
            columns={"status": "consent"}
        ),
        left_on="occurred_at",
        right_on="recorded_at",
        by="customer_id",
    )
    assert (state.consent == "opt_in").all()


def test_referrals_have_enthusiasts_and_conversions(demo: DemoFiles) -> None:
    referrals = read(demo, "referrals")
    customers = read(demo, "customers").set_index("customer_id").created_at
    assert (
        customers[referrals.referrer_id].values <= customers[referrals.referred_id].values
    ).all()
    per_referrer = referrals.referrer_id.value_counts()
    assert per_referrer.max() >= 3
    assert 0.3 < referrals.converted.mean() < 0.95


def test_third_party_attributes(demo: DemoFiles) -> None:
    attributes = set(read(demo, "third_party").attribute)
    wanted = {"profession", "education", "income_band", "household_size", "home_value"}
    assert wanted <= attributes


def test_social_turns_negative_after_a_complaint(demo: DemoFiles) -> None:
    social = read(demo, "social")
    complaints = read(demo, "interactions").query("kind == 'complaint'")
    first = complaints.groupby("customer_id").occurred_at.min()
    after = social.occurred_at > social.customer_id.map(first)
    assert social[after].sentiment.mean() < 0 < social[~after].sentiment.mean()


def test_the_showcase_has_an_open_complaint_and_high_margin(demo: DemoFiles) -> None:
    assert demo.showcase_customer_id is not None
    interactions = read(demo, "interactions")
    mine = interactions[interactions.customer_id == demo.showcase_customer_id]
    assert ((mine.kind == "complaint") & (mine.status == "open")).any()
    margin = read(demo, "transactions").groupby("customer_id").margin.sum()
    assert margin[demo.showcase_customer_id] >= margin.quantile(0.95)


def test_the_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", customers=400, seed=3)
    again = generate(tmp_path / "b", customers=400, seed=3)
    other = generate(tmp_path / "c", customers=400, seed=4)
    for table in LOAD_ORDER:
        assert first.tables[table].path.read_bytes() == again.tables[table].path.read_bytes()
    assert not pq.read_table(first.tables["transactions"].path).equals(
        pq.read_table(other.tables["transactions"].path)
    )


def test_chunk_size_keeps_totals_and_unique_keys(tmp_path: Path) -> None:
    whole = generate(tmp_path / "whole", customers=1200, seed=5, chunk_size=50_000)
    chunks = generate(tmp_path / "chunks", customers=1200, seed=5, chunk_size=300)
    assert chunks.rows("customers") == whole.rows("customers") == 1200
    for table in ("transactions", "events", "consents"):
        assert chunks.rows(table) == pytest.approx(whole.rows(table), rel=0.1), table
    for table in LOAD_ORDER:
        key = DATA_TABLES[table].key
        assert read(chunks, table)[key].is_unique, table
    assert read(chunks, "transactions").order_id.nunique() > 1200


def test_knobs_set_rows_per_customer(tmp_path: Path) -> None:
    busy = generate(
        tmp_path, customers=1000, seed=1, transactions_per_customer=20, events_per_customer=50
    )
    assert busy.rows("transactions") / 1000 == pytest.approx(20, rel=0.1)
    assert busy.rows("events") / 1000 == pytest.approx(50, rel=0.1)


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1 customer, got 0"):
        generate(tmp_path, customers=0)
    with pytest.raises(ConfigError, match="cannot be negative"):
        generate(tmp_path, transactions_per_customer=-1)
    with pytest.raises(ConfigError, match="at least 90 days, got 30"):
        generate(tmp_path, history_days=30)
    with pytest.raises(ConfigError, match="chunk size must be at least 1"):
        generate(tmp_path, chunk_size=0)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        generate(a_file)


class RecordingProgress:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, float | None]] = []
        self.advanced = 0.0

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[RecordingProgress]:
        self.tasks.append((description, total))
        yield self

    def advance(self, amount: float = 1) -> None:
        self.advanced += amount

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        return None


def test_progress_counts_customers_chunk_by_chunk(tmp_path: Path) -> None:
    progress = RecordingProgress()
    generate(tmp_path, customers=250, seed=1, chunk_size=100, progress=progress)
    assert progress.tasks == [("Generating the demo company", 250)]
    assert progress.advanced == 250


def test_contracts_are_subscriptions_some_ended_complainers_more_often(demo: DemoFiles) -> None:
    contracts = read(demo, "contracts")
    customers = read(demo, "customers")
    holders = contracts.customer_id.nunique() / len(customers)
    assert 0.2 <= holders <= 0.45
    ended = contracts.status == "ended"
    assert ended.equals(contracts.ended_at.notna())
    assert 0.1 <= ended.mean() <= 0.4
    assert (contracts.status == "suspended").any()
    assert (contracts.ended_at.dropna() > contracts.started_at[ended]).all()
    assert (contracts.ended_at.dropna() <= pd.Timestamp(demo.end) + pd.Timedelta(days=1)).all()
    assert (contracts.ends_at > contracts.started_at).all()
    due_soon = ~ended & (contracts.ends_at < pd.Timestamp(demo.end) + pd.Timedelta(days=90))
    assert due_soon.any()
    complainers = set(read(demo, "interactions").query("kind == 'complaint'").customer_id.dropna())
    complained = contracts.customer_id.isin(complainers)
    assert ended[complained].mean() > 1.5 * ended[~complained].mean()
