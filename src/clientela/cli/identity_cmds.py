"""``clientela identity``: unify customers into profiles, read the merge log, undo a merge."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.datamart.ingest.identity import (
    merge_log,
    profile_members,
    resolve,
    undo_merge,
    unify,
)

identity_app = typer.Typer(
    name="identity",
    help="Unify customers that share an e-mail or a phone into profiles; review and undo merges.",
    no_args_is_help=True,
)
app.add_typer(identity_app)

_MERGE_COLUMNS = ["merge_id", "customer", "profile", "key", "value", "merged (UTC)", "status"]


@identity_app.command("unify")
def unify_cmd(ctx: typer.Context) -> None:
    """Unify customers into profiles by the configured rule (settings 'identity')."""
    st = state(ctx)
    rule = st.settings.identity
    with st.datamart() as dm, RichProgress(enabled=st.progress) as progress:
        report = unify(dm, st.settings, progress=progress)
    console.print(
        f"identity rule: match {rule.match} of {', '.join(rule.keys)} "
        f"({report.rounds} propagation rounds)"
    )
    rows = [
        ("customers", report.customers),
        ("profiles", report.profiles),
        ("new merges", report.new_merges),
        ("unchanged customers", report.unchanged),
    ]
    console.print(rich_table("Identity", ["", "count"], rows, numeric=["count"]))


@identity_app.command("merges")
def merges_cmd(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Only the merges into this profile id.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """The merge log, newest first: who joined which profile, on which key."""
    st = state(ctx)
    with st.datamart() as dm:
        if profile is not None:
            profile_members(dm, profile)  # NotFoundError, with the close match, for a typo
        log = merge_log(dm, profile_id=profile, limit=limit)
    if as_json:
        print_json({"profile_id": profile, "merges": log})
        return
    if not log:
        console.print("no merges" + (f" into profile {profile}" if profile else ""))
        return
    rows = [
        (
            m.merge_id,
            m.customer_id,
            m.profile_id,
            m.matched_on,
            m.key_value,
            f"{m.merged_at:%Y-%m-%d %H:%M}",
            m.status,
        )
        for m in log
    ]
    table = rich_table("Merge log", _MERGE_COLUMNS, rows)
    # The ids are what `identity undo` and `identity show` need: never cut them.
    for column, width in zip(table.columns[:3], (16, 8, 8), strict=True):
        column.no_wrap = True
        column.min_width = width
    console.print(table)


@identity_app.command("undo")
def undo_cmd(
    ctx: typer.Context,
    merge_id: Annotated[str, typer.Argument(help="The merge id, as 'identity merges' shows it.")],
) -> None:
    """Undo a merge: the customer gets its own profile back and keeps it in later runs."""
    st = state(ctx)
    with st.datamart() as dm:
        merge = undo_merge(dm, merge_id, settings=st.settings)
    console.print(
        f"merge {merge.merge_id} undone: customer {merge.customer_id} left profile "
        f"{merge.profile_id} and stays on its own"
    )


@identity_app.command("show")
def show_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A customer id, an e-mail or a phone number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """The profile of a customer id, an e-mail or a phone, with its members."""
    st = state(ctx)
    with st.datamart() as dm:
        profile_id = resolve(dm, key, st.settings.default_region)
        members = profile_members(dm, profile_id)
        customers = dm.table("customers")
        found = dm.to_pyarrow(
            customers.filter(customers.customer_id.isin(members))
            .select("customer_id", "name", "email", "phone")
            .order_by("customer_id")
        ).to_pylist()
        merges = merge_log(dm, profile_id=profile_id)
    details: list[dict[str, Any]] = sorted(found, key=lambda row: str(row["customer_id"]))
    if as_json:
        print_json({"key": key, "profile_id": profile_id, "members": details, "merges": merges})
        return
    console.print(f"profile {profile_id}: {len(details)} customer(s)")
    rows = [(d["customer_id"], d["name"], d["email"], d["phone"]) for d in details]
    console.print(rich_table("Members", ["customer_id", "name", "email", "phone"], rows))
