"""The ``clientela`` command: the Typer app, the global options and the error mapping.

Errors are mapped to exit codes here and nowhere else: a :class:`~clientela.errors.ClientelaError`
or a usage mistake prints one line on stderr and exits with 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from clientela.cli._output import RichProgress
from clientela.config import Settings
from clientela.datamart import Datamart, connect, require_current
from clientela.datamart.indexes import build_pending_indexes, pending_indexes
from clientela.errors import ClientelaError

__all__ = ["State", "app", "main"]

app = typer.Typer(
    name="clientela",
    help="Customer intelligence: the marketing datamart, the 360-degree view, RFM, value tiers "
    "and scoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """What every command gets: the settings built from the global options."""

    settings: Settings
    progress: bool = True

    @contextlib.contextmanager
    def datamart(self, *, initialised: bool = True) -> Iterator[Datamart]:
        dm = connect(self.settings, create=not initialised)
        try:
            if initialised:
                require_current(dm)
                # Indexes a load committed without (it was stopped while building them).
                if pending_indexes(dm):
                    with RichProgress(enabled=self.progress) as progress:
                        build_pending_indexes(dm, progress)
            yield dm
        finally:
            dm.close()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="DuckDB file or postgresql:// URL (env CLIENTELA_DB; default clientela.duckdb)",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="CLIENTELA_CONFIG", help="A YAML settings file."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """Customer intelligence on your own marketing datamart."""
    if verbose:
        from rich.logging import RichHandler

        from clientela.cli._output import err_console

        logging.basicConfig(
            level=logging.INFO, handlers=[RichHandler(console=err_console)], format="%(message)s"
        )
    ctx.obj = State(
        settings=Settings.load(config, db=db),
        progress=not quiet and sys.stderr.isatty(),
    )


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # pragma: no cover - the callback always sets it
        raise RuntimeError("the clientela context was not initialised")
    return obj


def _register() -> None:
    # Each module adds its commands or sub-app to `app` (help lists them alphabetically).
    from clientela.cli import (  # noqa: F401
        campaign_cmds,
        campaign_results_cmds,
        clv_cmds,
        datamart_cmds,
        demo_cmds,
        identity_cmds,
        ingest_cmds,
        model_cmds,
        profile_cmds,
        score_cmds,
        score_list_cmds,
        segment_cmds,
        trigger_cmds,
    )


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``clientela`` command."""
    try:
        code = app(args=argv, prog_name="clientela", standalone_mode=False)
    except ClientelaError as exc:
        _fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        # Usage mistakes (unknown option, missing argument, bad value) are the parser's
        # exceptions; Typer vendors its parser, so they are recognised by their interface.
        if type(exc).__name__ == "OutOfMemoryException":
            _fail(
                f"the datamart ran out of memory ({str(exc).splitlines()[0]}); raise the "
                "duckdb_memory_limit setting (CLIENTELA_DUCKDB_MEMORY_LIMIT) and try again"
            )
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help was shown
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{exc.format_message()}{hint}")
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    line = " ".join(message.split())
    sys.stderr.write(f"error: {line}\n")
    sys.exit(2)
