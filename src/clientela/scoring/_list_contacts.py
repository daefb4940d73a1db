"""From raw rows to contacts: normalised e-mails and phones, duplicates merged.

Every e-mail is trimmed and lower-cased, every phone written in E.164, as the datamart stores
them.  A phone written without a country code is read in the list's region (the configured
``default_region`` unless told otherwise); digits that are not a number of that region but are
one with a leading ``+`` are read as international (CRM exports often drop the ``+``).

Rows that share a normalised e-mail or phone are one contact (transitively): the first row gives
the contact its e-mail, phone and line, the other rows' e-mails and phones still match it.
Rows without any valid e-mail or phone stay contacts too (they are listed as unmatched, never
dropped); rows with the same invalid text are one contact.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import phonenumbers
import pyarrow as pa

from clientela.datamart.ingest.normalize import normalise_email, normalise_phone
from clientela.scoring._list_read import RawList

__all__ = ["ContactList", "build_contacts", "list_phone", "phone_problem"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Already E.164: taken as is (a number no customer has simply does not match; its validity is
# checked only to explain why a contact is unmatched).  Saves a parse per phone on big lists.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SEPARATORS = re.compile(r"[\s().\-/]")

CONTACTS_SCHEMA = pa.schema(
    [
        ("contact_no", pa.int64()),
        ("contact", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("email_raw", pa.string()),
        ("phone_raw", pa.string()),
        ("line", pa.int64()),
        ("rows", pa.int64()),
        ("problem", pa.string()),
    ]
)
KEYS_SCHEMA = pa.schema([("contact_no", pa.int64()), ("kind", pa.string()), ("value", pa.string())])


@dataclass(frozen=True)
class ContactList:
    """The contacts of a list and every key (e-mail, phone) that can match each of them.

    ``contacts``: one row per contact, numbered in the order they first appear (``contact`` is
    its name in reports: the e-mail, else the phone, else the text read).  ``keys``: the
    normalised e-mails and phones of each contact, to match against the datamart.
    """

    file: str
    name: str
    region: str
    headers: tuple[str, ...]
    email_columns: tuple[str, ...]
    phone_columns: tuple[str, ...]
    by_content: bool
    contacts: pa.Table
    keys: pa.Table
    rows: int  # data rows read
    duplicates: int  # rows merged into an earlier contact
    local_phones: int  # phones written without a country code, read in ``region``
    invalid_values: int  # e-mail or phone cells that are neither

    @property
    def size(self) -> int:
        return int(self.contacts.num_rows)


def list_phone(value: str, region: str, *, validate: bool = True) -> tuple[str, bool]:
    """(E.164 phone, written without its country code); ValueError for text that is not one.

    With ``validate=False`` a number that parses and has a possible length is taken without the
    full validity check (the costly half of ``phonenumbers``): it matches no customer unless it
    is one, and :func:`phone_problem` explains it when it stays unmatched.
    """
    text = value.strip()
    if _E164.match(text):
        return text, False
    digits = _SEPARATORS.sub("", text)
    international = text.startswith(("+", "00"))
    with_code = digits.startswith(_country_code(region))
    local = not international and not with_code
    # Digits of another country without their "+": only a validity check tells them apart.
    may_lack_plus = local and digits.isdigit() and 11 <= len(digits) <= 15
    if validate or may_lack_plus:
        try:
            return str(normalise_phone(text, region)), local
        except ValueError:
            if may_lack_plus:
                try:
                    return str(normalise_phone("+" + digits, region)), False
                except ValueError:
                    pass
            raise
    try:
        number = phonenumbers.parse("+" + text[2:] if text.startswith("00") else text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{value!r} is not a valid phone number (read in region {region})")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), local


@lru_cache(maxsize=256)
def _country_code(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region))


def phone_problem(phone: str, region: str) -> str | None:
    """Why a phone (as written, or in E.164) is no valid number, or None when it is one."""
    try:
        list_phone(phone, region, validate=True)
        if _E164.match(phone.strip()):
            normalise_phone(phone.strip(), region)
    except ValueError as exc:
        return str(exc)
    return None


class _Contacts:
    """Union-find over contacts: rows sharing a key join the contact that came first."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.by_key: dict[str, int] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def add(self, keys: list[str]) -> int:
        roots = {self.find(self.by_key[k]) for k in keys if k in self.by_key}
        if roots:
            first = min(roots)
            for other in roots - {first}:
                self.parent[other] = first
        else:
            first = len(self.parent)
            self.parent.append(first)
        for key in keys:
            self.by_key.setdefault(key, first)
        return first


def build_contacts(raw: RawList, *, name: str, region: str) -> ContactList:
    """Normalise, merge duplicates and number the contacts of a raw list."""
    emails = [raw.values(i) for i in raw.columns.email]
    phones = [raw.values(i) for i in raw.columns.phone]
    lines = raw.lines
    email_cache: dict[str, str | None] = {}
    phone_cache: dict[str, tuple[str | None, bool]] = {}
    local_phones = invalid = 0
    union = _Contacts()
    row_contact: list[int] = []
    row_keys: list[list[str]] = []
    row_raw: list[tuple[str | None, str | None]] = []
    row_problem: list[str | None] = []
    for r in range(raw.rows.num_rows):
        keys: list[str] = []
        problems: list[str] = []
        for column in emails:
            value = column[r]
            if value is None or not value.strip():
                continue
            normalised = _cached(email_cache, value, _email)
            if normalised is None:
                invalid += 1
                keys.append("invalid:" + value.strip().lower())
                problems.append(f"{value.strip()!r} is not an e-mail address")
            else:
                keys.append("email:" + normalised)
        for column in phones:
            value = column[r]
            if value is None or not value.strip():
                continue
            phone, local = _cached(phone_cache, value, lambda v: _phone(v, region))
            if phone is None:
                invalid += 1
                keys.append("invalid:" + value.strip().lower())
                problems.append(_phone_error(value, region))
            else:
                local_phones += local
                keys.append("phone:" + phone)
        if not keys:
            keys.append(f"line:{lines[r]}")
            problems.append("no e-mail or phone")
        row_keys.append(keys)
        row_contact.append(union.add(keys))
        row_raw.append((_joined(emails, r), _joined(phones, r)))
        row_problem.append("; ".join(problems) or None)
    for invalid_row in raw.unreadable:
        key = f"line:{invalid_row.line}"
        row_keys.append([key])
        row_contact.append(union.add([key]))
        row_raw.append((invalid_row.text[:200], None))
        row_problem.append(
            f"the line could not be read: {invalid_row.actual} fields where the header has "
            f"{invalid_row.expected}"
        )
        lines.append(invalid_row.line or 0)
    contacts, keys_table = _tables(union, row_contact, row_keys, row_raw, row_problem, lines)
    total_rows = len(row_contact)
    duplicates = total_rows - contacts.num_rows
    if duplicates:
        log.info("%d duplicate rows merged into earlier contacts", duplicates)
    return ContactList(
        file=raw.file,
        name=name,
        region=region,
        headers=raw.headers,
        email_columns=tuple(raw.headers[i] for i in raw.columns.email),
        phone_columns=tuple(raw.headers[i] for i in raw.columns.phone),
        by_content=raw.columns.by_content,
        contacts=contacts,
        keys=keys_table,
        rows=total_rows,
        duplicates=duplicates,
        local_phones=local_phones,
        invalid_values=invalid,
    )


def _email(value: str) -> str | None:
    try:
        return normalise_email(value)
    except ValueError:
        return None


def _phone(value: str, region: str) -> tuple[str | None, bool]:
    try:
        return list_phone(value, region, validate=False)
    except ValueError:
        return None, False


def _phone_error(value: str, region: str) -> str:
    try:
        list_phone(value, region, validate=False)
    except ValueError as exc:
        return str(exc)
    return f"{value!r} is not a phone number"  # pragma: no cover - only called on failures


def _cached(cache: dict[str, _T], value: str, compute: Callable[[str], _T]) -> _T:
    if value not in cache:
        cache[value] = compute(value)
    return cache[value]


def _joined(columns: list[list[str | None]], r: int) -> str | None:
    values = [value.strip() for c in columns if (value := c[r]) is not None and value.strip()]
    return ", ".join(values) or None


def _tables(
    union: _Contacts,
    row_contact: list[int],
    row_keys: list[list[str]],
    row_raw: list[tuple[str | None, str | None]],
    row_problem: list[str | None],
    lines: list[int],
) -> tuple[pa.Table, pa.Table]:
    number: dict[int, int] = {}
    first_row: list[int] = []
    rows: list[int] = []
    emails: list[str | None] = []
    phones: list[str | None] = []
    keys: dict[int, dict[str, None]] = {}
    for r, contact in enumerate(row_contact):
        root = union.find(contact)
        n = number.get(root)
        if n is None:
            n = number[root] = len(first_row)
            first_row.append(r)
            rows.append(0)
            emails.append(None)
            phones.append(None)
            keys[n] = {}
        rows[n] += 1
        for key in row_keys[r]:
            keys[n][key] = None
            kind, _, value = key.partition(":")
            if kind == "email" and emails[n] is None:
                emails[n] = value
            elif kind == "phone" and phones[n] is None:
                phones[n] = value
    names = _names(first_row, emails, phones, row_raw, lines)
    contacts = pa.table(
        {
            "contact_no": pa.array(range(len(first_row)), pa.int64()),
            "contact": pa.array(names, pa.string()),
            "email": pa.array(emails, pa.string()),
            "phone": pa.array(phones, pa.string()),
            "email_raw": pa.array([row_raw[r][0] for r in first_row], pa.string()),
            "phone_raw": pa.array([row_raw[r][1] for r in first_row], pa.string()),
            "line": pa.array([lines[r] for r in first_row], pa.int64()),
            "rows": pa.array(rows, pa.int64()),
            "problem": pa.array(
                [
                    None if emails[n] or phones[n] else row_problem[r]
                    for n, r in enumerate(first_row)
                ],
                pa.string(),
            ),
        },
        schema=CONTACTS_SCHEMA,
    )
    key_rows = [
        (n, kind, value)
        for n, found in keys.items()
        for kind, _, value in (k.partition(":") for k in found)
        if kind in ("email", "phone")
    ]
    keys_table = pa.table(
        {
            "contact_no": pa.array([k[0] for k in key_rows], pa.int64()),
            "kind": pa.array([k[1] for k in key_rows], pa.string()),
            "value": pa.array([k[2] for k in key_rows], pa.string()),
        },
        schema=KEYS_SCHEMA,
    )
    return contacts, keys_table


def _names(
    first_row: list[int],
    emails: list[str | None],
    phones: list[str | None],
    row_raw: list[tuple[str | None, str | None]],
    lines: list[int],
) -> list[str]:
    """Each contact's name in reports: unique, stable from one run of the list to the next."""
    names: list[str] = []
    seen: set[str] = set()
    for n, r in enumerate(first_row):
        name = emails[n] or phones[n]
        if name is None:
            raw_email, raw_phone = row_raw[r]
            name = raw_email or raw_phone or f"line {lines[r]}"
        if name in seen:
            name = f"{name} (line {lines[r]})"
        seen.add(name)
        names.append(name)
    return names
