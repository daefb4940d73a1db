"""Audience files for ad platforms: normalised, SHA-256-hashed e-mails and phones.

One CSV file per platform, in the layout and with the normalisation each one documents:

* **Google Ads Customer Match** (support.google.com/google-ads/answer/7659867 and the Data
  Manager API's "Format user data"): headers ``Email`` and ``Phone``; e-mails trimmed, lower
  case, without blanks, and for ``gmail.com`` / ``googlemail.com`` without the dots of the
  local part and without a ``+tag``; phones in E.164 *with* the ``+``.
* **Meta Custom Audiences** (customer list identifiers and the Marketing API's hashing rules):
  headers ``email`` and ``phone``; e-mails trimmed and lower case; phones digits only, country
  code first, *no* ``+``.
* **Yandex Audiences** (yandex.com/support/audience, "File requirements", CRM data): headers
  ``phone`` and ``email``; e-mails lower case; phones digits only with the country code, no
  ``+``.  Yandex accepted MD5 until January 2025 and documents SHA-256 since; the file is
  SHA-256 (choose "SHA-256" under "Hashed data" when uploading).

Every value is hashed with SHA-256 and written as 64 lower-case hex digits, UTF-8, comma
separated, one contact per row.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from clientela.errors import ConfigError
from clientela.scoring.lists import AudienceFile

__all__ = [
    "PLATFORMS",
    "Platform",
    "google_email",
    "google_phone",
    "meta_email",
    "meta_phone",
    "sha256_hex",
    "write_audiences",
    "yandex_email",
    "yandex_phone",
]

log = logging.getLogger(__name__)

# Below this many rows, platforms reject the file or do not serve the audience.
MIN_AUDIENCE = 100
_GOOGLE_DOMAINS = ("gmail.com", "googlemail.com")
_BLANKS = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D")


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text, 64 lower-case hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def google_email(value: str) -> str:
    """Trimmed, lower case, no blanks; Gmail addresses without dots and ``+tag`` before ``@``."""
    email = _BLANKS.sub("", value.strip().lower())
    local, at, domain = email.rpartition("@")
    if at and domain in _GOOGLE_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        return f"{local}@{domain}"
    return email


def google_phone(e164: str) -> str:
    """E.164 with the ``+``: ``+18005550100``."""
    return "+" + _digits(e164)


def meta_email(value: str) -> str:
    """Trimmed and lower case."""
    return value.strip().lower()


def meta_phone(e164: str) -> str:
    """Digits only, country code first, no ``+`` and no leading zeros: ``16505551212``."""
    return _digits(e164).lstrip("0")


def yandex_email(value: str) -> str:
    """Trimmed and lower case."""
    return value.strip().lower()


def yandex_phone(e164: str) -> str:
    """Digits only with the country code, no ``+``: ``79995551111``."""
    return _digits(e164)


def _digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


@dataclass(frozen=True)
class Platform:
    """An ad platform's audience file: its name, headers and normalisation."""

    key: str
    title: str
    email_header: str
    phone_header: str
    email: Callable[[str], str]
    phone: Callable[[str], str]
    phone_first: bool = False

    def header(self) -> list[str]:
        if self.phone_first:
            return [self.phone_header, self.email_header]
        return [self.email_header, self.phone_header]

    def row(
        self, email: str | None, phone: str | None, digest: Callable[[str], str] = sha256_hex
    ) -> list[str]:
        hashed_email = digest(self.email(email)) if email else ""
        hashed_phone = digest(self.phone(phone)) if phone else ""
        return [hashed_phone, hashed_email] if self.phone_first else [hashed_email, hashed_phone]


PLATFORMS: tuple[Platform, ...] = (
    Platform("google-ads", "Google Ads Customer Match", "Email", "Phone", google_email,
             google_phone),
    Platform("meta", "Meta Custom Audiences", "email", "phone", meta_email, meta_phone),
    Platform("yandex", "Yandex Audiences", "email", "phone", yandex_email, yandex_phone,
             phone_first=True),
)  # fmt: skip


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name.strip()).strip("._")
    return stem or "list"


def write_audiences(
    rows: Iterable[tuple[str | None, str | None]],
    directory: str | Path,
    list_name: str,
    platforms: Iterable[Platform] = PLATFORMS,
) -> tuple[tuple[AudienceFile, ...], tuple[str, ...]]:
    """Write one audience file per platform from (e-mail, E.164 phone) pairs.

    Returns the files written and notes for the user (an audience too small to be used).
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"the audience folder {folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    pairs = list(rows)
    # Platforms often hash the same text (Meta's and Yandex's e-mails): once is enough.
    digests: dict[str, str] = {}

    def digest(text: str) -> str:
        found = digests.get(text)
        if found is None:
            found = digests[text] = sha256_hex(text)
        return found

    files = []
    for platform in platforms:
        path = folder / f"{_file_stem(list_name)}.{platform.key}.csv"
        seen: set[tuple[str, ...]] = set()
        emails = phones = 0
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(platform.header())
            for email, phone in pairs:
                row = tuple(platform.row(email, phone, digest))
                if row in seen:
                    continue
                seen.add(row)
                writer.writerow(row)
                emails += email is not None
                phones += phone is not None
        files.append(AudienceFile(platform.title, str(path), len(seen), emails, phones))
        log.info("wrote %d rows for %s to %s", len(seen), platform.title, path)
    notes: tuple[str, ...] = ()
    written = min((f.rows for f in files), default=0)
    if written < MIN_AUDIENCE:
        notes = (
            f"the audience files hold {written} contacts: Yandex Audiences rejects files with "
            f"fewer than {MIN_AUDIENCE} rows, and Google Ads and Meta do not serve audiences "
            "that small",
        )
    return tuple(files), notes
