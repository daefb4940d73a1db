"""``clientela init`` and ``clientela status``: create, migrate and inspect the datamart."""

from __future__ import annotations

import typer

from clientela.cli._output import console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.datamart import DATA_TABLES, current_version, migrate, spec
from clientela.datamart.describe import column_rules, schema_markdown
from clientela.datamart.migrations import LATEST


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the datamart, or migrate it to the current schema version."""
    st = state(ctx)
    with st.datamart(initialised=False) as dm:
        applied = migrate(dm)
        if applied:
            for m in applied:
                console.print(f"applied migration {m.version}: {m.description}")
            console.print(f"datamart {dm.url} ({dm.kind}) is at schema version {LATEST}")
        else:
            console.print(f"datamart {dm.url} ({dm.kind}) is up to date (version {LATEST})")


@app.command()
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """What the datamart holds: schema version and rows per table."""
    st = state(ctx)
    with st.datamart() as dm:
        counts = {name: int(dm.sql(f'SELECT count(*) FROM "{name}"')[0][0]) for name in DATA_TABLES}
        rejects = int(dm.sql("SELECT count(*) FROM rejects")[0][0])
        loads = int(dm.sql("SELECT count(*) FROM loads")[0][0])
        document = {
            "datamart": dm.url,
            "backend": dm.kind,
            "schema_version": current_version(dm),
            "tables": counts,
            "loads": loads,
            "rejects": rejects,
        }
    if as_json:
        print_json(document)
        return
    console.print(f"datamart {document['datamart']} ({dm.kind}), schema version {LATEST}")
    rows = [*list(counts.items()), ("(loads)", loads), ("(rejects)", rejects)]
    console.print(rich_table("Rows per table", ["table", "rows"], rows, numeric=["rows"]))


@app.command()
def schema(
    table: str | None = typer.Argument(None, help="One table; all tables when omitted."),
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown (as in the docs)."),
) -> None:
    """The data model: each table's columns, types and the rules a load applies."""
    if markdown:
        print(schema_markdown(), end="")
        return
    names = [spec(table).name] if table else list(DATA_TABLES)
    for name in names:
        t = DATA_TABLES[name]
        rows = [(col, str(dtype), column_rules(t, col)) for col, dtype in t.schema.items()]
        console.print(rich_table(name, ["column", "type", "rules"], rows))
