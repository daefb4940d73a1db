"""The documentation's examples run.

Every fenced block whose info string is exactly ``console`` in README.md and docs/*.md is a
session: each line starting with ``$ `` is a command run from the repository root, with
``CLIENTELA_DB`` set to a fresh DuckDB file for the page, and must exit 0.  Other lines are shown
output and are not checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

FENCE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
PAGES = sorted((REPO / "docs").glob("*.md"))
# The quick start's own commands (make demo, make test) are what CI runs; not run again here.
SKIP_COMMANDS = ("make ",)


def commands(page: Path) -> list[str]:
    found = []
    for block in FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:].strip()
                if not command.startswith(SKIP_COMMANDS):
                    found.append(command)
    return found


def test_every_capability_has_a_page() -> None:
    assert PAGES, "docs/ has no pages"


@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)], ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env["CLIENTELA_DB"] = str(tmp_path / "docs.duckdb")
    env["TMPDIR"] = str(tmp_path)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for command in commands(page):
        result = subprocess.run(
            command,
            shell=True,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"{page.name}: `{command}` exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}"
        )


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", readme, re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    code = block.group(1).replace('"examples/', f'"{REPO}/examples/')
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "marketing.duckdb").exists()
