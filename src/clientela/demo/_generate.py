"""Writing the demo company: one Parquet file per table, chunk by chunk, and ``sources.yaml``."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from clientela.datamart.schema import DATA_TABLES
from clientela.demo import _attributes, _behaviour, _commerce, _contracts
from clientela.demo._columns import ids, plain
from clientela.demo._customers import Cohort, customers_columns, make_cohort
from clientela.demo._plan import Plan, make_plan
from clientela.errors import ConfigError
from clientela.progress import NO_PROGRESS, Progress

log = logging.getLogger(__name__)

# The order sources.yaml lists the files in: customers first, so that every other table finds
# the customers it names.
LOAD_ORDER = (
    "customers",
    "transactions",
    "referrals",
    "cost_to_serve",
    "third_party",
    "events",
    "social",
    "interactions",
    "consents",
    "do_not_contact",
    "contracts",
)
KEY_PREFIXES = {
    "transactions": "T",
    "referrals": "R",
    "cost_to_serve": "K",
    "third_party": "A",
    "events": "E",
    "social": "S",
    "interactions": "I",
    "consents": "G",
    "do_not_contact": "N",
    "contracts": "M",
}
KEY_WIDTH = 10
DEFAULT_END = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class DemoTable:
    """One generated file: the table it feeds, where it is, how many rows it holds."""

    table: str
    path: Path
    rows: int


@dataclass(frozen=True)
class DemoFiles:
    """What :func:`generate` wrote: ``sources.yaml`` and one Parquet file per table."""

    folder: Path
    sources: Path
    tables: dict[str, DemoTable] = field(default_factory=dict)
    customers: int = 0
    seed: int = 0
    end: dt.date = DEFAULT_END
    showcase_customer_id: str | None = None
    """A valuable customer with an open complaint: the profile worth showing first."""

    def rows(self, table: str) -> int:
        return self.tables[table].rows


class _Writers:
    """One ParquetWriter per table, and the running counters that number the keys.

    String columns that the generators build dictionary-encoded are written as such (fast and
    small); the Arrow schema is not stored, so every reader sees plain strings.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.rows = dict.fromkeys(LOAD_ORDER, 0)
        self.counters: dict[str, int] = {"orders": 0, "anonymous": 0, "external": 0}
        self._writers: dict[str, pq.ParquetWriter] = {}
        # One background thread writes while the next chunk is generated; writes to a file
        # stay in order because there is only one.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-writer")
        self._pending: list[Future[None]] = []
        self._previous: list[Future[None]] = []

    def __enter__(self) -> _Writers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.end_chunk()
                self.end_chunk()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)
            for writer in self._writers.values():
                writer.close()

    def end_chunk(self) -> None:
        """Wait for the chunk before the one just generated, so at most one chunk is pending."""
        for future in self._previous:
            future.result()
        self._previous, self._pending = self._pending, []

    def take(self, counter: str, count: int) -> int:
        """Reserve ``count`` numbers of a counter; return the first."""
        first = self.counters[counter]
        self.counters[counter] = first + count
        return first

    def write(self, name: str, columns: dict[str, pa.Array]) -> None:
        count = len(next(iter(columns.values())))
        first_key = self.rows[name] + 1
        self.rows[name] += count
        self._pending.append(self._pool.submit(self._write, name, columns, first_key, count))

    def _write(self, name: str, columns: dict[str, pa.Array], first_key: int, count: int) -> None:
        table_schema: pa.Schema = DATA_TABLES[name].schema.to_pyarrow()
        if name in KEY_PREFIXES:
            key = DATA_TABLES[name].key
            columns = {key: ids(KEY_PREFIXES[name], first_key, count, KEY_WIDTH)} | columns
        if set(table_schema.names) != set(columns):  # pragma: no cover - a generator bug
            raise RuntimeError(f"{name}: generated columns differ from the schema")
        writer = self._writers.get(name)
        if writer is None:
            # The first chunk decides which string columns are written dictionary-encoded.
            fields = [
                pa.field(f.name, columns[f.name].type)
                if pa.types.is_dictionary(columns[f.name].type) and pa.types.is_string(f.type)
                else f
                for f in table_schema
            ]
            # Dictionary pages only where values repeat; statistics only where they are cheap.
            writer = pq.ParquetWriter(
                self.folder / f"{name}.parquet",
                pa.schema(fields),
                store_schema=False,
                use_dictionary=[f.name for f in fields if pa.types.is_dictionary(f.type)],
                write_statistics=[f.name for f in fields if not _is_text(f.type)],
            )
            self._writers[name] = writer
        arrays = [_conform(columns[f.name], f.type) for f in writer.schema]
        writer.write_table(pa.Table.from_arrays(arrays, schema=writer.schema))


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_dictionary(kind))


def _conform(column: pa.Array, wanted: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(wanted):
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        return column.cast(wanted)
    return plain(column).cast(wanted)


def generate(
    folder: str | Path,
    *,
    customers: int = 2000,
    seed: int = 42,
    transactions_per_customer: float = 10.0,
    events_per_customer: float = 25.0,
    end: dt.date = DEFAULT_END,
    history_days: int = 730,
    chunk_size: int = 50_000,
    progress: Progress = NO_PROGRESS,
) -> DemoFiles:
    """Write a synthetic company into ``folder``: Parquet files and the ``sources.yaml`` to load.

    ``transactions_per_customer`` and ``events_per_customer`` are the mean rows per customer of
    those tables (returns and cancellations included); the history covers ``history_days`` days
    ending on ``end``.  Customers are generated ``chunk_size`` at a time, so memory stays bounded;
    the same arguments always give identical files.  Totals vary by a fraction of a percent with
    ``chunk_size`` because the rates are matched per chunk.
    """
    _check(customers, transactions_per_customer, events_per_customer, history_days, chunk_size)
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"the demo folder {target} is a file, not a folder")
    target.mkdir(parents=True, exist_ok=True)
    plan = make_plan(
        customers=customers,
        seed=seed,
        transactions_per_customer=transactions_per_customer,
        events_per_customer=events_per_customer,
        end=end,
        history_days=history_days,
        chunk_size=chunk_size,
    )
    showcase: tuple[float, str] | None = None
    log.info("generating a demo company of %d customers (seed %d) in %s", customers, seed, target)
    with (
        _Writers(target) as writers,
        progress.task("Generating the demo company", total=customers) as task,
    ):
        for chunk, first in enumerate(range(0, customers, chunk_size)):
            size = min(chunk_size, customers - first)
            best = _chunk(plan, writers, chunk, first, size)
            if best is not None and (showcase is None or best[0] > showcase[0]):
                showcase = best
            writers.end_chunk()
            task.advance(size)

    sources = target / "sources.yaml"
    listing = {"sources": [{"file": f"{name}.parquet", "table": name} for name in LOAD_ORDER]}
    sources.write_text(
        "# The demo company generated by 'clientela demo'; load it with 'clientela load'.\n"
        + yaml.safe_dump(listing, sort_keys=False),
        encoding="utf-8",
    )
    return DemoFiles(
        folder=target,
        sources=sources,
        tables={
            name: DemoTable(name, target / f"{name}.parquet", writers.rows[name])
            for name in LOAD_ORDER
        },
        customers=customers,
        seed=seed,
        end=end,
        showcase_customer_id=showcase[1] if showcase else None,
    )


def _check(
    customers: int,
    transactions_per_customer: float,
    events_per_customer: float,
    history_days: int,
    chunk_size: int,
) -> None:
    if customers < 1:
        raise ConfigError(f"the demo needs at least 1 customer, got {customers}")
    if transactions_per_customer < 0 or events_per_customer < 0:
        raise ConfigError(
            "transactions and events per customer cannot be negative, got "
            f"{transactions_per_customer} and {events_per_customer}"
        )
    if history_days < 90:
        raise ConfigError(f"the demo history needs at least 90 days, got {history_days}")
    if chunk_size < 1:
        raise ConfigError(f"the chunk size must be at least 1, got {chunk_size}")


def _chunk(
    plan: Plan, writers: _Writers, chunk: int, first: int, size: int
) -> tuple[float, str] | None:
    """Generate and write one chunk; return its best showcase candidate (margin, customer)."""
    rng = plan.chunk_rng(chunk)
    cohort = make_cohort(plan, rng, chunk, first, size)
    writers.write("customers", customers_columns(plan, rng, cohort))
    columns, sales = _commerce.transactions(plan, rng, cohort, writers.counters["orders"])
    writers.take("orders", len(sales.order_customer))
    writers.write("transactions", columns)
    contacts, service_customer, service_second = _behaviour.interactions(plan, rng, cohort, sales)
    cost = _commerce.cost_to_serve(plan, cohort, sales, service_customer, service_second)
    writers.write("cost_to_serve", cost)
    writers.write("referrals", _commerce.referrals(rng, cohort, sales))
    writers.write("third_party", _attributes.third_party(plan, rng, cohort))
    behaviour = _behaviour.events(plan, rng, cohort, sales, writers.counters["anonymous"])
    writers.take("anonymous", _anonymous(behaviour))
    writers.write("events", behaviour)
    writers.write("social", _behaviour.social(plan, rng, cohort))
    writers.write("interactions", contacts)
    writers.write("consents", _attributes.consents(plan, rng, cohort))
    dnc = _attributes.do_not_contact(plan, rng, cohort, writers.counters["external"])
    writers.take("external", len(dnc["kind"]))
    writers.write("do_not_contact", dnc)
    # Last, so that adding contracts left every other table's random draws as they were.
    writers.write("contracts", _contracts.contracts(plan, rng, cohort))
    return _showcase(cohort, sales)


def _anonymous(columns: dict[str, pa.Array]) -> int:
    column = columns["anonymous_id"]
    return len(column) - int(column.null_count)


def _showcase(cohort: Cohort, sales: _commerce.Sales) -> tuple[float, str] | None:
    candidates = np.flatnonzero(cohort.complaint_open & sales.has_sale)
    if not len(candidates):
        return None
    best = candidates[np.argmax(sales.net_margin[candidates])]
    return float(sales.net_margin[best]), str(cohort.customer_ids[int(best)])
