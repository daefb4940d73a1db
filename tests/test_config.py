from __future__ import annotations

import re
from pathlib import Path

import pytest

from clientela.config import DEFAULT_SERVICE_POLICIES, Settings
from clientela.errors import ConfigError
from tests.conftest import REPO


def test_documented_settings_file_loads(tmp_path: Path) -> None:
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block is not None
    config = tmp_path / "clientela.yaml"
    config.write_text(block.group(1))
    settings = Settings.load(config)
    assert settings.default_region == "ES"
    assert settings.unknown_customers == "placeholder"
    assert settings.identity.keys == ("email",)
    assert settings.tier_cutoffs == (0.6, 0.85)
    assert settings.service_policies == DEFAULT_SERVICE_POLICIES


def test_environment_outranks_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("default_region: ES\n")
    monkeypatch.setenv("CLIENTELA_DEFAULT_REGION", "fr")
    assert Settings.load(config).default_region == "FR"
    assert Settings.load(config, db="x.duckdb").db == "x.duckdb"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tier_cutoffs: [0.9, 0.5]\n", "line 1: 'tier_cutoffs': tier cut-offs must satisfy"),
        ("identity:\n  keys: [email]\n  mach: all\n", "line 3: unknown key 'mach'"),
        ("identity:\n  keys: [fax]\n", "line 2: 'identity.keys.0'"),
        ("default_region: [\n", "invalid YAML"),
        ("service_policies:\n  A: {credit: none}\n", "line 2"),
    ],
)
def test_bad_settings_files(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        Settings.load(config)
    assert message in str(info.value)
    assert str(config) in str(info.value)


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        Settings.load(tmp_path / "absent.yaml")
