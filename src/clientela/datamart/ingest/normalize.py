"""Normalised identity keys: e-mails (trimmed, lower case) and phones (E.164).

Loads store e-mails and phones normalised, so that customers, do-not-contact lists and contact
lists from other systems match on the same key.  Phones are parsed with ``phonenumbers``; a number
written without a country code is read in the configured default region.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

import phonenumbers

_Normaliser = Callable[[str | None], str | None]

__all__ = [
    "EMAIL_PATTERN",
    "normalise_email",
    "normalise_emails",
    "normalise_phone",
    "normalise_phones",
]

# Deliberately permissive: one @, a dot in the domain, no spaces.  Deliverability is not ours.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str | None) -> str | None:
    """Trimmed, lower-case e-mail, or None for empty input.

    Raises ValueError for text that is not an e-mail address.
    """
    if value is None:
        return None
    email = value.strip().lower()
    if not email:
        return None
    if not EMAIL_PATTERN.match(email):
        raise ValueError(f"{value!r} is not an e-mail address")
    return email


@lru_cache(maxsize=262_144)
def normalise_phone(value: str | None, region: str = "GB") -> str | None:
    """The phone number in E.164 (``+442079460000``), or None for empty input.

    Raises ValueError for text that is not a valid phone number in ``region``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number (read in region {region})")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_emails(values: Iterable[str | None]) -> tuple[list[str | None], list[str | None]]:
    """Normalise many e-mails: (normalised values, error message or None per value)."""
    return _many(values, normalise_email)


def normalise_phones(
    values: Iterable[str | None], region: str
) -> tuple[list[str | None], list[str | None]]:
    """Normalise many phones: (E.164 values, error message or None per value)."""
    return _many(values, lambda v: normalise_phone(v, region))


def _many(
    values: Iterable[str | None], one: _Normaliser
) -> tuple[list[str | None], list[str | None]]:
    cache: dict[str | None, tuple[str | None, str | None]] = {}
    out: list[str | None] = []
    errors: list[str | None] = []
    for value in values:
        if value not in cache:
            try:
                cache[value] = (one(value), None)
            except ValueError as exc:
                cache[value] = (None, str(exc))
        normalised, error = cache[value]
        out.append(normalised)
        errors.append(error)
    return out, errors
