"""Use cases shared by the CLI, the API and the web app: they bind analytics to a datamart."""

from clientela.services._summary import SUMMARY_TABLE, default_as_of
from clientela.services.build import BuildReport, build
from clientela.services.profile import get_profile, resolve_profile
from clientela.services.report import ValueReport, value_report

__all__ = [
    "SUMMARY_TABLE",
    "BuildReport",
    "ValueReport",
    "build",
    "default_as_of",
    "get_profile",
    "resolve_profile",
    "value_report",
]
