"""The ``clientela`` command line."""

from clientela.cli.app import app, main

__all__ = ["app", "main"]
