"""``clientela score-list``: score a CRM's contact list, write the report and audience files."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.scoring.lists import (
    LEVELS,
    ListFilters,
    ScoreListSummary,
    parse_age_range,
    parse_gender,
)

__all__ = ["render_score_list"]

_SOURCES = {
    "model": "the model's levels",
    "terciles": "terciles of the scored contacts",
    "options": "--high / --medium",
    "none": "nothing scored",
}


@app.command("score-list")
def score_list_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="The list: CSV/TXT, XLSX or XLS with e-mails and/or phones.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="The scoring model.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Excel report (.xlsx) here.")
    ] = None,
    audience_dir: Annotated[
        Path | None,
        typer.Option("--audience-dir", help="Write Google Ads, Meta and Yandex audience files."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The list's name, to compare runs (default: the file stem)."),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Score as of this day, YYYY-MM-DD (default: the day after the newest "
            "transaction).",
            show_default=False,
        ),
    ] = None,
    gender: Annotated[
        list[str] | None,
        typer.Option("--gender", help="Keep this gender (female, male, other, unknown); repeat."),
    ] = None,
    age: Annotated[
        str | None, typer.Option("--age", help="Keep ages in a range: 25-45, 25+, -45 or 30.")
    ] = None,
    interest: Annotated[
        list[str] | None,
        typer.Option("--interest", help="Keep profiles with any of these interests; repeat."),
    ] = None,
    interest_attribute: Annotated[
        str,
        typer.Option("--interest-attribute", help="The third-party attribute listing interests."),
    ] = "interests",
    high: Annotated[float | None, typer.Option("--high", help="Score from which high.")] = None,
    medium: Annotated[
        float | None, typer.Option("--medium", help="Score from which medium (low below).")
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Region of phones written without a country code (default: the "
            "default_region setting).",
            show_default=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="The workbook sheet holding the list.")
    ] = None,
    audience_level: Annotated[
        list[str] | None,
        typer.Option(
            "--audience-level",
            help="Only these interest levels in the audience files; repeat (default: all).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Match a list of e-mails and phones to the datamart, score it and give each contact an
    interest level; write the Excel report and ad-platform audience files."""
    from clientela.services.score_list import score_list

    low_age, high_age = parse_age_range(age) if age is not None else (None, None)
    interests = tuple(
        part.strip() for value in interest or [] for part in value.split(",") if part.strip()
    )
    filters = ListFilters(
        genders=tuple(dict.fromkeys(parse_gender(g) for g in gender or [])),
        min_age=low_age,
        max_age=high_age,
        interests=interests,
        interest_attribute=interest_attribute,
    )
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        result = score_list(
            dm,
            st.settings,
            file,
            model,
            name=name,
            as_of=as_of.date() if as_of is not None else None,
            filters=filters,
            high=high,
            medium=medium,
            region=region,
            sheet=sheet,
            out=out,
            audience_dir=audience_dir,
            audience_levels=tuple(audience_level or LEVELS),
            progress=progress,
        )
    if as_json:
        document = {**asdict(result.summary), "coverage": result.summary.coverage}
        print_json(document)
        return
    render_score_list(result.summary)


def render_score_list(s: ScoreListSummary) -> None:
    """The run's summary (Rich) on the CLI console."""
    lines = [
        f"{s.file} scored with {s.model} (version {s.version}) as of {s.as_of}; run {s.run_id}",
        f"{s.contacts:,} contacts ({s.rows:,} rows, {s.duplicates:,} merged as duplicates): "
        f"{s.matched:,} matched, {s.unmatched:,} unmatched, {s.excluded:,} excluded by the "
        f"filters, {s.scored:,} scored - coverage {s.coverage:.1%}",
    ]
    if s.filters != "none":
        lines.append(f"filters: {s.filters}")
    if s.cutoffs is not None:
        lines.append(
            f"levels: high from {s.cutoffs.high:g}, medium from {s.cutoffs.medium:g} "
            f"({_SOURCES[s.cutoffs_source]})"
        )
    console.print(Panel("\n".join(lines), title=f"[bold]{s.list_name}[/bold]", title_align="left"))
    rows = [
        (level, s.levels.get(level, 0), f"{s.levels.get(level, 0) / s.scored:.1%}" if s.scored
         else "n/a")
        for level in LEVELS
    ]  # fmt: skip
    console.print(rich_table("Interest levels", ["level", "contacts", "share"], rows,
                             numeric=["contacts", "share"]))  # fmt: skip
    if s.previous_run is not None:
        changes = list(s.changes.items())
        console.print(
            rich_table(
                f"Since the previous run ({s.previous_run})",
                ["movement", "contacts"],
                changes,
                numeric=["contacts"],
            )
        )
    if s.workbook:
        console.print(f"wrote {s.workbook}", highlight=False, soft_wrap=True)
    for audience in s.audience:
        console.print(
            f"wrote {audience.path} ({audience.platform}: {audience.rows:,} contacts)",
            highlight=False,
            soft_wrap=True,
        )
    for note in s.warnings:
        console.print(f"note: {note}", highlight=False, markup=False)
