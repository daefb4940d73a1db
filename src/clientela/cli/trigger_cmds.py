"""``clientela triggers``: event rules that put customers into campaign actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clientela.cli._output import RichProgress, console, print_json, rich_table
from clientela.cli.app import app, state

if TYPE_CHECKING:
    from clientela.services.triggers import TriggerPass

__all__ = ["triggers_app"]

triggers_app = typer.Typer(
    name="triggers",
    help="Triggers: event rules evaluated on new data that put customers into a campaign "
    "action or call a webhook, once per occurrence.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(triggers_app)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _short(results: dict[str, int]) -> str:
    """``sent 3, excluded 9``: the results without their reasons ('triggers log' has them)."""
    counted: dict[str, int] = {}
    for result, count in results.items():
        word = result.split(":")[0]
        counted[word] = counted.get(word, 0) + count
    return ", ".join(f"{word} {count}" for word, count in counted.items()) or "-"


def _show(done: TriggerPass, number: int) -> None:
    rows = [
        (
            o.trigger,
            o.event,
            o.action,
            "baseline recorded" if o.baseline else o.occurrences,
            o.fired,
            _short(o.results),
        )
        for o in done.outcomes
    ]
    console.print(
        rich_table(
            f"Pass {number}, as of {done.as_of}",
            ["trigger", "event", "action", "occurrences", "fired", "results"],
            rows,
            numeric=["occurrences", "fired"],
        )
    )
    console.print(f"pass {number} (as of {done.as_of}): {done.fired} fired", highlight=False)


@triggers_app.command("run")
def run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The trigger file (YAML).", dir_okay=False)],
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="The day the triggers look at (default: today, UTC).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Where campaign actions write their channel files."),
    ] = Path("triggered"),
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep running, a pass every --interval seconds.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0, help="Seconds between passes (--watch).")
    ] = 60.0,
    max_passes: Annotated[
        int | None,
        typer.Option("--max-passes", min=1, help="Stop after this many passes (--watch)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate the triggers on new data and fire each new occurrence once (for a scheduler;
    --watch keeps running and picks up new events)."""
    from clientela.campaigns.triggers import parse_triggers_file
    from clientela.services.triggers import run_triggers, watch_triggers

    triggers = parse_triggers_file(file)
    day = as_of.date() if as_of is not None else None
    st = state(ctx)
    with st.datamart() as dm, RichProgress(enabled=st.progress and not as_json) as progress:
        if watch:

            def shown(number: int, done: TriggerPass) -> None:
                if not as_json:
                    _show(done, number)

            passes = watch_triggers(
                dm,
                st.settings,
                triggers,
                out_dir=out,
                as_of=day,
                interval=interval,
                max_passes=max_passes,
                on_pass=shown,
                progress=progress,
            )
        else:
            day = day or dt.datetime.now(dt.UTC).date()
            passes = [
                run_triggers(dm, st.settings, triggers, as_of=day, out_dir=out, progress=progress)
            ]
            if not as_json:
                _show(passes[0], 1)
    if as_json:
        print_json({"passes": [p.as_dict() for p in passes]})


@triggers_app.command("log")
def show_log(
    ctx: typer.Context,
    trigger: Annotated[
        str | None, typer.Option("--trigger", help="Only the firings of this trigger.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The newest N firings.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The firing log, newest first: when, which occurrence, the action and its result."""
    from clientela.services.triggers import firing_log

    with state(ctx).datamart() as dm:
        rows = firing_log(dm, trigger=trigger, limit=limit)
    if as_json:
        print_json(rows)
        return
    columns = ["fired_at", "trigger", "profile_id", "result", "detail"]
    console.print(
        rich_table(
            "Trigger firings",
            columns,
            [[str(row[c]) if row[c] is not None else "" for c in columns] for row in rows],
        )
    )
