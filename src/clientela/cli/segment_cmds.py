"""``clientela segment``: profiles, look-alikes and behavioural clusters; saved segments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from clientela.cli._output import console, err_console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.errors import ConfigError
from clientela.segments import Segment, Trait, parse_segment_text
from clientela.services.segments import (
    cluster_base,
    find_lookalikes,
    list_segments,
    profile_segment,
    resolve_segment,
    save_segment,
)

__all__ = ["segment_app"]

segment_app = typer.Typer(
    name="segment",
    help="Segments: what sets one apart (profile), who resembles it (look-alikes), "
    "behavioural clusters; saved segments.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(segment_app)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Name = Annotated[
    str | None,
    typer.Argument(
        help="A saved segment (or give --tier, --rfm, --band or --where).", show_default=False
    ),
]
Tier = Annotated[str | None, typer.Option("--tier", help="A value tier: A, B, C or D.")]
Rfm = Annotated[str | None, typer.Option("--rfm", help="An RFM segment, e.g. Champions.")]
Band = Annotated[
    str | None,
    typer.Option("--band", help="A band of a scoring model as MODEL:BAND (its newest scores)."),
]
Where = Annotated[
    str | None,
    typer.Option(
        "--where",
        help="A condition in YAML, as a scoring rule's 'when', e.g. "
        '"{field: orders, at_least: 3}".',
    ),
]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Features from the data before this day (default: the day after the newest sale).",
        show_default=False,
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the folds or of k-means.")]


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _traits_table(title: str | None, traits: list[Trait]) -> object:
    rows = [(f"{t.effect:+.2f}", t.sentence) for t in traits]
    return rich_table(title, ["effect", "trait"], rows, numeric=["effect"])


@segment_app.command("profile")
def profile_cmd(
    ctx: typer.Context,
    name: Name = None,
    tier: Tier = None,
    rfm: Rfm = None,
    band: Band = None,
    where: Where = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Traits shown (0: all).")] = 15,
    as_json: AsJson = False,
) -> None:
    """The variables that set a segment apart from the rest of the base, by effect size."""
    st = state(ctx)
    with st.datamart() as dm:
        segment = resolve_segment(dm, name, tier=tier, rfm=rfm, band=band, where=where)
        profile = profile_segment(dm, st.settings, segment, _date(as_of), top=top or None)
    if as_json:
        print_json(profile)
        return
    console.print(
        f"[bold]{profile.segment}[/]: {profile.members:,} of {profile.base:,} customers "
        f"({profile.share:.1%}), as of {profile.as_of}",
        highlight=False,
    )
    console.print(_traits_table("What sets it apart (effect size: Cohen's d or h)", profile.traits))


@segment_app.command("lookalike")
def lookalike_cmd(
    ctx: typer.Context,
    name: Name = None,
    tier: Tier = None,
    rfm: Rfm = None,
    band: Band = None,
    where: Where = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Look-alikes listed.")] = 20,
    seed: Seed = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the look-alikes to this .csv or .xlsx file."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The customers outside a segment who most resemble its members."""
    st = state(ctx)
    with st.datamart() as dm:
        segment = resolve_segment(dm, name, tier=tier, rfm=rfm, band=band, where=where)
        report = find_lookalikes(dm, st.settings, segment, _date(as_of), top=top, seed=seed)
    if out is not None:
        from clientela.exports.segments import write_lookalikes

        written = write_lookalikes(report.frame(), out)
        err_console.print(f"wrote {len(report.lookalikes):,} look-alikes to {written}")
    if as_json:
        print_json(report)
        return
    console.print(
        f"[bold]Look-alikes of {report.segment}[/]: {report.members:,} members, "
        f"{report.candidates:,} customers outside; the traits tell members apart with a "
        f"cross-fitted ROC AUC of {report.separation:.3f} (as of {report.as_of})",
        highlight=False,
    )
    rows = [
        (x.rank, x.profile_id, f"{x.score:.3f}", "; ".join(x.traits)) for x in report.lookalikes
    ]
    console.print(
        rich_table(
            None, ["rank", "profile", "score", "closest traits"], rows, numeric=["rank", "score"]
        )
    )


@segment_app.command("clusters")
def clusters_cmd(
    ctx: typer.Context,
    k: Annotated[
        int | None,
        typer.Option("--k", min=2, help="Number of clusters (default: the best silhouette, 2-8)."),
    ] = None,
    as_of: AsOf = None,
    seed: Seed = 0,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Traits shown per cluster (0: all).")
    ] = 5,
    as_json: AsJson = False,
) -> None:
    """Behavioural clusters (k-means on standardised RFM and behaviour), each with its profile."""
    st = state(ctx)
    with st.datamart() as dm:
        report = cluster_base(dm, st.settings, _date(as_of), k=k, seed=seed, top=top or None)
    if as_json:
        print_json(report)
        return
    chosen = "given" if not report.silhouettes else f"silhouette {report.silhouettes[report.k]:.3f}"
    console.print(
        f"[bold]{report.k} behavioural clusters[/] of {report.customers:,} customers "
        f"({chosen}; as of {report.as_of})",
        highlight=False,
    )
    for cluster in report.clusters:
        title = (
            f"Cluster {cluster.cluster}: {cluster.name} ({cluster.size:,} customers, "
            f"{cluster.share:.1%})"
        )
        console.print(_traits_table(title, cluster.traits))


@segment_app.command("save")
def save_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    tier: Tier = None,
    rfm: Rfm = None,
    band: Band = None,
    where: Where = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A YAML file with the definition.")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a saved segment.")] = False,
) -> None:
    """Save a segment definition under a name (checked against the datamart first)."""
    st = state(ctx)
    with st.datamart() as dm:
        segment: Segment
        if file is not None:
            if any((tier, rfm, band, where)):
                raise ConfigError("give either --file or one of --tier, --rfm, --band, --where")
            if not file.is_file():
                raise ConfigError(f"no file {file}")
            segment = parse_segment_text(file.read_text(encoding="utf-8-sig"), source=file)
        else:
            segment = resolve_segment(dm, None, tier=tier, rfm=rfm, band=band, where=where)
        replaced = save_segment(dm, st.settings, name, segment, replace=replace)
    console.print(f"{'replaced' if replaced else 'saved'} segment {name}", highlight=False)


@segment_app.command("list")
def list_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The saved segments and their definitions."""
    st = state(ctx)
    with st.datamart() as dm:
        saved = list_segments(dm)
    if as_json:
        print_json(saved)
        return
    rows = [(s.name, s.kind, s.definition, s.created_at.strftime("%Y-%m-%d %H:%M")) for s in saved]
    console.print(rich_table("Saved segments", ["name", "kind", "definition", "saved"], rows))
