"""``clientela demo``: build a synthetic company's datamart and show what clientela makes of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clientela.cli._output import RichProgress, console, rich_table
from clientela.cli.app import app, state
from clientela.cli.profile_cmds import render_build, render_profile, render_value_report
from clientela.demo import build_demo
from clientela.services.profile import get_profile
from clientela.services.report import value_report

__all__ = ["demo"]


@app.command()
def demo(
    ctx: typer.Context,
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="How many customers the company has.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same company.")] = 42,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Keep the generated Parquet files and sources.yaml in this folder.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Generate a demo company, load it into the datamart, build, and show a profile and the
    value report."""
    st = state(ctx)
    with st.datamart(initialised=False) as dm:
        with RichProgress(enabled=st.progress) as progress:
            summary = build_demo(
                dm, st.settings, customers=customers, seed=seed, folder=out, progress=progress
            )
        profile = None
        if summary.showcase_customer_id is not None:
            profile = get_profile(dm, st.settings, summary.showcase_customer_id, summary.as_of)
        report = value_report(dm, st.settings, summary.as_of)
        url = dm.url

    files = summary.files
    console.print(
        f"[bold]Demo company[/bold]: {files.customers:,} customers, seed {files.seed}, "
        f"history up to {files.end}, loaded into {url}"
    )
    rows = [
        (table, t.rows, summary.loaded(table), summary.rejected(table))
        for table, t in files.tables.items()
    ]
    columns = ["table", "generated", "loaded", "rejected"]
    console.print(rich_table("Demo data", columns, rows, numeric=columns[1:]))
    render_build(summary.build)
    if profile is not None:
        console.print(
            f"\nA customer worth a look: {profile.customer_id}, tier {profile.value_tier}, "
            "with a complaint still open."
        )
        render_profile(profile)
    render_value_report(report)
    if summary.kept_files:
        console.print(f"the generated files are in {files.folder} (listed in {files.sources.name})")
