"""``clientela campaign responses | results``: response attribution and results against control."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from clientela.cli._output import RichProgress, console, err_console, print_json, rich_table
from clientela.cli.app import state
from clientela.cli.campaign_cmds import campaign_app
from clientela.datamart import Datamart
from clientela.errors import NotFoundError
from clientela.services.campaign_results import (
    BREAKDOWNS,
    AttributionReport,
    Breakdown,
    BreakdownRow,
    CampaignResults,
    ResultRule,
    attribute_responses,
    campaign_results,
    rule_from_campaign,
)

__all__ = ["campaign_app"]

log = logging.getLogger(__name__)

Name = Annotated[str, typer.Argument(help="The campaign's name.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Count contacts and purchases before this day (default: the day after the newest "
        "transaction, response or planned contact of the campaign).",
        show_default=False,
    ),
]
WindowDays = Annotated[
    int | None,
    typer.Option(
        "--window-days",
        min=0,
        help="Response window in days after the contact (default: the campaign's, else 30).",
        show_default=False,
    ),
]
AttributionOption = Annotated[
    str | None,
    typer.Option(
        "--attribution",
        help="Purchases of a contact kept: first, last or every (default: the campaign's, "
        "else last).",
        show_default=False,
    ),
]
AttributeByOption = Annotated[
    str | None,
    typer.Option(
        "--attribute-by",
        help="Purchases that count: any product, the campaign's offers' products (product) or "
        "the product of the offer the contact got (offer).",
        show_default=False,
    ),
]
CostPerContact = Annotated[
    float | None,
    typer.Option("--cost-per-contact", min=0, help="Cost of one contact.", show_default=False),
]
FixedCost = Annotated[
    float | None,
    typer.Option("--fixed-cost", min=0, help="Fixed cost of the campaign.", show_default=False),
]
Unmatched = Annotated[
    int,
    typer.Option(
        "--unmatched",
        min=0,
        help="List up to this many responses that match no contact.",
        show_default=False,
    ),
]


def _rule(dm: Datamart, name: str, **overrides: Any) -> ResultRule:
    """The campaign's stored definition's rule, overridden by the options given."""
    from clientela.services.campaigns import load_campaign

    campaign: Any = None
    try:
        campaign = load_campaign(dm, name)
    except NotFoundError:
        log.info("campaign %s has no stored definition: defaults and options apply", name)
    return rule_from_campaign(campaign, **overrides)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _print_attribution(report: AttributionReport) -> None:
    rows = [
        ("contacts (target)", f"{report.target_contacts:,}"),
        ("held out (control)", f"{report.control_contacts:,}"),
        ("responses loaded", f"{report.loaded_responses:,}"),
        ("matched to a contact", f"{report.matched_responses:,}"),
        ("unmatched (kept)", f"{report.unmatched_responses:,}"),
        ("purchases attributed (target)", f"{report.attributed_target:,}"),
        ("purchases attributed (control)", f"{report.attributed_control:,}"),
        ("added by this run", f"{report.added:,}"),
        ("removed by this run", f"{report.removed:,}"),
    ]
    title = (
        f"Responses of {report.campaign} before {report.as_of} (window {report.window_days} days, "
        f"{report.attribution} purchase, {report.attribute_by} product)"
    )
    console.print(rich_table(title, ["", "count"], rows, numeric=["count"]))
    for reason, count in report.unmatched_by_reason.items():
        err_console.print(
            f"warning: {count:,} responses unmatched: {reason}", highlight=False, markup=False
        )
    if report.unmatched:
        listed = [
            (u.response_id, u.customer_id, u.contact_id, str(u.responded_at), u.kind, u.reason)
            for u in report.unmatched
        ]
        console.print(
            rich_table(
                "Unmatched responses",
                ["response", "customer", "contact", "when", "kind", "reason"],
                listed,
            )
        )


@campaign_app.command("responses")
def responses(
    ctx: typer.Context,
    name: Name,
    as_of: AsOf = None,
    window_days: WindowDays = None,
    attribution: AttributionOption = None,
    attribute_by: AttributeByOption = None,
    unmatched: Unmatched = 0,
    as_json: AsJson = False,
) -> None:
    """Match responses to contacts and attribute purchases (target and control alike)."""
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        rule = _rule(
            dm, name, window_days=window_days, attribution=attribution, attribute_by=attribute_by
        )
        report = attribute_responses(
            dm,
            st.settings,
            name,
            as_of=_day(as_of),
            rule=rule,
            unmatched_limit=unmatched,
            progress=progress,
        )
    if as_json:
        print_json(report)
        return
    _print_attribution(report)


def _group_rows(results: CampaignResults) -> list[tuple[Any, ...]]:
    return [
        (
            label,
            g.customers,
            g.responders,
            _pct(g.rate),
            g.converters,
            _pct(g.conversion_rate),
            _money(g.revenue),
            _money(g.margin),
        )
        for label, g in (("target", results.target), ("control", results.control))
    ]


def _breakdown_rows(rows: list[BreakdownRow]) -> list[tuple[Any, ...]]:
    return [
        (
            r.key,
            r.target.customers,
            _pct(r.target.rate),
            r.control.customers,
            _pct(r.control.rate),
            _pct(r.uplift),
            "" if r.ci_low is None else f"{r.ci_low:+.2%} to {r.ci_high:+.2%}",
            "" if r.p_value is None else f"{r.p_value:.3g}",
        )
        for r in rows
    ]


def _print_results(results: CampaignResults) -> None:
    numbers = ["customers", "responders", "rate", "converters", "conversion", "revenue", "margin"]
    console.print(
        rich_table(
            f"Campaign {results.campaign}: target against control (before {results.as_of})",
            ["group", *numbers],
            _group_rows(results),
            numeric=numbers,
        )
    )
    if results.uplift is None:
        err_console.print(
            "warning: the campaign has no control group: no uplift, no test", highlight=False
        )
    ci = (
        ""
        if results.ci_low is None or results.ci_high is None
        else f"{results.ci_low:+.2%} to {results.ci_high:+.2%}"
    )
    p_value = "" if results.p_value is None else f"{results.p_value:.4g}"
    significant = "" if results.significant is None else str(results.significant).lower()
    summary = [
        ("uplift (response rate)", _pct(results.uplift)),
        (f"confidence interval ({results.interval})", ci),
        ("p-value (two-proportion z-test)", p_value),
        ("significant at 5%", significant),
        ("uplift (conversion rate)", _pct(results.conversion_uplift)),
        ("incremental revenue", _money(results.incremental_revenue)),
        ("incremental margin", _money(results.incremental_margin)),
        ("contacts", f"{results.contacted:,}"),
        ("cost", _money(results.cost)),
        ("return on investment", _pct(results.roi)),
    ]  # fmt: skip
    console.print(rich_table("Uplift and return", ["", "value"], summary, numeric=["value"]))
    columns = ["target", "target rate", "control", "control rate", "uplift", "95% CI", "p-value"]
    for by, rows in results.breakdowns.items():
        console.print(
            rich_table(f"By {by}", [by, *columns], _breakdown_rows(rows), numeric=columns)
        )
    report = results.attribution
    if report.unmatched_responses:
        err_console.print(
            f"warning: {report.unmatched_responses:,} responses match no contact (kept; "
            f"'clientela campaign responses {results.campaign} --unmatched 50' lists them)",
            highlight=False,
            markup=False,
        )


def _breakdowns(values: list[str] | None) -> tuple[Breakdown, ...]:
    if not values:
        return BREAKDOWNS
    from clientela.errors import ConfigError, suggest

    chosen: list[Breakdown] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part not in BREAKDOWNS:
                raise ConfigError(
                    f"--by '{part}' is not one of {', '.join(BREAKDOWNS)}"
                    f"{suggest(part, BREAKDOWNS)}"
                )
            chosen.append(part)
    return tuple(dict.fromkeys(chosen))


def _positive(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from clientela.datamart.schema import RESPONSE_KINDS
    from clientela.errors import ConfigError, suggest

    kinds = tuple(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    for kind in kinds:
        if kind not in RESPONSE_KINDS:
            raise ConfigError(
                f"--positive '{kind}' is not a response kind{suggest(kind, RESPONSE_KINDS)}; "
                f"the kinds are: {', '.join(RESPONSE_KINDS)}"
            )
    if not kinds:
        raise ConfigError("--positive names no response kind")
    return kinds


@campaign_app.command("results")
def results(
    ctx: typer.Context,
    name: Name,
    as_of: AsOf = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Break results down by segment, tier or decile (repeat or comma-separate; "
            "default all three).",
            show_default=False,
        ),
    ] = None,
    window_days: WindowDays = None,
    attribution: AttributionOption = None,
    attribute_by: AttributeByOption = None,
    cost_per_contact: CostPerContact = None,
    fixed_cost: FixedCost = None,
    positive: Annotated[
        str | None,
        typer.Option(
            "--positive",
            help="Response kinds that count as a response, comma-separated (default "
            "click,accepted,call_outcome,purchase; a call outcome counts when positive).",
            show_default=False,
        ),
    ] = None,
    excel: Annotated[
        Path | None, typer.Option("--excel", help="Also write an Excel workbook with charts.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML report with charts.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Target against control: response and conversion rates, uplift with its 95% interval,
    significance, incremental revenue and margin, cost and ROI; by segment, tier and decile."""
    st = state(ctx)
    chosen = _breakdowns(by)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        rule = _rule(
            dm,
            name,
            window_days=window_days,
            attribution=attribution,
            attribute_by=attribute_by,
            cost_per_contact=cost_per_contact,
            fixed_cost=fixed_cost,
            positive_kinds=_positive(positive),
        )
        found = campaign_results(
            dm, st.settings, name, as_of=_day(as_of), rule=rule, by=chosen, progress=progress
        )
    written = []
    if excel is not None:
        from clientela.exports.campaign_report import write_results_workbook

        written.append(write_results_workbook(found, excel))
    if html is not None:
        from clientela.exports.campaign_report import write_results_html

        written.append(write_results_html(found, html))
    if as_json:
        print_json(found)
        return
    _print_results(found)
    for path in written:
        console.print(f"wrote {path}", highlight=False, markup=False)
