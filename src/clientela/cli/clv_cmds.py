"""``clientela clv``: lifetime value of non-contractual customers (BG/NBD, Pareto/NBD,
Gamma-Gamma)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from clientela.cli._output import console, err_console, print_json, rich_table
from clientela.cli.app import app, state

if TYPE_CHECKING:
    from clientela.services.clv import ClvFit, ClvGroup

# The use cases bring SciPy: imported by the commands that use them, not when the CLI starts.

__all__ = ["clv_app"]

clv_app = typer.Typer(
    name="clv",
    help="Lifetime value of non-contractual customers: BG/NBD, Pareto/NBD and Gamma-Gamma.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(clv_app)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
CalibrationEnd = Annotated[
    dt.datetime | None,
    typer.Option(
        "--calibration-end",
        formats=["%Y-%m-%d"],
        help="Last day of the calibration period (YYYY-MM-DD, its sales included); by default "
        "the day of the newest sale.",
        show_default=False,
    ),
]
Unit = Annotated[
    str, typer.Option("--unit", help="Time unit of the models and the horizon: day, week, month.")
]
Horizon = Annotated[
    int, typer.Option("--horizon", min=1, help="Periods (of --unit) the lifetime value covers.")
]
DiscountRate = Annotated[
    float | None,
    typer.Option(
        "--discount-rate",
        help="Yearly discount rate, applied per period (default: the setting "
        "clv_discount_rate, 0.10).",
        show_default=False,
    ),
]
MarginRate = Annotated[
    float | None,
    typer.Option(
        "--margin-rate",
        help="Share of a purchase's value that is margin (default: the setting "
        "clv_margin_rate, else the transactions' margin, else 1: revenue).",
        show_default=False,
    ),
]
PurchaseModel = Annotated[str, typer.Option("--model", help="Purchase model: bgnbd or pareto_nbd.")]
NewWithin = Annotated[
    int,
    typer.Option(
        "--new-within",
        help="Customers whose first purchase is at most this many days before the calibration "
        "end are new.",
    ),
]

_Result = TypeVar("_Result")
# --unit, --horizon, --discount-rate, --margin-rate, --model, --new-within.
_ValueOptions = tuple[str, int, float | None, float | None, str, int]


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _notes(fit: ClvFit) -> None:
    for note in fit.notes:
        err_console.print(f"note: {note}", style="yellow", highlight=False)


@clv_app.command("fit")
def fit_cmd(
    ctx: typer.Context,
    calibration_end: CalibrationEnd = None,
    unit: Unit = "week",
    as_json: AsJson = False,
) -> None:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the sales of the calibration period."""
    st = state(ctx)
    with st.datamart() as dm:
        from clientela.services.clv import fit_clv

        fit = fit_clv(dm, st.settings, _date(calibration_end), unit=unit)
    if as_json:
        print_json(fit)
        return
    _notes(fit)
    console.print(
        f"[bold]Lifetime value models[/] fitted on {fit.customers:,} customers "
        f"({fit.repeat_customers:,} with repeat purchases), calibration ending "
        f"{fit.calibration_end}, times in {fit.unit}s ({fit.seconds:.1f} s)"
    )
    rows: list[tuple[str, str, float]] = []
    for model, params in (
        ("BG/NBD", fit.bgnbd),
        ("Pareto/NBD", fit.pareto_nbd),
        ("Gamma-Gamma", fit.gamma_gamma),
    ):
        for name, value in vars(params).items():
            if isinstance(value, float) and name not in ("mean_spend",):
                rows.append((model, name, value))
    console.print(
        rich_table(
            None,
            ["model", "parameter", "value"],
            [(m, n, f"{v:,.4f}" if n != "loglik" else f"{v:,.2f}") for m, n, v in rows],
            numeric=["value"],
        )
    )


def _compute(
    ctx: typer.Context,
    use_case: Callable[..., _Result],
    calibration_end: dt.datetime | None,
    options: _ValueOptions,
) -> _Result:
    """Run ``score_clv`` or ``clv_segments`` on the datamart with the options they share."""
    unit, horizon, discount_rate, margin_rate, model, new_within = options
    st = state(ctx)
    with st.datamart() as dm:
        return use_case(
            dm,
            st.settings,
            _date(calibration_end),
            unit=unit,
            horizon=horizon,
            discount_rate=discount_rate,
            margin_rate=margin_rate,
            model=model,
            new_customer_days=new_within,
        )


@clv_app.command("predict")
def predict_cmd(
    ctx: typer.Context,
    calibration_end: CalibrationEnd = None,
    unit: Unit = "week",
    horizon: Horizon = 52,
    discount_rate: DiscountRate = None,
    margin_rate: MarginRate = None,
    model: PurchaseModel = "bgnbd",
    new_within: NewWithin = 90,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Customers shown, highest value first (0: all).")
    ] = 20,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write every customer's row to this .csv or .xlsx file."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Per customer: P(alive), expected purchases and spend, and lifetime value."""
    from clientela.services.clv import score_clv

    options = (unit, horizon, discount_rate, margin_rate, model, new_within)
    scores = _compute(ctx, score_clv, calibration_end, options)
    if out is not None:
        from clientela.exports.clv import write_clv_customers

        written = write_clv_customers(scores.customers, out)
        err_console.print(f"wrote {len(scores.customers):,} customers to {written}")
    ranked = scores.customers.sort_values(["clv", "customer_id"], ascending=[False, True])
    shown = ranked if top == 0 else ranked.head(top)
    if as_json:
        document = {k: v for k, v in vars(scores).items() if k != "customers"}
        document["customers"] = shown.to_dict(orient="records")
        print_json(document)
        return
    _notes(scores.fit)
    console.print(
        f"[bold]Lifetime value[/] over {scores.horizon} {scores.fit.unit}s after "
        f"{scores.fit.calibration_end} ({scores.model}, yearly discount "
        f"{scores.discount_rate:.1%}, margin {scores.margin_rate:.1%}: {scores.margin_source}): "
        f"{scores.total_clv:,.2f} from {len(scores.customers):,} customers, "
        f"{scores.total_expected_purchases:,.1f} purchases expected"
    )
    columns = [
        "customer_id",
        "repeat_purchases",
        "purchase_span",
        "tenure",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
        "value_tier",
        "segment",
    ]
    rows = [[row[c] for c in columns] for row in shown.to_dict(orient="records")]
    title = f"Top {len(shown):,} customers by lifetime value" if top else "Customers"
    console.print(rich_table(title, columns, rows, numeric=columns[1:8]))


def _group_rows(groups: tuple[ClvGroup, ...]) -> list[tuple[Any, ...]]:
    return [
        (
            g.name,
            g.customers,
            g.expected_purchases,
            g.clv,
            "" if g.clv_share is None else f"{g.clv_share:.1%}",
            g.average_clv,
            g.average_p_alive,
        )
        for g in groups
    ]


@clv_app.command("segments")
def segments_cmd(
    ctx: typer.Context,
    calibration_end: CalibrationEnd = None,
    unit: Unit = "week",
    horizon: Horizon = 52,
    discount_rate: DiscountRate = None,
    margin_rate: MarginRate = None,
    model: PurchaseModel = "bgnbd",
    new_within: NewWithin = 90,
    as_json: AsJson = False,
) -> None:
    """Lifetime value summed per value tier, per RFM segment and for the new customers."""
    from clientela.services.clv import clv_segments

    options = (unit, horizon, discount_rate, margin_rate, model, new_within)
    result = _compute(ctx, clv_segments, calibration_end, options)
    if as_json:
        print_json(result)
        return
    _notes(result.fit)
    console.print(
        f"[bold]Lifetime value[/] over {result.horizon} {result.fit.unit}s after "
        f"{result.fit.calibration_end} ({result.model}): {result.total_clv:,.2f} in all"
    )
    columns = [
        "customers",
        "expected purchases",
        "clv",
        "share",
        "average clv",
        "average P(alive)",
    ]
    numeric = [c for c in columns if c != "share"] + ["share"]
    console.print(
        rich_table("Per value tier", ["tier", *columns], _group_rows(result.tiers), numeric=numeric)
    )
    console.print(
        rich_table(
            "Per RFM segment", ["segment", *columns], _group_rows(result.segments), numeric=numeric
        )
    )
    console.print(
        rich_table(
            f"New customers (first purchase within {result.new_customer_days} days)",
            ["group", *columns],
            _group_rows((result.new_customers,)),
            numeric=numeric,
        )
    )
    new = result.new_customer_value
    console.print(
        f"A customer just acquired: {new.expected_purchases:.3f} repeat purchases expected, "
        f"{new.expected_spend:,.2f} a purchase, lifetime value {new.clv:,.2f}"
    )
