"""The whole demo: generate the company, load it into a datamart and build the customer view."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clientela.config import Settings
from clientela.datamart import Datamart, migrate
from clientela.datamart.ingest import LoadReport, load_folder
from clientela.demo._generate import DEFAULT_END, DemoFiles, generate
from clientela.progress import NO_PROGRESS, Progress
from clientela.services.build import BuildReport, build

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo` did: the files, the loads, the build and the customer to show."""

    files: DemoFiles
    kept_files: bool
    """True when the files stay in the folder given; False when they went to a temporary one."""
    loads: tuple[LoadReport, ...]
    build: BuildReport
    as_of: dt.date
    showcase_customer_id: str | None

    def loaded(self, table: str) -> int:
        """Rows of ``table`` now in the datamart from this demo (inserted, updated, unchanged)."""
        return sum(
            r.rows_inserted + r.rows_updated + r.rows_unchanged
            for r in self.loads
            if r.target == table
        )

    def rejected(self, table: str) -> int:
        return sum(r.rows_rejected for r in self.loads if r.target == table)


def build_demo(
    dm: Datamart,
    settings: Settings,
    *,
    customers: int = 2000,
    seed: int = 42,
    folder: str | Path | None = None,
    transactions_per_customer: float = 10.0,
    events_per_customer: float = 25.0,
    end: dt.date = DEFAULT_END,
    progress: Progress = NO_PROGRESS,
) -> DemoSummary:
    """Generate a demo company, load it into ``dm`` (initialising it if needed) and build.

    The files go to ``folder`` when given (and stay there), else to a temporary folder that is
    removed afterwards.  The build is as of the day after the history ends, so the output is
    the same on every run.
    """
    migrate(dm)
    as_of = end + dt.timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="clientela-demo-") as scratch:
        target = Path(folder) if folder is not None else Path(scratch)
        files = generate(
            target,
            customers=customers,
            seed=seed,
            transactions_per_customer=transactions_per_customer,
            events_per_customer=events_per_customer,
            end=end,
            progress=progress,
        )
        loads = load_folder(dm, settings, target, progress=progress)
    report = build(dm, settings, as_of=as_of, progress=progress)
    log.info("demo company of %d customers built in %s", customers, dm)
    return DemoSummary(
        files=files,
        kept_files=folder is not None,
        loads=tuple(loads),
        build=report,
        as_of=as_of,
        showcase_customer_id=files.showcase_customer_id,
    )
