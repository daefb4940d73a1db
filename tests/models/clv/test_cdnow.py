"""The CDNOW sample against the published numbers of Fader, Hardie and Lee (2005).

BG/NBD: "Counting Your Customers the Easy Way", Marketing Science 24(2), section 4;
Pareto/NBD: the same paper's comparison; Gamma-Gamma: "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", Journal of Marketing Research 42(4).  All fitted on weeks 1-39.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from clientela.config import Settings
from clientela.datamart import connect
from clientela.models.clv import BGNBDModel, clv_summary
from clientela.services.clv import score_clv
from tests.conftest import REPO
from tests.models.clv.conftest import CALIBRATION_END

PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
}


def _summary(settings: Settings) -> pd.DataFrame:
    with connect(settings) as dm:
        expr = clv_summary(dm.table("transactions"), dm.table("identity"), CALIBRATION_END)
        return dm.to_pandas(expr.order_by("customer_id"))


def test_the_load_keeps_dollars_in_amount(cdnow_settings: Settings) -> None:
    with connect(cdnow_settings) as dm:
        tx = dm.to_pandas(dm.table("transactions"))
    assert len(tx) == 6919 and tx["customer_id"].nunique() == 2357
    first = tx[tx["customer_id"] == "0001"].sort_values("occurred_at")
    assert first["amount"].tolist() == [29.33, 29.73, 14.96, 26.48]
    assert tx["amount"].sum() == pytest.approx(244_091.94, abs=0.01)


def test_summary_reproduces_the_papers_statistics(cdnow_settings: Settings) -> None:
    summary = _summary(cdnow_settings).set_index("customer_id")
    assert len(summary) == 2357
    assert (summary["repeat_purchases"] > 0).sum() == 946
    one = summary.loc["0001"]
    assert one["repeat_purchases"] == 2
    assert round(one["purchase_span"], 2) == 30.43
    assert round(one["tenure"], 2) == 38.86
    assert one["average_repeat_spend"] == pytest.approx((29.73 + 14.96) / 2)
    # The first buyers (1997-01-01) are observed 38.86 weeks, the last (1997-03-25) 27.
    assert round(summary["tenure"].max(), 2) == 38.86
    assert round(summary["tenure"].min(), 2) == 27.0


def test_published_parameters_through_the_command(
    cli: Callable[..., Any], tmp_path: Path, shared_data: Path
) -> None:
    """The acceptance contract: `load examples/cdnow_sample`, then `clv fit --json`."""
    db = tmp_path / "cdnow.duckdb"
    assert cli("--db", db, "init").code == 0
    loaded = cli("--db", db, "load", REPO / "examples" / "cdnow_sample")
    assert loaded.code == 0, loaded.stderr
    result = cli("--db", db, "clv", "fit", "--calibration-end", "1997-09-30", "--json")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    for model, params in PUBLISHED.items():
        for name, published in params.items():
            assert document[model][name] == pytest.approx(published, rel=0.01), (model, name)
    assert document["bgnbd"]["loglik"] == pytest.approx(-9582.4, abs=0.05)
    assert document["gamma_gamma"]["customers"] == 946
    assert document["gamma_gamma"]["single_purchase"] == 1411
    assert any("946 customers" in note for note in document["notes"])


def test_customer_one_expects_1_226_purchases_in_39_weeks(cdnow_settings: Settings) -> None:
    with connect(cdnow_settings) as dm:
        scores = score_clv(dm, cdnow_settings, CALIBRATION_END, horizon=39, discount_rate=0.0)
    one = scores.customers.set_index("customer_id").loc["0001"]
    assert round(one["expected_purchases"], 3) == 1.226
    # With no discount and revenue as the value, CLV is purchases times expected spend.
    assert one["clv"] == pytest.approx(one["expected_purchases"] * one["expected_spend"])
    assert scores.margin_rate == 1.0 and scores.margin_source.startswith("none")


def test_new_customers_from_their_first_weeks(cdnow_settings: Settings) -> None:
    """A model fitted on the established base, applied to every customer's first 4 weeks only,
    predicts the purchases of the next 39 weeks within 10% in aggregate (2,679 for 2,500)."""
    summary = _summary(cdnow_settings)
    model = BGNBDModel().fit(summary.repeat_purchases, summary.purchase_span, summary.tenure)
    with connect(cdnow_settings) as dm:
        tx = dm.to_pandas(dm.table("transactions").select("customer_id", "occurred_at"))
    days = tx.drop_duplicates()
    first = days.groupby("customer_id")["occurred_at"].transform("min")
    weeks = (days["occurred_at"] - first).dt.days / 7
    early = days[(weeks > 0) & (weeks < 4)].assign(t=weeks)
    seen = early.groupby("customer_id")["t"].agg(["size", "max"])
    seen = seen.reindex(sorted(days["customer_id"].unique()), fill_value=0)
    predicted = model.expected_purchases(39, seen["size"], seen["max"], np.full(len(seen), 4.0))
    actual = int(((weeks >= 4) & (weeks < 43)).sum())
    assert actual == 2500
    assert predicted.sum() == pytest.approx(actual, rel=0.10)


def test_segments_add_up_and_predictions_are_written(
    cli: Callable[..., Any], cdnow_db: str, tmp_path: Path
) -> None:
    base = ("--db", cdnow_db, "clv")
    window = ("--calibration-end", "1997-09-30", "--horizon", "26")
    segments = cli(*base, "segments", *window, "--json")
    assert segments.code == 0, segments.stderr
    document = json.loads(segments.stdout)
    total = document["total_clv"]
    assert total > 0
    assert sum(g["clv"] for g in document["tiers"]) == pytest.approx(total)
    assert sum(g["clv"] for g in document["segments"]) == pytest.approx(total)
    assert sum(g["customers"] for g in document["segments"]) == 2357
    assert {g["name"] for g in document["segments"]} >= {"Champions", "Lost"}
    new = document["new_customer_value"]
    assert new["expected_spend"] == pytest.approx(document["fit"]["gamma_gamma"]["mean_spend"])

    csv_file, xlsx_file = tmp_path / "clv.csv", tmp_path / "clv.xlsx"
    predict = cli(*base, "predict", *window, "--out", csv_file, "--top", "3", "--json")
    assert predict.code == 0, predict.stderr
    shown = json.loads(predict.stdout)
    assert len(shown["customers"]) == 3
    assert shown["total_clv"] == pytest.approx(total)
    written = pd.read_csv(csv_file, dtype={"customer_id": str})
    assert len(written) == 2357 and written["clv"].sum() == pytest.approx(total)
    assert shown["customers"][0]["clv"] == pytest.approx(written["clv"].max())
    assert cli(*base, "predict", *window, "--out", xlsx_file).code == 0
    sheet = openpyxl.load_workbook(xlsx_file, read_only=True)["clv"]
    assert sheet.max_row == 2358

    pareto = cli(*base, "predict", *window, "--model", "pareto_nbd", "--json", "--top", "0")
    assert pareto.code == 0, pareto.stderr
    rows = json.loads(pareto.stdout)["customers"]
    assert len(rows) == 2357 and all(0 <= r["p_alive"] <= 1 for r in rows)


def test_screens_render(cli: Callable[..., Any], cdnow_db: str) -> None:
    for command in ("fit", "predict", "segments"):
        result = cli("--db", cdnow_db, "clv", command, "--calibration-end", "1997-09-30")
        assert result.code == 0, result.stderr
    assert "Gamma-Gamma" in result.stderr  # the note on who the spend model left out


def test_calibration_period_counts_whole_days(cdnow_settings: Settings) -> None:
    # One day later, customer 1's T grows by one day and nothing else moves.
    with connect(cdnow_settings) as dm:
        later = clv_summary(
            dm.table("transactions"), dm.table("identity"), CALIBRATION_END + dt.timedelta(days=1)
        )
        one = dm.to_pandas(later.filter(later.customer_id == "0001")).iloc[0]
    assert one["tenure"] == pytest.approx(273 / 7)
    assert one["repeat_purchases"] == 2
