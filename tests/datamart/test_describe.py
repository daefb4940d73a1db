from __future__ import annotations

from clientela.datamart.describe import schema_markdown
from tests.conftest import REPO


def test_docs_show_the_current_data_model() -> None:
    page = (REPO / "docs" / "datamart.md").read_text(encoding="utf-8")
    embedded = page.split("<!-- schema:start -->\n", 1)[1].split("<!-- schema:end -->", 1)[0]
    assert embedded == schema_markdown(), "run: clientela schema --markdown, paste in the docs"


def test_cli_schema_lists_rules(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("schema", "consents")
    assert result.code == 0
    assert "opt_in" in result.stdout and "a known customer" in result.stdout
    unknown = cli("schema", "consent")
    assert unknown.code == 2 and "did you mean 'consents'" in unknown.stderr
