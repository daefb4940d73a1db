"""A synthetic company to try clientela on: every datamart table, with realistic shapes.

:func:`generate` writes the company as Parquet files plus the ``sources.yaml`` that loads them;
:func:`build_demo` also loads them into a datamart and builds the customer view.  The same
generator drives the performance benchmark, so it is vectorised and works in chunks.
"""

from clientela.demo._build import DemoSummary, build_demo
from clientela.demo._generate import DEFAULT_END, LOAD_ORDER, DemoFiles, DemoTable, generate

__all__ = [
    "DEFAULT_END",
    "LOAD_ORDER",
    "DemoFiles",
    "DemoSummary",
    "DemoTable",
    "build_demo",
    "generate",
]
