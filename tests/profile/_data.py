"""Small generated datamarts for the profile tests, and independent pandas computations."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa

from clientela.datamart import Datamart
from clientela.datamart.schema import TABLES

AS_OF = dt.date(2026, 6, 1)
AS_OF_TS = pd.Timestamp(AS_OF)

# Pairs unified into one profile (the first id is the profile).
MERGED = {"c001": "c000", "c003": "c002", "c011": "c010", "c012": "c010"}


def cid(i: int) -> str:
    return f"c{i:03d}"


def make_dataset(seed: int = 7, customers: int = 200) -> dict[str, pd.DataFrame]:
    """Customers, identity, transactions, costs and referrals with every awkward case.

    Amounts, margins and costs are whole numbers so that sums are exact on every backend.
    """
    rng = np.random.default_rng(seed)
    ids = [cid(i) for i in range(customers)]
    people = pd.DataFrame(
        {
            "customer_id": ids,
            "kind": ["person"] * customers,
            "name": [f"Customer {i}" for i in range(customers)],
            "email": [f"{c}@example.com" for c in ids],
            "phone": [f"+4420794{60000 + i:05d}" for i in range(customers)],
            "birth_date": [
                dt.date(1980, 1, 1) + dt.timedelta(days=int(d)) for d in range(customers)
            ],
            "city": ["Leeds"] * customers,
            "country": ["GB"] * customers,
            "is_placeholder": [False] * customers,
        }
    )
    # The profile's own id maps to itself too, as unify writes it.
    identity = pd.DataFrame(
        {
            "customer_id": [*MERGED, *sorted(set(MERGED.values()))],
            "profile_id": [*MERGED.values(), *sorted(set(MERGED.values()))],
        }
    )
    start = pd.Timestamp("2025-06-01")
    lines = []
    n_tx = 0
    # The last 20 customers never buy; c150-c159 only pay fees or only cancel.
    for i in range(customers - 20):
        orders = int(rng.integers(1, 6))
        # Ties: many customers share the same last day (day offsets drawn from a few values).
        for o in range(orders):
            offset = rng.choice([100, 300, 350]) if rng.random() < 0.2 else rng.integers(0, 380)
            day = start + pd.Timedelta(days=int(offset))
            day += pd.Timedelta(hours=int(rng.integers(0, 24)))
            order_id = f"o{i:03d}-{o}"
            base_kind = "sale"
            if 150 <= i < 155:
                base_kind = "fee"
            for line in range(int(rng.integers(1, 4))):
                amount = float(rng.integers(1, 200))
                margin = float(rng.integers(-20, 80))
                n_tx += 1
                lines.append(
                    (f"t{n_tx}", order_id, line, cid(i), day, "p" + str(line), base_kind, amount,
                     None if rng.random() < 0.1 else margin)
                )  # fmt: skip
            if base_kind == "sale" and rng.random() < 0.25:
                refund = float(rng.integers(1, 50))
                kind = "return" if rng.random() < 0.5 else "cancellation"
                n_tx += 1
                lines.append(
                    (f"t{n_tx}", f"r{order_id}", 0, cid(i), day + pd.Timedelta(days=3), "p0",
                     kind, -refund, -refund / 2)
                )  # fmt: skip
    tx = pd.DataFrame(
        lines,
        columns=["transaction_id", "order_id", "line_no", "customer_id", "occurred_at",
                 "product_id", "kind", "amount", "margin"],
    )  # fmt: skip
    # Customers 155-159: replace their rows by cancellations only.
    only_cancel = tx.customer_id.isin([cid(i) for i in range(155, 160)])
    tx.loc[only_cancel, "kind"] = "cancellation"
    tx.loc[only_cancel, "amount"] = -tx.loc[only_cancel, "amount"].abs()
    tx["line_no"] = tx["line_no"].astype("int64")

    costs = pd.DataFrame(
        {
            "cost_id": [f"k{i}" for i in range(0, customers, 2)],
            "customer_id": [cid(i) for i in range(0, customers, 2)],
            "period_start": [
                dt.date(2026, 7, 1) if i % 10 == 0 else dt.date(2026, 1, 1)
                for i in range(0, customers, 2)
            ],
            "cost": [float(rng.integers(0, 150)) for _ in range(0, customers, 2)],
        }
    )
    referral_rows = []
    for r in range(60):
        referrer = cid(int(rng.integers(0, 40)))
        referred = cid(int(rng.integers(40, customers)))
        converted = [True, False, None][r % 3]
        referred_at = start + pd.Timedelta(days=int(rng.choice([5, 150, 390])))
        referral_rows.append((f"ref{r}", referrer, referred, referred_at, converted))
    referrals = pd.DataFrame(
        referral_rows,
        columns=["referral_id", "referrer_id", "referred_id", "referred_at", "converted"],
    )
    referrals["converted"] = referrals["converted"].astype("boolean")
    return {
        "customers": people,
        "identity": identity,
        "transactions": tx,
        "cost_to_serve": costs,
        "referrals": referrals,
    }


def load(dm: Datamart, frames: dict[str, pd.DataFrame]) -> None:
    for name, frame in frames.items():
        schema = TABLES[name]
        fields = [pa.field(c, schema[c].to_pyarrow()) for c in frame.columns]
        dm.bulk_insert(
            name, pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)
        )


# -- independent computations -------------------------------------------------------------
def profile_of(frames: dict[str, pd.DataFrame], ids: pd.Series) -> pd.Series:
    mapping = dict(zip(frames["identity"].customer_id, frames["identity"].profile_id, strict=True))
    return ids.map(lambda c: mapping.get(c, c))


def expected_kpis(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    tx = frames["transactions"]
    tx = tx[tx.occurred_at < AS_OF_TS].assign(profile=lambda d: profile_of(frames, d.customer_id))
    rows: dict[str, dict[str, object]] = {}
    every = set(profile_of(frames, frames["customers"].customer_id))
    for profile, g in tx.groupby("profile"):
        sales = g[g.kind == "sale"]
        refunds = g[g.kind.isin(["return", "cancellation"])]
        revenue = float(g[g.kind.isin(["sale", "return", "cancellation"])].amount.sum())
        orders = g[~g.kind.isin(["return", "cancellation"])].order_id.nunique()
        rows[str(profile)] = {
            "revenue": revenue,
            "gross_sales": float(sales.amount.sum()),
            "returned_amount": float(-refunds.amount.sum()),
            "margin": float(g.margin.fillna(0).sum()),
            "revenue_without_margin": float(
                g[g.kind.isin(["sale", "return", "cancellation"]) & g.margin.isna()].amount.sum()
            ),
            "orders": orders,
            "returns": refunds.order_id.nunique(),
            "first_purchase": sales.occurred_at.min() if len(sales) else None,
            "last_purchase": sales.occurred_at.max() if len(sales) else None,
        }
    costs = frames["cost_to_serve"]
    costs = costs[costs.period_start < AS_OF]
    cost = costs.groupby(profile_of(frames, costs.customer_id)).cost.sum()
    referrals = frames["referrals"]
    referrals = referrals[referrals.referred_at < AS_OF_TS]
    sales = frames["transactions"]
    sales = sales[(sales.kind == "sale") & (sales.occurred_at < AS_OF_TS)]
    made: dict[str, int] = {}
    converted: dict[str, int] = {}
    for ref in referrals.itertuples():
        profile = profile_of(frames, pd.Series([ref.referrer_id])).iloc[0]
        made[profile] = made.get(profile, 0) + 1
        if pd.isna(ref.converted):
            bought = bool(
                (
                    (sales.customer_id == ref.referred_id) & (sales.occurred_at > ref.referred_at)
                ).any()
            )
        else:
            bought = bool(ref.converted)
        converted[profile] = converted.get(profile, 0) + int(bought)
    every |= set(rows) | set(cost.index) | set(made)
    out = []
    for profile in sorted(every):
        row = {
            "customer_id": profile,
            "revenue": 0.0, "gross_sales": 0.0, "returned_amount": 0.0, "margin": 0.0,
            "revenue_without_margin": 0.0, "orders": 0, "returns": 0,
            "first_purchase": None, "last_purchase": None,
        }  # fmt: skip
        row.update(rows.get(profile, {}))
        row["cost_to_serve"] = float(cost.get(profile, 0.0))
        row["referrals_made"] = made.get(profile, 0)
        row["referrals_converted"] = converted.get(profile, 0)
        row["contribution"] = row["margin"] - row["cost_to_serve"]  # type: ignore[operator]
        out.append(row)
    return pd.DataFrame(out)


SEGMENT_TABLE = """
r fm1 fm2 fm3 fm4 fm5
5 New|Potential Loyalist|Potential Loyalist|Champions|Champions
4 Promising|Potential Loyalist|Potential Loyalist|Loyal|Loyal
3 About to Sleep|About to Sleep|Needs Attention|Loyal|Loyal
2 Hibernating|Hibernating|At Risk|At Risk|Cannot Lose Them
1 Lost|Hibernating|At Risk|At Risk|Cannot Lose Them
"""


def expected_segment(r: int, f: int, m: int) -> str:
    grid = {}
    for line in SEGMENT_TABLE.strip().splitlines()[1:]:
        score, names = line.split(" ", 1)
        grid[int(score)] = names.split("|")
    fm = math.floor((f + m) / 2 + 0.5)
    return grid[r][fm - 1]


def expected_rfm(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    kpis = expected_kpis(frames)
    buyers = kpis[kpis.last_purchase.notna()].copy()
    buyers["recency_days"] = [(AS_OF - pd.Timestamp(t).date()).days for t in buyers.last_purchase]
    buyers["frequency"] = buyers.orders
    buyers["monetary"] = buyers.revenue
    n = len(buyers)

    def score(values: pd.Series) -> pd.Series:
        rank0 = values.rank(method="min").astype(int) - 1
        return 1 + (5 * rank0) // n

    buyers["r"] = score(-buyers.recency_days)
    buyers["f"] = score(buyers.frequency)
    buyers["m"] = score(buyers.monetary)
    buyers["segment"] = [
        expected_segment(r, f, m) for r, f, m in zip(buyers.r, buyers.f, buyers.m, strict=True)
    ]
    return buyers[
        ["customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"]
    ]


def expected_tiers(
    contribution: pd.Series, cutoffs: tuple[float, float] = (0.5, 0.8)
) -> dict[str, str]:
    """Value tier per customer id (the index of ``contribution``), by a plain loop."""
    ordered = sorted(contribution.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(v for _, v in ordered if v > 0)
    tiers = {}
    before = 0.0
    for customer, value in ordered:
        if value <= 0:
            tiers[customer] = "D"
            continue
        if before < cutoffs[0] * total:
            tiers[customer] = "A"
        elif before < cutoffs[1] * total:
            tiers[customer] = "B"
        else:
            tiers[customer] = "C"
        before += value
    return tiers


def frame(dm: Datamart, expr: object) -> pd.DataFrame:
    """Execute through Arrow: ibis 12's own pandas conversion warns under pandas 3."""
    result: pd.DataFrame = dm.to_pyarrow(expr).to_pandas()  # type: ignore[arg-type]
    return result
