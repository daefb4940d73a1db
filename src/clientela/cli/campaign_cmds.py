"""``clientela campaign``: define, preview and execute campaigns; the global hold-out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from clientela.campaigns.definition import parse_campaign_file
from clientela.cli._output import RichProgress, console, err_console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.services._summary import default_as_of
from clientela.services.campaigns import (
    FunnelStep,
    campaign_runs,
    create_global_holdout,
    execute_campaigns,
    global_holdouts,
    list_campaigns,
    load_campaign,
    preview_campaigns,
)

__all__ = ["campaign_app"]

campaign_app = typer.Typer(
    name="campaign",
    help="Campaigns: preview the funnel, execute (contact history and channel files), "
    "responses and results against the control group.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(campaign_app)

holdout_app = typer.Typer(
    name="holdout",
    help="The global hold-out: customers kept out of every campaign for a period.",
    no_args_is_help=True,
    add_completion=False,
)
campaign_app.add_typer(holdout_app)

Files = Annotated[
    list[Path],
    typer.Argument(help="Campaign files (YAML); several compete by priority.", show_default=False),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="The day the campaign is planned on (default: the day after the newest sale).",
        show_default=False,
    ),
]


_Found = TypeVar("_Found")


def _plan(
    ctx: typer.Context,
    files: list[Path],
    as_of: dt.datetime | None,
    as_json: bool,
    action: Callable[..., _Found],
) -> _Found:
    """Parse the files and run ``action`` (preview or execute) on them, with a progress bar."""
    st = state(ctx)
    campaigns = [parse_campaign_file(path) for path in files]
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        day = _as_of(dm, as_of)
        return action(dm, st.settings, campaigns, as_of=day, progress=progress)


def _funnel_rows(funnel: list[FunnelStep]) -> list[dict[str, Any]]:
    return [step.as_dict() for step in funnel]


def _print_funnel(name: str, channel: str, funnel: list[FunnelStep]) -> None:
    rows = [(s.step, s.customers, -s.removed if s.removed else None) for s in funnel]
    console.print(
        rich_table(
            f"Campaign {name} ({channel}): funnel",
            ["step", "customers", "removed"],
            rows,
            numeric=["customers", "removed"],
        )
    )


def _as_of(dm: Any, as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of is not None else default_as_of(dm)


@campaign_app.command("preview")
def preview_cmd(
    ctx: typer.Context,
    files: Files,
    as_of: AsOf = None,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Final rows shown.")] = 10,
    as_json: AsJson = False,
) -> None:
    """The funnel, step by step, and a sample of who would be contacted; writes nothing."""
    previews = _plan(ctx, files, as_of, as_json, partial(preview_campaigns, sample=sample))
    if as_json:
        if len(previews) == 1:
            print_json(_funnel_rows(previews[0].funnel))
        else:
            print_json(
                [{"campaign": p.campaign.name, "funnel": _funnel_rows(p.funnel)} for p in previews]
            )
        return
    for preview in previews:
        campaign = preview.campaign
        _print_funnel(campaign.name, ", ".join(campaign.channels), preview.funnel)
        counts = preview.counts
        console.print(
            f"as of {preview.as_of}: {counts.get('planned', 0):,} to contact, "
            f"{counts.get('held_out', 0):,} held out, {counts.get('deferred', 0):,} deferred, "
            f"{counts.get('dropped', 0):,} dropped",
            highlight=False,
        )
        if preview.sample:
            columns = ["profile_id", "name", "channel", "offer", "priority", "planned_for"]
            rows = [[row[c] for c in columns] for row in preview.sample]
            console.print(
                rich_table("Sample of the final rows", columns, rows, numeric=["priority"])
            )


@campaign_app.command("execute")
def execute_cmd(
    ctx: typer.Context,
    files: Files,
    out: Annotated[
        Path, typer.Option("--out", help="Folder of the channel files.", show_default=False)
    ],
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Write the contact history and the channel files; never contacts anyone twice."""
    executions = _plan(ctx, files, as_of, as_json, partial(execute_campaigns, out_dir=out))
    if as_json:
        print_json(
            [
                {
                    "campaign": e.campaign.name,
                    "version": e.version,
                    "run_id": e.run_id,
                    "as_of": e.as_of,
                    "contacted": e.contacted,
                    "held_out": e.held_out,
                    "deferred": e.deferred,
                    "dropped": e.dropped,
                    "funnel": _funnel_rows(e.funnel),
                    "files": [str(p) for p in e.files],
                }
                for e in executions
            ]
        )
        return
    for e in executions:
        _print_funnel(e.campaign.name, ", ".join(e.campaign.channels), e.funnel)
        console.print(
            f"run {e.run_id} of {e.campaign.name} v{e.version} as of {e.as_of}: "
            f"{e.contacted:,} planned, {e.held_out:,} held out, {e.deferred:,} deferred, "
            f"{e.dropped:,} dropped",
            highlight=False,
        )
        for path in e.files:
            console.print(f"wrote {path}", highlight=False)
        if not e.files:
            err_console.print(f"{e.campaign.name}: no channel file (nobody newly planned)")


@campaign_app.command("list")
def list_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The stored campaigns: version, channel, runs, customers contacted and held out."""
    st = state(ctx)
    with st.datamart() as dm:
        found = list_campaigns(dm)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no campaign yet: run 'clientela campaign execute FILE.yaml --out DIR'")
        return
    rows = [
        (c.name, c.version, c.channel, c.objective, c.runs, c.contacted, c.held_out) for c in found
    ]
    columns = ["campaign", "version", "channel", "objective", "runs", "contacted", "held out"]
    console.print(
        rich_table("Campaigns", columns, rows, numeric=["version", "runs", "contacted", "held out"])
    )


@campaign_app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign's name.", show_default=False)],
    version: Annotated[
        int | None, typer.Option("--version", help="A stored version (default: the newest).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """A stored campaign's definition and its runs."""
    st = state(ctx)
    with st.datamart() as dm:
        campaign = load_campaign(dm, name, version)
        runs = campaign_runs(dm, name)
    if as_json:
        print_json({"campaign": name, "definition": campaign.text, "runs": runs})
        return
    console.print(
        f"[bold]{name}[/] ({', '.join(campaign.channels)}) {campaign.objective}", highlight=False
    )
    console.print(campaign.text.rstrip(), highlight=False, markup=False)
    if runs:
        rows = [
            (
                r.run_id,
                r.version,
                r.as_of,
                r.trigger,
                r.contacted,
                r.held_out,
                r.deferred,
                r.dropped,
            )
            for r in runs
        ]
        columns = [
            "run",
            "version",
            "as of",
            "trigger",
            "contacted",
            "held out",
            "deferred",
            "dropped",
        ]
        console.print(
            rich_table(
                "Runs", columns, rows, numeric=["contacted", "held out", "deferred", "dropped"]
            )
        )
    else:
        console.print("not executed yet")


@holdout_app.command("create")
def holdout_create_cmd(
    ctx: typer.Context,
    percent: Annotated[
        float, typer.Option("--percent", help="Share of every profile held out (0-100).")
    ],
    until: Annotated[
        dt.datetime,
        typer.Option("--until", formats=["%Y-%m-%d"], help="Last day of the hold-out."),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draw.")] = 0,
    valid_from: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default: today)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Draw a global hold-out kept out of every campaign until a date."""
    st = state(ctx)
    with st.datamart() as dm:
        holdout = create_global_holdout(
            dm,
            percent=percent,
            until=until.date(),
            seed=seed,
            valid_from=valid_from.date() if valid_from else None,
        )
    if as_json:
        print_json(holdout)
        return
    console.print(
        f"{holdout.profiles:,} profiles held out of every campaign from {holdout.valid_from} "
        f"to {holdout.valid_until} (seed {holdout.seed})",
        highlight=False,
    )


@holdout_app.command("list")
def holdout_list_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The global hold-outs drawn, newest first."""
    st = state(ctx)
    with st.datamart() as dm:
        found = global_holdouts(dm)
    if as_json:
        print_json(found)
        return
    rows = [(h.valid_from, h.valid_until, h.seed, h.profiles, h.created_at) for h in found]
    columns = ["from", "until", "seed", "profiles", "created"]
    console.print(rich_table("Global hold-outs", columns, rows, numeric=["profiles"]))
