"""Online Retail (541,909 lines): ingest, profiles, RFM and tiers in one run.

Target: under 10 s on 2 cores, peak memory under 2 GB.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import REPO, child_main


def ingest_and_build() -> dict[str, Any]:
    from clientela.config import Settings
    from clientela.datamart import connect, migrate
    from clientela.datamart.ingest import load_folder
    from clientela.services.build import build

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db=str(Path(tmp) / "online_retail.duckdb"))
        started = time.perf_counter()
        with connect(settings) as dm:
            migrate(dm)
            reports = load_folder(dm, settings, REPO / "examples" / "online_retail")
            loaded = time.perf_counter()
            summary = build(dm, settings)
        finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "ingest_seconds": loaded - started,
        "build_seconds": finished - loaded,
        "rows_read": sum(r.rows_read for r in reports),
        "profiles": getattr(summary, "profiles", None),
    }


if __name__ == "__main__":
    child_main({"ingest_and_build": ingest_and_build})
