"""``clientela ingest``, ``clientela load`` and ``clientela rejects``: loading exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.datamart.ingest import LoadReport, ingest_file, load_folder
from clientela.errors import NotFoundError

_NUMBERS = ["read", "inserted", "updated", "unchanged", "rejected", "skipped"]


def _summary(reports: list[LoadReport]) -> None:
    rows = [
        (
            r.target,
            r.rows_read,
            r.rows_inserted,
            r.rows_updated,
            r.rows_unchanged,
            r.rows_rejected,
            r.rows_skipped,
        )
        for r in reports
    ]
    console.print(rich_table("Load summary", ["table", *_NUMBERS], rows, numeric=_NUMBERS))
    for r in reports:
        notes = []
        if r.rejects_by_rule:
            rules = ", ".join(f"{rule} {n:,}" for rule, n in r.rejects_by_rule.items())
            notes.append(f"rejected: {rules} (see 'clientela rejects --load {r.load_id}')")
        if r.skipped_by_reason:
            notes.append(
                "skipped on purpose: "
                + ", ".join(f"{n:,} by {why}" for why, n in r.skipped_by_reason.items())
            )
        if r.values_cleared:
            notes.append(f"{r.values_cleared:,} invalid values cleared")
        if r.placeholders_created:
            notes.append(f"{r.placeholders_created:,} placeholder customers created")
        if r.ignored_columns:
            notes.append(f"ignored columns: {', '.join(r.ignored_columns)}")
        console.print(f"[bold]{Path(r.file).name}[/bold] -> {r.target}", highlight=False)
        for note in notes:
            console.print(f"  {note}", highlight=False, markup=False)


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV/TXT (gzip or not), XLSX or Parquet file.")],
    into: Annotated[str, typer.Option("--into", help="The datamart table to load.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="A mapping YAML file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Load one file into a datamart table; rejected rows go to the rejects table."""
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        report = ingest_file(dm, st.settings, file, into, mapping, progress=progress)
    if as_json:
        print_json(report)
        return
    _summary([report])


@app.command()
def load(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="A folder with a sources.yaml.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Load every file a folder's sources.yaml lists, in order, in one transaction."""
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        reports = load_folder(dm, st.settings, folder, progress=progress)
    if as_json:
        print_json(reports)
        return
    _summary(reports)


@app.command()
def rejects(
    ctx: typer.Context,
    load_id: Annotated[str | None, typer.Option("--load", help="Only this load.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List rejected rows: file, line, column, value, rule and reason."""
    st = state(ctx)
    columns = ["load_id", "file", "line", "target", "column_name", "value", "rule", "reason"]
    with st.datamart() as dm:
        where, params = "", []
        if load_id is not None:
            if not dm.sql("SELECT 1 FROM loads WHERE load_id = ?", [load_id]):
                raise NotFoundError(f"no load '{load_id}': 'clientela status' counts the loads")
            where, params = " WHERE load_id = ?", [load_id]
        rows = dm.sql(
            f"SELECT {', '.join(columns)}, action FROM rejects{where} "
            f"ORDER BY file, line LIMIT {int(limit)}",
            params,
        )
    if as_json:
        print_json([dict(zip([*columns, "action"], row, strict=True)) for row in rows])
        return
    shown = [(Path(r[1]).name, r[2], r[4], r[5], r[6], r[7], r[8]) for r in rows]
    table = rich_table(
        "Rejected rows" if load_id is None else f"Rejected rows of load {load_id}",
        ["file", "line", "column", "value", "rule", "reason", "action"],
        shown,
        numeric=["line"],
    )
    console.print(table)
