"""``clientela model monitor | retrain | compare``: watching a trained model and renewing it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import state
from clientela.cli.model_cmds import AsJson, Name, _show_trained, _warn, model_app

if TYPE_CHECKING:
    from clientela.services.predictive import ModelComparison, MonitorReport

# The use cases bring scikit-learn and LightGBM: imported by the commands, not at start.

__all__: list[str] = []


@model_app.command("monitor")
def monitor(
    ctx: typer.Context,
    name: Name,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="The population of this day (default: the day after the newest data).",
        ),
    ] = None,
    version: Annotated[int | None, typer.Option("--version", help="Default: the newest.")] = None,
    auc_drop: Annotated[
        float,
        typer.Option(
            "--auc-drop",
            help="Recommend a retraining when the realised ROC AUC is this much below training.",
        ),
    ] = 0.05,
    features: Annotated[
        int, typer.Option("--features", min=0, help="Features shown, most shifted first.")
    ] = 10,
    as_json: AsJson = False,
) -> None:
    """Drift since training (PSI of the score and features) and the realised ROC AUC."""
    st = state(ctx)
    with st.datamart() as dm:
        from clientela.services.predictive import monitor_model

        report = monitor_model(
            dm,
            st.settings,
            name,
            as_of.date() if as_of is not None else None,
            version=version,
            auc_drop=auc_drop,
        )
    _warn(report.warnings)
    if as_json:
        print_json(report)
        return
    _render_monitor(report, features)


def _render_monitor(report: MonitorReport, shown: int) -> None:
    console.print(
        f"[bold]{report.model}[/] version {report.version} ({report.kind}, cut-off "
        f"{report.cutoff}) as of {report.as_of}: {report.population:,} customers"
    )
    rows: list[tuple[str, str, str]] = []
    if report.score_psi is not None:
        rows.append(("PSI of the score", f"{report.score_psi:.3f}", report.score_stability or ""))
    realised = report.realised
    if realised is not None:
        rows.append(
            (
                f"realised ROC AUC (scores of {realised.scored_as_of}, "
                f"{realised.customers:,} customers)",
                f"{realised.roc_auc:.3f}",
                f"training {realised.training_roc_auc:.3f}, drop {realised.drop:+.3f}",
            )
        )
    console.print(rich_table(None, ["measure", "value", ""], rows, numeric=["value"]))
    if report.features and shown:
        console.print(
            rich_table(
                "Feature drift (PSI: below 0.1 stable, 0.1 to 0.25 moderate, above significant)",
                ["feature", "PSI", "stability", "importance"],
                [
                    (f.feature, f"{f.psi:.3f}", f.stability, f"{f.importance:.1%}")
                    for f in report.features[:shown]
                ],
                numeric=["PSI", "importance"],
            )
        )
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    verdict = "retraining recommended" if report.retrain_recommended else "no retraining needed"
    console.print(f"[bold]{verdict}[/]")


@model_app.command("retrain")
def retrain(
    ctx: typer.Context,
    name: Name,
    cutoff: Annotated[
        dt.datetime | None,
        typer.Option(
            "--cutoff",
            formats=["%Y-%m-%d"],
            help="Default: the latest cut-off whose outcome window the data covers.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Train a new version with the newest version's request; the old versions stay."""
    st = state(ctx)
    with (
        st.datamart() as dm,
        RichProgress(enabled=st.progress and not as_json) as progress,
    ):
        from clientela.services.predictive import retrain_model

        stored = retrain_model(
            dm, st.settings, name, cutoff.date() if cutoff is not None else None, progress
        )
    _show_trained(
        stored,
        as_json,
        f"[bold]{stored.name}[/] version {stored.version}: retrained at cut-off {stored.cutoff}, "
        f"{stored.examples:,} examples, {stored.positives:,} positives",
    )


@model_app.command("compare")
def compare(
    ctx: typer.Context,
    name: Name,
    versions: Annotated[
        tuple[int, int] | None,
        typer.Option("--versions", help="Two versions (default: the two newest)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The metrics of two versions of a model side by side."""
    st = state(ctx)
    with st.datamart() as dm:
        from clientela.services.predictive import compare_models

        comparison = compare_models(dm, name, list(versions) if versions else None)
    if as_json:
        print_json(comparison)
        return
    _render_comparison(comparison)


def _render_comparison(comparison: ModelComparison) -> None:
    listed = comparison.versions
    measures: list[tuple[str, list[str]]] = [
        ("algorithm", [v.algorithm for v in listed]),
        ("cut-off", [str(v.cutoff) for v in listed]),
        ("outcome days", [str(v.outcome_days) for v in listed]),
        ("trained at (UTC)", [v.created_at.isoformat(sep=" ", timespec="minutes") for v in listed]),
        ("examples", [f"{v.examples:,}" for v in listed]),
        ("positives", [f"{v.positives:,}" for v in listed]),
        ("evaluated on", [v.validation for v in listed]),
        ("ROC AUC", [f"{v.roc_auc:.3f}" for v in listed]),
        ("PR AUC", [f"{v.pr_auc:.3f}" for v in listed]),
        ("Brier score", [f"{v.brier:.4f}" for v in listed]),
        ("lift of decile 1", ["" if v.top_decile_lift is None else f"{v.top_decile_lift:.2f}"
                              for v in listed]),
        ("top features", [", ".join(v.top_features) for v in listed]),
    ]  # fmt: skip
    headers = ["", *(f"version {v.version}" for v in listed)]
    console.print(
        rich_table(
            f"{comparison.name} ({comparison.kind})",
            headers,
            [(label, *values) for label, values in measures],
        )
    )
