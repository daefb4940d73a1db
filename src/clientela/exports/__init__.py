"""Exports: Excel workbooks with native charts, audience files, HTML reports."""

from clientela.exports.excel import write_value_report

__all__ = ["write_value_report"]
