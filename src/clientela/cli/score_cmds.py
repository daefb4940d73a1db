"""``clientela score``: rule-based scoring models, runs, scores with their reasons, history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from clientela.cli._output import RichProgress, console, err_console, print_json, rich_table
from clientela.cli.app import app, state
from clientela.scoring.definition import load_model_file
from clientela.services.score_views import (
    CountedUnit,
    ProfileScore,
    Ranking,
    adjust,
    history,
    ranking,
    show,
)
from clientela.services.scoring import (
    ScoreRun,
    backfill,
    get_model,
    list_models,
    register_model,
    run_models,
)

__all__ = ["score_app"]

score_app = typer.Typer(
    name="score",
    help="Rule-based scoring: models, runs, scores and their reasons, history, adjustments.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(score_app)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
ModelName = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="A registered model's name, or a model file (registered first)."
    ),
]
Day = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Score with the data before this day (YYYY-MM-DD); by default the day after the "
        "newest transaction.",
        show_default=False,
    ),
]


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _model_name(dm: object, name: str) -> str:
    """A model file is registered (a new version if it changed); a name is used as it is."""
    path = Path(name)
    if name.endswith((".yaml", ".yml")) and path.is_file():
        from clientela.datamart import Datamart

        assert isinstance(dm, Datamart)
        return register_model(dm, path).name
    return name


@score_app.command("add")
def add_model(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Model files (YAML).")],
    as_json: AsJson = False,
) -> None:
    """Register models in the datamart (a new version when a file changed)."""
    st = state(ctx)
    models = [load_model_file(path) for path in files]  # every file is checked first
    with st.datamart() as dm, dm.transaction():
        stored = [register_model(dm, model) for model in models]
    if as_json:
        print_json([{"model": m.name, "version": m.version} for m in stored])
        return
    for model in stored:
        console.print(f"model {model.name}: version {model.version} ({len(model.rules)} rules)")


@score_app.command("list-models")
def list_models_cmd(ctx: typer.Context, as_json: AsJson = False) -> None:
    """The registered models, newest version of each."""
    st = state(ctx)
    with st.datamart() as dm:
        models = list_models(dm)
    if as_json:
        print_json(models)
        return
    rows = [
        (
            m.name,
            m.version,
            m.rules,
            ", ".join(m.bands),
            m.registered_at.strftime("%Y-%m-%d %H:%M"),
            m.description,
        )
        for m in models
    ]
    console.print(
        rich_table(
            "Scoring models",
            ["model", "version", "rules", "bands", "registered", "description"],
            rows,
            numeric=["version", "rules"],
        )
    )


@score_app.command("run")
def run(
    ctx: typer.Context,
    models: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="A registered model's name, or a model file (registered first); repeat it to "
            "run several models as of the same day, reading the behaviour data once.",
        ),
    ],
    as_of: Day = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option(
            "--from", formats=["%Y-%m-%d"], help="Back-fill: the first as-of date of a series."
        ),
    ] = None,
    every: Annotated[
        int, typer.Option("--every", min=1, help="Back-fill: days between as-of dates.")
    ] = 7,
    as_json: AsJson = False,
) -> None:
    """Score every customer and store the dated snapshot (or a series of them with --from).

    Several --model run as of the same day share one reading of the behaviour data."""
    st = state(ctx)
    with (
        st.datamart() as dm,
        RichProgress(enabled=st.progress and not as_json) as progress,
    ):
        names = [_model_name(dm, model) for model in models]
        if start is not None:
            end = _date(as_of) or dt.datetime.now(dt.UTC).date()
            runs = [
                run
                for name in names
                for run in backfill(dm, st.settings, name, start.date(), end, every, progress)
            ]
        else:
            runs = run_models(dm, st.settings, names, _date(as_of), progress)
    for one in runs:
        for warning in one.warnings:
            err_console.print(f"warning: {warning}", style="yellow", highlight=False)
    if as_json:
        print_json(runs[0] if len(runs) == 1 else runs)
        return
    for one in runs:
        _render_run(one)


def _render_run(run: ScoreRun) -> None:
    console.print(
        f"[bold]{run.model}[/] version {run.version} as of {run.as_of}: {run.profiles:,} "
        f"customers scored, {run.scored:,} with points, {run.band_changes:,} band changes "
        f"({run.seconds:.1f} s)"
    )
    if run.bands:
        console.print(
            rich_table(None, ["band", "customers"], list(run.bands.items()), numeric=["customers"])
        )
    console.print(
        rich_table(
            None,
            ["rule", "customers", "points"],
            [(r.rule, r.profiles, r.points) for r in run.rules],
            numeric=["customers", "points"],
        )
    )


@score_app.command("show")
def show_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Customer id, e-mail or phone.")],
    model: ModelName,
    as_of: Day = None,
    as_json: AsJson = False,
) -> None:
    """A customer's score and band, with the reasons (newest run unless --as-of)."""
    _show(ctx, key, model, as_of, as_json, top=5)


@score_app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Customer id, e-mail or phone.")],
    model: ModelName,
    as_of: Day = None,
    as_json: AsJson = False,
    events: Annotated[
        bool,
        typer.Option(
            "--events",
            help="Also list the events (interactions, transactions) each behaviour rule "
            "counted, with the points each earned.",
        ),
    ] = False,
) -> None:
    """Every line of a customer's score: rule, points and the evidence; they add up."""
    _show(ctx, key, model, as_of, as_json, top=None, counted=events)


def _show(
    ctx: typer.Context,
    key: str,
    model: str,
    as_of: dt.datetime | None,
    as_json: bool,
    top: int | None,
    counted: bool = False,
) -> None:
    st = state(ctx)
    with st.datamart() as dm:
        result = show(dm, st.settings, key, _model_name(dm, model), _date(as_of), counted)
    if as_json:
        print_json(result)
        return
    _render_score(result, top=top)
    if result.counted is not None:
        _render_counted(result.counted)


def _render_counted(units: tuple[CountedUnit, ...]) -> None:
    if not units:
        console.print("No behaviour rule counted anything.")
        return
    rows = [
        (
            unit.rule,
            unit.occurred_at.strftime("%Y-%m-%d %H:%M"),
            unit.kind,
            ", ".join(f"{name} = {value}" for name, value in unit.details.items()),
            unit.occurrences,
            unit.weight,
            unit.points,
        )
        for unit in units
    ]
    console.print(
        rich_table(
            "What the behaviour rules counted (the newest row of each unit)",
            ["rule", "when", "type", "details", "times", "weight", "points"],
            rows,
            numeric=["times", "weight", "points"],
        )
    )


def _render_score(result: ProfileScore, top: int | None) -> None:
    source = "" if result.source == "snapshot" else " (computed now, no run stored)"
    console.print(
        f"[bold]{result.customer_id}[/] {result.model} v{result.version} as of {result.as_of}: "
        f"score [bold]{result.score:g}[/], band [bold]{result.band or '-'}[/]{source}"
    )
    reasons = result.reasons if top is None else result.reasons[:top]
    rows: list[tuple[object, ...]] = [(r.rule, r.points, r.matched, r.evidence) for r in reasons]
    if top is None:
        rows.append(("total", sum(r.points for r in result.reasons), None, ""))
    title = "Reasons" if top is None else f"Top reasons ({len(reasons)} of {len(result.reasons)})"
    console.print(
        rich_table(title, ["rule", "points", "matched", "evidence"], rows, numeric=["points"])
    )


@score_app.command("ranking")
def ranking_cmd(
    ctx: typer.Context,
    model: ModelName,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="The run of this day (default: the newest)."
        ),
    ] = None,
    band: Annotated[
        list[str] | None, typer.Option("--band", "-b", help="Only this band (repeatable).")
    ] = None,
    moved: Annotated[
        str | None,
        typer.Option(
            "--moved",
            help="Only customers whose band went up (or was entered), down or any way in "
            "this run: up, down or any.",
        ),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Rank by score, or by change since the run before.")
    ] = "score",
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="How many customers (0: all).")
    ] = 20,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the ranked customers to a .csv file or an .xlsx workbook."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """A run's customers ranked for sales: score, band, change and top reasons."""
    from clientela.errors import ConfigError
    from clientela.exports._table_file import table_file_suffix
    from clientela.exports.score_ranking import write_score_ranking

    if moved not in (None, "up", "down", "any"):
        raise ConfigError(f"--moved must be up, down or any, got '{moved}'")
    if by not in ("score", "change"):
        raise ConfigError(f"--by must be score or change, got '{by}'")
    if out is not None:
        table_file_suffix(out)
    st = state(ctx)
    with st.datamart() as dm:
        result = ranking(
            dm,
            _model_name(dm, model),
            _date(as_of),
            bands=band or (),
            moved=moved,  # type: ignore[arg-type]
            by=by,  # type: ignore[arg-type]
            limit=limit or None,
        )
    if out is not None:
        written = write_score_ranking(result, out)
        err_console.print(
            f"wrote {len(result.customers):,} customers to {written}",
            highlight=False,
            soft_wrap=True,
        )
    if as_json:
        document = {k: v for k, v in vars(result).items() if k != "customers"}
        print_json({**document, "customers": result.customers.to_pylist()})
        return
    _render_ranking(result)


# At most this many customers on the terminal; --out writes them all.
_SHOWN = 50


def _render_ranking(result: Ranking) -> None:
    previous = f", change since {result.previous_as_of}" if result.previous_as_of else ""
    console.print(
        f"[bold]{result.model}[/] v{result.version} as of {result.as_of}: "
        f"{len(result.customers):,} of {result.selected:,} selected customers "
        f"({result.profiles:,} in the run){previous}"
    )
    rows = []
    for row in result.customers.slice(0, _SHOWN).to_pylist():
        reasons = "; ".join(
            f"{row[f'reason_{i}']} {row[f'points_{i}']:+g}"
            for i in range(1, 4)
            if row[f"reason_{i}"] is not None
        )
        moved = f"{row['moved']} from {row['from_band']}" if row["from_band"] else row["moved"]
        rows.append(
            (
                row["rank"],
                row["customer_id"],
                row["name"],
                row["score"],
                row["band"],
                row["change"],
                moved,
                reasons,
            )
        )
    console.print(
        rich_table(
            None,
            ["#", "customer", "name", "score", "band", "change", "band move", "top reasons"],
            rows,
            numeric=["#", "score", "change"],
        )
    )
    if len(result.customers) > _SHOWN:
        console.print(f"... and {len(result.customers) - _SHOWN:,} more (--out writes them all)")


@score_app.command("history")
def history_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Customer id, e-mail or phone.")],
    model: ModelName,
    as_json: AsJson = False,
) -> None:
    """A customer's score and band at every stored run, and the band changes."""
    st = state(ctx)
    with st.datamart() as dm:
        result = history(dm, st.settings, key, _model_name(dm, model))
    if as_json:
        print_json(result)
        return
    previous: float | None = None
    rows = []
    for point in result.points:
        change = None if previous is None else point.score - previous
        rows.append((point.as_of, point.score, change, point.band, point.version))
        previous = point.score
    console.print(
        rich_table(
            f"{result.customer_id}: {result.model}",
            ["as of", "score", "change", "band", "version"],
            rows,
            numeric=["score", "change", "version"],
        )
    )
    if result.band_changes:
        console.print(
            rich_table(
                "Band changes",
                ["as of", "from", "to", "direction", "score"],
                [
                    (c.as_of, c.from_band, c.to_band, c.direction, c.score)
                    for c in result.band_changes
                ],
                numeric=["score"],
            )
        )


@score_app.command("adjust")
def adjust_cmd(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Customer id, e-mail or phone.")],
    model: ModelName,
    add: Annotated[float | None, typer.Option("--add", help="Add these points.")] = None,
    subtract: Annotated[
        float | None, typer.Option("--subtract", help="Subtract these points.")
    ] = None,
    set_to: Annotated[float | None, typer.Option("--set", help="Set the score to this.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit).")] = "",
    author: Annotated[str, typer.Option("--author", help="Who (kept in the audit).")] = "",
    at: Annotated[
        dt.datetime | None,
        typer.Option(
            "--at",
            formats=["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"],
            help="When it was decided (default: now); it counts from the next as-of date.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Adjust a customer's score by hand (add, subtract or set), with a reason and an author."""
    chosen = [(k, v) for k, v in (("add", add), ("subtract", subtract), ("set", set_to)) if v]
    chosen += [("set", set_to)] if set_to == 0 else []
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --add, --subtract or --set")
    kind, points = chosen[0]
    assert points is not None
    st = state(ctx)
    with st.datamart() as dm:
        name = _model_name(dm, model)
        get_model(dm, name)
        made = adjust(dm, st.settings, name, key, kind, points, reason, author, at)
    if as_json:
        print_json(made)
        return
    console.print(
        f"{made.kind} {made.points:g} on {made.customer_id} ({made.model}) by {made.author}: "
        f"{made.reason}; it counts in runs as of {made.made_at.date() + dt.timedelta(days=1)} "
        "and later"
    )
