"""``clientela model``: predictive models: train, evaluate, score, list (monitor, retrain and
compare are in :mod:`clientela.cli.model_monitor_cmds`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clientela.cli._output import RichProgress, console, err_console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.errors import ConfigError, suggest
from clientela.models._labels import CHURN_BY, CONTRACTS_ENDED, KINDS, Target

if TYPE_CHECKING:
    from clientela.services._model_store import StoredModel
    from clientela.services.predictive import ModelScoreRun

# The use cases bring scikit-learn and LightGBM, which take seconds to import: each command
# imports what it uses, so that the CLI starts quickly.

__all__ = ["model_app"]

model_app = typer.Typer(
    name="model",
    help=(
        "Predictive models: train (propensity, churn, response, conversion), evaluate, score, "
        "monitor, retrain, compare."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(model_app)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Name = Annotated[str, typer.Argument(help="The model's name.")]


def _day(value: dt.datetime) -> dt.date:
    return value.date()


@model_app.command("train")
def train(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option("--kind", help=f"One of {', '.join(KINDS)}.")],
    name: Annotated[str, typer.Option("--name", help="The model's name (a new version).")],
    cutoff: Annotated[
        dt.datetime,
        typer.Option(
            "--cutoff",
            formats=["%Y-%m-%d"],
            help="Features use the data before this day; the outcome window starts on it.",
        ),
    ],
    outcome_days: Annotated[
        int, typer.Option("--outcome-days", min=1, help="Days of the outcome window.")
    ] = 90,
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            help="propensity: buying this product_id; churn by contract: contracts of it.",
        ),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="propensity: buying in this category.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="response: the campaign_id answered.")
    ] = None,
    active_days: Annotated[
        int, typer.Option("--active-days", min=1, help="churn: bought within these days.")
    ] = 365,
    churn_by: Annotated[
        str,
        typer.Option(
            "--churn-by",
            help="churn: purchase (no purchase in the window) or contract (a contract ended).",
        ),
    ] = "purchase",
    contracts: Annotated[
        str,
        typer.Option(
            "--contracts",
            help="churn by contract: any (one active contract ends) or all (every one ends).",
        ),
    ] = "any",
    algorithm: Annotated[
        str, typer.Option("--algorithm", help="gbm (LightGBM) or logistic.")
    ] = "gbm",
    validation: Annotated[
        str,
        typer.Option("--validation", help="time (an earlier cut-off tested on this one) or cv."),
    ] = "time",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of --validation cv.")] = 5,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="A feature to leave out (repeatable).")
    ] = None,
    min_examples: Annotated[int, typer.Option("--min-examples", min=1)] = 100,
    min_positives: Annotated[int, typer.Option("--min-positives", min=1)] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: AsJson = False,
) -> None:
    """Train a model on the examples at a cut-off, evaluate it and store a new version."""
    if kind not in KINDS:
        raise ConfigError(f"unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
    if kind == "response" and campaign is None:
        raise ConfigError("a response model needs --campaign (the campaign_id answered)")
    if churn_by not in CHURN_BY:
        raise ConfigError(
            f"unknown --churn-by '{churn_by}'{suggest(churn_by, CHURN_BY)}; expected one of "
            f"{', '.join(CHURN_BY)}"
        )
    if contracts not in CONTRACTS_ENDED:
        raise ConfigError(
            f"unknown --contracts '{contracts}'; expected one of {', '.join(CONTRACTS_ENDED)}"
        )
    if churn_by == "contract" and kind != "churn":
        raise ConfigError(f"--churn-by contract is for churn models, not {kind}")
    if algorithm not in ("gbm", "logistic"):
        raise ConfigError(f"unknown algorithm '{algorithm}'; expected gbm or logistic")
    if validation not in ("time", "cv"):
        raise ConfigError(f"unknown validation '{validation}'; expected time or cv")
    target = Target(
        kind,  # type: ignore[arg-type]
        outcome_days,
        product=product,
        category=category,
        campaign=campaign,
        active_days=active_days,
        churn_by=churn_by,  # type: ignore[arg-type]
        contracts=contracts,  # type: ignore[arg-type]
    )
    from clientela.services.predictive import TrainRequest, train_model

    request = TrainRequest(
        name=name,
        target=target,
        cutoff=_day(cutoff),
        algorithm=algorithm,  # type: ignore[arg-type]
        validation=validation,  # type: ignore[arg-type]
        folds=folds,
        min_examples=min_examples,
        min_positives=min_positives,
        exclude=tuple(exclude or ()),
        seed=seed,
    )
    st = state(ctx)
    with (
        st.datamart() as dm,
        RichProgress(enabled=st.progress and not as_json) as progress,
    ):
        stored = train_model(dm, st.settings, request, progress)
    _show_trained(
        stored,
        as_json,
        f"[bold]{stored.name}[/] version {stored.version}: {stored.kind} ({stored.algorithm}), "
        f"cut-off {stored.cutoff}, {stored.target.outcome_days}-day outcome window, "
        f"{stored.examples:,} examples, {stored.positives:,} positives",
    )


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        err_console.print(f"warning: {warning}", style="yellow", highlight=False)


def _show_trained(stored: StoredModel, as_json: bool, headline: str) -> None:
    """What train and retrain print: the warnings, then the JSON document or the headline and
    the evaluation."""
    _warn(stored.warnings)
    if as_json:
        print_json(_document(stored))
        return
    console.print(headline)
    _render_evaluation(stored, top=5)


def _document(stored: StoredModel) -> dict[str, Any]:
    from dataclasses import asdict

    evaluation = asdict(stored.evaluation)
    return {
        "name": stored.name,
        "version": stored.version,
        "kind": stored.kind,
        "algorithm": stored.algorithm,
        "target": asdict(stored.target),
        "cutoff": stored.cutoff,
        "examples": stored.examples,
        "positives": stored.positives,
        "features": list(stored.features),
        "warnings": list(stored.warnings),
        "created_at": stored.created_at,
        **evaluation,
    }


def _render_evaluation(stored: StoredModel, top: int = 10) -> None:
    ev = stored.evaluation
    console.print(
        f"{ev.validation}: {ev.examples:,} examples, {ev.positives:,} positives "
        f"(base rate {ev.base_rate:.1%})"
    )
    measures = [("ROC AUC", ev.roc_auc), ("PR AUC", ev.pr_auc), ("Brier score", ev.brier)]
    console.print(rich_table(None, ["measure", "value"], measures, numeric=["value"]))
    console.print(
        rich_table(
            "Lift and cumulative gains by decile",
            ["decile", "examples", "positives", "rate", "lift", "cumulative gain"],
            [
                (
                    d.decile,
                    d.examples,
                    d.positives,
                    f"{d.rate:.1%}",
                    f"{d.lift:.2f}",
                    f"{d.cumulative_gain:.1%}",
                )
                for d in ev.deciles
            ],
            numeric=["decile", "examples", "positives", "rate", "lift", "cumulative gain"],
        )
    )
    console.print(
        rich_table(
            "Calibration",
            ["predicted", "observed", "examples"],
            [(f"{c.predicted:.3f}", f"{c.observed:.3f}", c.examples) for c in ev.calibration],
            numeric=["predicted", "observed", "examples"],
        )
    )
    importance = list(ev.feature_importance.items())[:top]
    console.print(
        rich_table(
            "Most important features",
            ["feature", "share"],
            [(name, f"{share:.1%}") for name, share in importance],
            numeric=["share"],
        )
    )


@model_app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    name: Name,
    version: Annotated[int | None, typer.Option("--version", help="Default: the newest.")] = None,
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", help="Also write the report as an Excel workbook with charts."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the report as one HTML page with charts."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The evaluation of a trained model: ROC AUC, PR AUC, Brier, lift, calibration."""
    from clientela.exports.model_html import write_model_html
    from clientela.exports.model_report import write_model_workbook
    from clientela.services.predictive import evaluate_model

    st = state(ctx)
    with st.datamart() as dm:
        stored = evaluate_model(dm, name, version)
    for path, write in ((xlsx, write_model_workbook), (html, write_model_html)):
        if path is not None:
            written = write(stored, path)
            err_console.print(f"wrote {written}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(_document(stored))
        return
    console.print(
        f"[bold]{stored.name}[/] version {stored.version}: {stored.kind} ({stored.algorithm}), "
        f"cut-off {stored.cutoff}"
    )
    _render_evaluation(stored)


@model_app.command("score")
def score(
    ctx: typer.Context,
    name: Name,
    as_of: Annotated[
        dt.datetime,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Score with the data before this day."),
    ],
    show: Annotated[int, typer.Option("--show", min=0, help="Top customers shown.")] = 10,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write every scored customer (score, decile, reasons) to a .csv or .xlsx file.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Score the model's customers as of a day; store the snapshot with each one's reasons."""
    from clientela.exports._table_file import table_file_suffix
    from clientela.exports.model_scores import write_model_scores

    if out is not None:  # checked before the scoring, which takes a while
        table_file_suffix(out)
    st = state(ctx)
    with (
        st.datamart() as dm,
        RichProgress(enabled=st.progress and not as_json) as progress,
    ):
        from clientela.services.predictive import score_model

        run = score_model(
            dm,
            st.settings,
            name,
            _day(as_of),
            show=show,
            with_customers=out is not None,
            progress=progress,
        )
    if out is not None and run.customers is not None:
        written = write_model_scores(run.customers, out)
        err_console.print(
            f"wrote {run.scored:,} customers to {written}", highlight=False, soft_wrap=True
        )
    if as_json:
        print_json({f.name: getattr(run, f.name) for f in fields(run) if f.name != "customers"})
        return
    _render_scores(run)


def _render_scores(run: ModelScoreRun) -> None:
    console.print(
        f"[bold]{run.model}[/] version {run.version} as of {run.as_of}: {run.scored:,} "
        f"customers scored, mean probability {run.mean_probability:.3f} ({run.seconds:.1f} s)"
    )

    def said(reasons: list[dict[str, Any]]) -> str:
        return "; ".join(f"{r['feature']} = {r['value']} ({r['effect']:+.2f})" for r in reasons)

    console.print(
        rich_table(
            None,
            ["customer", "probability", "raising", "lowering"],
            [
                (
                    t["profile_id"],
                    f"{t['probability']:.3f}",
                    said(t["raising"]),
                    said(t["lowering"]),
                )
                for t in run.top
            ],
            numeric=["probability"],
        )
    )


@model_app.command("list")
def list_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The trained models, newest version of each."""
    from clientela.services.predictive import list_predictive_models

    st = state(ctx)
    with st.datamart() as dm:
        models = list_predictive_models(dm)
    if as_json:
        print_json(models)
        return
    console.print(
        rich_table(
            "Predictive models",
            ["model", "version", "kind", "algorithm", "cut-off", "days", "examples", "ROC AUC"],
            [
                (
                    m.name,
                    m.version,
                    m.kind,
                    m.algorithm,
                    m.cutoff,
                    m.outcome_days,
                    m.examples,
                    "" if m.roc_auc is None else f"{m.roc_auc:.3f}",
                )
                for m in models
            ],
            numeric=["version", "days", "examples", "ROC AUC"],
        )
    )


# The monitoring commands add themselves to model_app.
from clientela.cli import model_monitor_cmds  # noqa: E402, F401
