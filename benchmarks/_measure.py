"""Run one benchmark step in a fresh process and report its wall time and peak memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / ".data"


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_main(steps: dict[str, Callable[..., dict[str, Any]]]) -> None:
    """Entry point of a step process: ``python benchmarks/x.py STEP JSON_ARGS``."""
    step, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    started = time.perf_counter()
    result = steps[step](**json.loads(raw))
    result.setdefault("seconds", time.perf_counter() - started)
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def run_step(script: str, step: str, **kwargs: Any) -> dict[str, Any]:
    """Run a step in its own process (so peak memory is the step's own) and parse its result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), step, json.dumps(kwargs)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{script} {step} failed:\n{proc.stderr[-4000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise SystemExit(f"{script} {step} printed no result:\n{proc.stdout[-2000:]}")
