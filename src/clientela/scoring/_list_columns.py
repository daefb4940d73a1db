"""Which columns of a contact list hold e-mails and which hold phones.

CRM exports name them in many ways and languages ("E-mail Address", "Phone 1 - Value",
"Correo electrónico", "Téléphone portable", "Телефон"...).  A header is split into words (accents
dropped, case folded); a column whose words name an e-mail or a phone is taken.  When no header
names one, the values decide: a column where most values look like e-mails (or phones) is taken.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from clientela.datamart.ingest.normalize import EMAIL_PATTERN

__all__ = ["ListColumns", "detect_columns", "looks_like_email", "looks_like_phone"]

# Whole words (after folding) that name an e-mail column.
EMAIL_WORDS = frozenset(
    {
        "email", "emails", "mail", "emailaddress", "mailaddress", "correo", "courriel",
        "mel", "posta", "epost", "sahkoposti", "почта", "емейл", "емэйл", "имейл", "мейл",
        "электронная", "эл", "email1", "email2", "email3",
    }
)  # fmt: skip
# Whole words (after folding) that name a phone column.
PHONE_WORDS = frozenset(
    {
        "phone", "phones", "telephone", "tel", "tele", "telefon", "telefono", "telefone",
        "mobile", "mobil", "mobilnummer", "mobilephone", "cell", "cellphone", "cellular",
        "celular", "movil", "handy", "portable", "msisdn", "whatsapp", "phonenumber",
        "telefonnummer", "rufnummer", "telefoonnummer", "телефон", "тел", "мобильный",
        "моб", "сотовый", "phone1", "phone2", "phone3", "gsm", "fon",
    }
)  # fmt: skip
# Words that disqualify a header (a "phone type" or "e-mail opt-in" column holds no contact).
NOT_CONTACT_WORDS = frozenset(
    {
        "type", "label", "kind", "optin", "opt", "optout", "consent", "bounced", "bounce",
        "verified", "status", "valid", "domain", "subscribed", "unsubscribed", "date", "ext",
        "extension", "country", "code", "fax", "telegram",
    }
)  # fmt: skip

# Word beginnings that name one (inflected languages: "телефона", "Telefonnummer").
EMAIL_PREFIXES = ("email", "почт")
PHONE_PREFIXES = ("telefon", "mobil", "телефон", "мобил", "сотов")

_PHONE_TEXT = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
# A share of the sampled non-empty values that must look right for content detection.
CONTENT_SHARE = 0.8
SAMPLE_ROWS = 200


@dataclass(frozen=True)
class ListColumns:
    """Positions of the e-mail and phone columns, and how they were found."""

    email: tuple[int, ...]
    phone: tuple[int, ...]
    by_content: bool = False

    @property
    def found(self) -> bool:
        return bool(self.email or self.phone)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def header_words(header: str) -> list[str]:
    """Lower-case words of a header without accents; "E-mail" and "e_mail" become "email"."""
    folded = _fold(header)
    folded = re.sub(r"\be[\s_.\-]?mail", "email", folded)
    folded = re.sub(r"\bphone[\s_.\-]?number", "phonenumber", folded)
    return [w for w in re.split(r"[^\w]+|_", folded) if w]


def header_kind(header: str) -> str | None:
    """``"email"``, ``"phone"`` or None for a column header."""
    words = header_words(header)
    if not words or any(w in NOT_CONTACT_WORDS for w in words):
        return None
    if any(w in EMAIL_WORDS or w.startswith(EMAIL_PREFIXES) for w in words):
        return "email"
    if any(w in PHONE_WORDS or w.startswith(PHONE_PREFIXES) for w in words):
        return "phone"
    return None


def looks_like_email(value: str) -> bool:
    return bool(EMAIL_PATTERN.match(value.strip()))


def looks_like_phone(value: str) -> bool:
    text = value.strip()
    if not _PHONE_TEXT.match(text):
        return False
    digits = sum(c.isdigit() for c in text)
    return 7 <= digits <= 15


def _content_kind(values: Sequence[str | None]) -> str | None:
    present = [v for v in values[:SAMPLE_ROWS] if v is not None and v.strip()]
    if not present:
        return None
    for kind, test in (("email", looks_like_email), ("phone", looks_like_phone)):
        if sum(test(v) for v in present) >= CONTENT_SHARE * len(present):
            return kind
    return None


def detect_columns(headers: Sequence[str], sample: Sequence[Sequence[str | None]]) -> ListColumns:
    """The e-mail and phone columns: by header name first, else by the sampled values.

    ``sample`` holds the first rows' values by column (``sample[i]`` is column ``i``).
    """
    email: list[int] = []
    phone: list[int] = []
    for i, header in enumerate(headers):
        kind = header_kind(header)
        if kind == "email":
            email.append(i)
        elif kind == "phone":
            phone.append(i)
    if email or phone:
        return ListColumns(tuple(email), tuple(phone))
    for i, values in enumerate(sample):
        kind = _content_kind(values)
        if kind == "email":
            email.append(i)
        elif kind == "phone":
            phone.append(i)
    return ListColumns(tuple(email), tuple(phone), by_content=True)


def header_is_data(headers: Sequence[str]) -> bool:
    """True when the "header" row is itself a contact (a list written without a header)."""
    cells = [h for h in headers if h and h.strip()]
    return bool(cells) and any(looks_like_email(h) or looks_like_phone(h) for h in cells)
