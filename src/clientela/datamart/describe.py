"""The data model in words: each table's columns, types and load rules (for docs and the CLI)."""

from __future__ import annotations

from clientela.datamart.schema import DATA_TABLES, TableSpec

__all__ = ["column_rules", "schema_markdown"]


def column_rules(table: TableSpec, column: str) -> str:
    """The rules a load applies to one column, in words."""
    rules = []
    if column == table.key:
        rules.append("key")
    if column in table.required:
        rules.append("required")
    if column in table.allowed:
        rules.append("one of " + ", ".join(f"`{v}`" for v in table.allowed[column]))
    if column in table.ranges:
        low, high = table.ranges[column]
        if low is not None and high is not None:
            rules.append(f"between {low:g} and {high:g}")
        elif low is not None:
            rules.append(f"at least {low:g}")
        elif high is not None:
            rules.append(f"at most {high:g}")
    if column in table.customer_columns:
        rules.append("a known customer")
    return "; ".join(rules)


def schema_markdown() -> str:
    """Markdown describing every data table (docs/datamart.md embeds it)."""
    lines: list[str] = []
    for name, table in DATA_TABLES.items():
        lines.append(f"### `{name}`")
        lines.append("")
        lines.append(" ".join(table.description.replace("``", "`").split()))
        lines.append("")
        key = f"Key `{table.key}`"
        if table.key_from:
            derived = ", ".join(f"`{c}`" for c in table.key_from)
            key += f", derived from {derived} when the file has none"
        outcome = "updates it" if table.on_conflict == "update" else "is rejected as a conflict"
        lines.append(f"{key}. A re-loaded row with other values {outcome}.")
        lines.append("")
        lines.append("| column | type | rules |")
        lines.append("|---|---|---|")
        for column, dtype in table.schema.items():
            lines.append(f"| `{column}` | {dtype} | {column_rules(table, column)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
