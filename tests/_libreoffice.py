"""LibreOffice for the tests that open a workbook in it: found (or the test skipped), and a
workbook converted to OpenDocument the way a user's LibreOffice would read it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def soffice() -> str:
    """LibreOffice's command; the test is skipped without it (failed when CI requires it)."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CLIENTELA_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("LibreOffice (soffice) is required here (CLIENTELA_REQUIRE_LIBREOFFICE=1)")
        pytest.skip("LibreOffice (soffice) is not installed")
    return found


def to_ods(command: str, book: Path, tmp_path: Path) -> Path:
    """``book`` converted by LibreOffice (with a profile of its own under ``tmp_path``): the .ods
    file, asserted to exist."""
    converted = tmp_path / "converted"
    home = tmp_path / "lo-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    completed = subprocess.run(
        [
            command, f"-env:UserInstallation={(home / 'profile').as_uri()}", "--headless",
            "--convert-to", "ods", "--outdir", str(converted), str(book),
        ],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    ods = converted / f"{book.stem}.ods"
    assert completed.returncode == 0 and ods.exists(), completed.stderr
    return ods
