"""``clientela profile``, ``clientela build`` and ``clientela report value``.

:func:`render_profile` and :func:`render_value_report` draw exactly what the commands show, so
that other commands (``clientela demo``) print the same screens.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.profile.view import CustomerProfile
from clientela.services.build import BuildReport
from clientela.services.build import build as build_summary
from clientela.services.profile import get_profile
from clientela.services.report import ValueReport, value_report

__all__ = ["render_build", "render_profile", "render_value_report", "report_app"]

report_app = typer.Typer(
    name="report", help="Reports on the datamart.", no_args_is_help=True, add_completion=False
)
app.add_typer(report_app)

AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Count data before this day (YYYY-MM-DD); by default the day after the newest "
        "transaction.",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()


# -- clientela build -----------------------------------------------------------------------
@app.command("build")
def build_command(ctx: typer.Context, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Materialise customer_summary (KPIs, RFM, value tier per profile) for one as-of date."""
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress) as progress:
        report = build_summary(dm, st.settings, _date(as_of), progress=progress)
    if as_json:
        print_json(report)
        return
    render_build(report)


def render_build(report: BuildReport) -> None:
    console.print(
        f"built {report.table} as of {report.as_of}: {report.profiles:,} profiles "
        f"in {report.seconds:.1f}s"
    )
    rows = [(tier, count) for tier, count in report.tiers.items()]
    console.print(
        rich_table("Profiles per value tier", ["tier", "profiles"], rows, numeric=["profiles"])
    )


# -- clientela profile ---------------------------------------------------------------------
@app.command("profile")
def profile_command(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Customer id, e-mail or phone.")],
    as_of: AsOf = None,
    as_json: AsJson = False,
    page: Annotated[int, typer.Option("--page", min=1, help="Timeline page.")] = 1,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Timeline entries a page.")
    ] = 20,
) -> None:
    """The 360-degree view of one customer: KPIs, RFM, tier, issues, consents, timeline."""
    st = state(ctx)
    with st.datamart() as dm:
        profile = get_profile(dm, st.settings, key, _date(as_of), page=page, page_size=page_size)
    if as_json:
        print_json(profile)
        return
    render_profile(profile)


def render_profile(profile: CustomerProfile) -> None:
    """The profile screen (Rich) on the CLI console."""
    who = profile.identity
    title = f"[bold]{who.name or profile.customer_id}[/bold]  ({profile.customer_id})"
    lines = [
        f"as of {profile.as_of} ({'built summary' if profile.source != 'live' else 'live'})",
        f"customer ids: {', '.join(who.customer_ids)}",
        f"e-mail: {', '.join(who.emails) or '-'}   phone: {', '.join(who.phones) or '-'}",
    ]
    details = [
        ("kind", who.kind), ("age", who.age), ("gender", who.gender), ("city", who.city),
        ("region", who.region), ("country", who.country), ("industry", who.industry),
        ("company size", who.company_size), ("account owner", who.account_owner),
    ]  # fmt: skip
    lines.append("   ".join(f"{k}: {v}" for k, v in details if v is not None))
    console.print(Panel("\n".join(lines), title=title, title_align="left"))
    if profile.do_not_pitch:
        console.print(f"[bold red]DO NOT PITCH[/bold red]: {profile.do_not_pitch_reason}")

    k = profile.kpis
    kpis = [
        ("revenue", _money(k.revenue)), ("margin", _money(k.margin)),
        ("cost to serve", _money(k.cost_to_serve)), ("contribution", _money(k.contribution)),
        ("orders", k.orders), ("average order value", _money(k.average_order_value)),
        ("returns", k.returns), ("return rate", _pct(k.return_rate)),
        ("referrals made / converted", f"{k.referrals_made} / {k.referrals_converted}"),
        ("first / last purchase", f"{_day(k.first_purchase)} / {_day(k.last_purchase)}"),
        ("tenure (days)", k.tenure_days),
        ("revenue without margin", _money(k.revenue_without_margin)),
    ]  # fmt: skip
    console.print(rich_table("KPIs", ["kpi", "value"], kpis))
    r = profile.rfm
    policy = profile.service_policy
    value = [
        ("RFM", f"R{r.r} F{r.f} M{r.m}" if r.r is not None else "no purchase"),
        ("segment", r.segment or "-"),
        ("recency (days) / frequency / monetary",
         f"{r.recency_days} / {r.frequency} / {_money(r.monetary)}" if r.r is not None else "-"),
        ("value tier", profile.value_tier),
        *((name.replace("_", " "), text) for name, text in policy.items()),
    ]  # fmt: skip
    console.print(rich_table("Value and service policy", ["", ""], value))
    if profile.scores:
        console.print(
            rich_table(
                "Scores",
                ["model", "as of", "score", "change", "band", "trend"],
                [
                    (
                        s.model,
                        s.as_of,
                        s.score,
                        s.change,
                        s.band or "-",
                        " > ".join(f"{p.score:g}" for p in s.trend),
                    )
                    for s in profile.scores
                ],
                numeric=["score", "change"],
            )
        )
    for p in profile.predictions:
        reasons = [("raising", r) for r in p.raising] + [("lowering", r) for r in p.lowering]
        console.print(
            rich_table(
                f"Predictive score {p.model} (version {p.version}) as of {p.as_of}: "
                f"probability {p.probability:.3f}, decile {p.decile} of 10",
                ["", "feature", "value", "effect"],
                [(side, r.feature, r.value, f"{r.effect:+.2f}") for side, r in reasons],
                numeric=["effect"],
            )
        )

    if profile.third_party:
        rows: list[tuple[Any, ...]] = [
            (a.source, a.attribute, a.value, _day(a.as_of)) for a in profile.third_party
        ]
        console.print(
            rich_table("Third-party attributes", ["source", "attribute", "value", "as of"], rows)
        )
    b = profile.behaviour
    if b.events:
        rows = [(e.event_type, e.last_7_days, e.last_30_days, e.last_90_days) for e in b.events]
        console.print(
            rich_table(
                f"Behaviour (last activity {b.last_activity or '-'})",
                ["event", "7 days", "30 days", "90 days"],
                rows,
                numeric=["7 days", "30 days", "90 days"],
            )
        )
        if b.top_objects:
            console.print(
                "top objects: " + ", ".join(f"{o.object_id} ({o.events})" for o in b.top_objects)
            )
    s = profile.social
    if s.signals:
        rows = [(c.network, c.kind, c.signals) for c in s.by_network]
        sentiment = "n/a" if s.mean_sentiment is None else f"{s.mean_sentiment:+.2f}"
        console.print(
            rich_table(
                f"Social (mean sentiment {sentiment})",
                ["network", "kind", "signals"],
                rows,
                numeric=["signals"],
            )
        )
    if profile.open_issues:
        rows = [
            (i.kind, _day(i.occurred_at), i.channel, i.description) for i in profile.open_issues
        ]
        console.print(rich_table("Open issues", ["kind", "since", "channel", "description"], rows))
    c = profile.consents
    rows = [(x.channel, x.purpose, x.status, _day(x.recorded_at)) for x in c.statuses]
    dnc = [
        kind
        for kind, flag in (("e-mail", c.email_do_not_contact), ("phone", c.phone_do_not_contact))
        if flag
    ]
    title = "Consents" + (f" - on do-not-contact lists: {', '.join(dnc)}" if dnc else "")
    console.print(rich_table(title, ["channel", "purpose", "status", "recorded"], rows))
    t = profile.timeline
    rows = [
        (str(e.occurred_at), e.source, e.kind, e.reference, e.description, e.amount, e.status)
        for e in t.entries
    ]
    console.print(
        rich_table(
            f"Timeline, page {t.page} of {t.pages} ({t.total:,} entries)",
            ["when", "source", "kind", "reference", "description", "amount", "status"],
            rows,
            numeric=["amount"],
        )
    )


# -- clientela report value ----------------------------------------------------------------
@report_app.command("value")
def report_value(
    ctx: typer.Context,
    as_of: AsOf = None,
    as_json: AsJson = False,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write an Excel workbook with charts.")
    ] = None,
) -> None:
    """Where value comes from: top-20% shares, negative contributors, value tiers."""
    st = state(ctx)
    with st.datamart() as dm:
        report = value_report(dm, st.settings, _date(as_of))
    if xlsx is not None:
        from clientela.exports.excel import write_value_report

        write_value_report(report, xlsx)
    if as_json:
        print_json(report)
        return
    render_value_report(report)
    if xlsx is not None:
        console.print(f"wrote {xlsx}")


def render_value_report(report: ValueReport) -> None:
    """The value report (Rich) on the CLI console."""
    negative = report.negative_contribution
    lines = [
        f"as of {report.as_of} ({'built summary' if report.source != 'live' else 'live'}): "
        f"{report.customers:,} customers, contribution {_money(report.contribution)}",
        f"The top 20% of customers ({report.top20_customers:,}) make "
        f"{_pct(report.top20_margin_share)} of the margin.",
        f"The top 20% of referrers ({report.top20_referrers:,}) bring "
        f"{_pct(report.top20_referral_share)} of the converted referrals.",
        f"{negative.customers:,} customers ({_pct(negative.share)}) contribute negatively, "
        f"{_money(negative.total)} in all.",
    ]
    if report.revenue_without_margin:
        lines.append(
            f"{_money(report.revenue_without_margin)} of revenue has no margin recorded "
            "(counted as 0)."
        )
    console.print(Panel("\n".join(lines), title="[bold]Value report[/bold]", title_align="left"))
    rows = [
        (t.tier, t.customers, t.revenue, t.margin, t.cost_to_serve, t.contribution,
         _pct(t.contribution_share))
        for t in report.tiers
    ]  # fmt: skip
    columns = ["tier", "customers", "revenue", "margin", "cost to serve", "contribution", "share"]
    console.print(rich_table("Value tiers", columns, rows, numeric=columns[1:]))
