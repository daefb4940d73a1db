"""Audience files: the platforms' published normalisation and hashing examples, the layouts,
and consent: only profiles whose newest advertising consent is an opt-in are ever written."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.config import Settings
from clientela.datamart import Datamart
from clientela.datamart.ingest.normalize import normalise_phone
from clientela.exports.audience import (
    google_email,
    google_phone,
    meta_email,
    meta_phone,
    sha256_hex,
    write_audiences,
    yandex_email,
    yandex_phone,
)
from clientela.services.score_list import score_list
from tests.scoring._list_data import AS_OF, EMAILS, add_consents, load_toy_store, phone, write_csv

# -- the platforms' published examples ------------------------------------------------------------


def test_meta_published_examples() -> None:
    # Meta, Conversions API "Customer Information Parameters" (em, ph), the normalisation that
    # Custom Audiences share: input, normalised form and expected SHA-256.
    assert meta_email("John_Smith@gmail.com") == "john_smith@gmail.com"
    assert sha256_hex(meta_email("John_Smith@gmail.com")) == (
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    )
    us_phone = normalise_phone("(650)555-1212", "US")
    assert meta_phone(str(us_phone)) == "16505551212"
    assert sha256_hex(meta_phone(str(us_phone))) == (
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    )


def test_google_published_examples() -> None:
    # Google Data Manager API "Format user data" (the Customer Match rules): Gmail addresses
    # lose the dots and the +tag of the local part, other domains keep them; phones E.164.
    assert google_email("cloudy.sanfrancisco+shopping@gmail.com") == "cloudysanfrancisco@gmail.com"
    assert google_email("user.name+NYC@Example.com") == "user.name+nyc@example.com"
    assert google_email(" Jane.Doe@GoogleMail.com ") == "janedoe@googlemail.com"
    assert google_phone(str(normalise_phone("(800)555-0100", "US"))) == "+18005550100"
    # Google publishes no hash values; SHA-256 itself is checked against FIPS 180-2's "abc".
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_hex(google_phone("+18005550100")) == hashlib.sha256(b"+18005550100").hexdigest()


def test_yandex_published_examples() -> None:
    # Yandex Audiences "File requirements" (CRM data): phones digits with the country code,
    # e-mails lower case; its hashed sample rows (MD5, the algorithm it documented before
    # SHA-256) check the normalised values.
    ru = str(normalise_phone("7 (999) 555-11-11", "RU"))
    assert yandex_phone(ru) == "79995551111"
    assert yandex_email("Mail@yandex.ru") == "mail@yandex.ru"
    md5 = {"79876543210": "5c5259938ed3e632bc5e3f94731090af",
           "mail@yandex.ru": "3c56ff8fef0f6c65b36b2d25720fe276",
           "79012345678": "7cea6da797b7105aee4188b6731a9006",
           "example2@yandex.ru": "8d2b135ba9bd88fbfbd8ececb31196d1"}  # fmt: skip
    for raw, expected in md5.items():
        normalised = (
            yandex_email(raw) if "@" in raw else yandex_phone(str(normalise_phone(raw, "RU")))
        )
        assert hashlib.md5(normalised.encode()).hexdigest() == expected
    # Yandex's SHA-256 test values (Yandex Metrica, the same normalisation).
    assert sha256_hex(yandex_email("name@yandex.ru")) == (
        "41b86f44151924a940be6fa30d93f2471683ca74ac361d3b827a9b72c80a7623"
    )
    assert sha256_hex(yandex_phone("+70123456789")) == (
        "8f0dd3d30a1ea4b739c6217c02604aee1556025da990212759efd877206a1948"
    )


def test_the_platforms_differ_on_phones() -> None:
    e164 = "+447911123456"
    assert (google_phone(e164), meta_phone(e164), yandex_phone(e164)) == (
        "+447911123456", "447911123456", "447911123456",
    )  # fmt: skip
    assert sha256_hex(google_phone(e164)) != sha256_hex(meta_phone(e164))


# -- layouts ------------------------------------------------------------------------------------


def _read(path: str) -> list[list[str]]:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_each_platform_has_its_layout(tmp_path: Path) -> None:
    rows = [("Ann.Lee@gmail.com", "+447911123456"), ("bob@example.com", None),
            ("annlee@gmail.com", "+447911123456"), (None, "+50688010001")]  # fmt: skip
    files, notes = write_audiences(rows, tmp_path / "out", "Spring list 2026")
    by_platform = {f.platform: f for f in files}
    google = _read(by_platform["Google Ads Customer Match"].path)
    meta = _read(by_platform["Meta Custom Audiences"].path)
    yandex = _read(by_platform["Yandex Audiences"].path)
    assert Path(by_platform["Meta Custom Audiences"].path).name == "Spring_list_2026.meta.csv"
    assert google[0] == ["Email", "Phone"]
    assert meta[0] == ["email", "phone"]
    assert yandex[0] == ["phone", "email"]
    # Google folds the two Gmail spellings into one row; Meta and Yandex keep both.
    assert (len(google), len(meta), len(yandex)) == (1 + 3, 1 + 4, 1 + 4)
    assert google[1] == [sha256_hex("annlee@gmail.com"), sha256_hex("+447911123456")]
    assert meta[1] == [sha256_hex("ann.lee@gmail.com"), sha256_hex("447911123456")]
    assert yandex[4] == [sha256_hex("50688010001"), ""]
    assert all(len(v) == 64 for row in google[1:] for v in row if v)
    assert notes == (
        "the audience files hold 3 contacts: Yandex Audiences rejects files with fewer than 100 "
        "rows, and Google Ads and Meta do not serve audiences that small",
    )


# -- consent ------------------------------------------------------------------------------------

T0 = dt.datetime(2026, 1, 1)


def _list_of_everyone(tmp_path: Path) -> Path:
    rows = [("email", "phone"), *((EMAILS[c], phone(c)) for c in sorted(EMAILS))]
    return write_csv(tmp_path / "everyone.csv", rows)


def _audience_emails(result: object) -> set[str]:
    files = result.summary.audience  # type: ignore[attr-defined]
    meta = next(f for f in files if f.platform == "Meta Custom Audiences")
    return {row[0] for row in _read(meta.path)[1:]}


def test_only_profiles_consenting_to_advertising_are_written(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    load_toy_store(datamart, settings)
    add_consents(datamart, [
        ("C001", "ads", "marketing", "opt_in", T0),  # ads channel: yes
        ("C002", "email", "advertising", "opt_in", T0),  # advertising purpose: yes
        ("C003", "ads", "marketing", "opt_in", T0),
        ("C003", "ads", "marketing", "opt_out", T0 + dt.timedelta(days=30)),  # withdrawn
        ("C004", "email", "marketing", "opt_in", T0),  # e-mail marketing is not advertising
        ("C005", "ads", "marketing", "opt_in", T0),
        ("C005", "any", None, "opt_out", T0 + dt.timedelta(days=1)),  # blanket opt-out
        ("C006", "ads", "marketing", "opt_out", T0),
        ("C006", "ads", "marketing", "opt_in", T0 + dt.timedelta(days=2)),  # opted back in
        ("C007", "ads", "marketing", "opt_in", T0),
    ])  # fmt: skip
    datamart.bulk_insert("do_not_contact", _dnc(EMAILS["C007"]))
    out = tmp_path / "audience"
    result = score_list(datamart, settings, _list_of_everyone(tmp_path), "toy_store",
                        as_of=AS_OF, audience_dir=out)  # fmt: skip
    expected = {sha256_hex(EMAILS[c]) for c in ("C001", "C002", "C006")}
    assert _audience_emails(result) == expected | {""}  # C007: phone only, e-mail listed
    meta = next(f for f in result.summary.audience if f.platform == "Meta Custom Audiences")
    assert (meta.rows, meta.emails, meta.phones) == (4, 3, 4)
    only_high = score_list(datamart, settings, _list_of_everyone(tmp_path), "toy_store",
                           as_of=AS_OF, audience_dir=tmp_path / "high",
                           audience_levels=["high"])  # fmt: skip
    # Of the consenting, only Jorge (C006, 61) and Elena (C007, 62) are high.
    assert _audience_emails(only_high) == {sha256_hex(EMAILS["C006"]), ""}


def test_only_identifiers_the_datamart_confirms_are_sent(
    datamart: Datamart, settings: Settings, tmp_path: Path
) -> None:
    load_toy_store(datamart, settings)
    add_consents(datamart, [("C001", "ads", "marketing", "opt_in", T0)])
    # Ana's e-mail matches her; the phone beside it is nobody's in the datamart.
    path = write_csv(tmp_path / "one.csv", [("email", "phone"), (EMAILS["C001"], "+50670000000")])
    result = score_list(datamart, settings, path, "toy_store", as_of=AS_OF, audience_dir=tmp_path)
    google = next(f for f in result.summary.audience if f.platform == "Google Ads Customer Match")
    assert _read(google.path)[1:] == [[sha256_hex(EMAILS["C001"]), ""]]


def _dnc(email: str) -> object:
    import pyarrow as pa

    return pa.table(
        {"entry_id": ["D1"], "kind": ["email"], "value": [email], "list_name": ["robinson"]}
    )


_STATUS = st.sampled_from(["opt_in", "opt_out"])
_ABOUT = st.sampled_from([("ads", "marketing"), ("email", "advertising"), ("email", "marketing"),
                          ("any", None), ("sms", "service")])  # fmt: skip
_HISTORY = st.lists(st.tuples(st.sampled_from(sorted(EMAILS)), _ABOUT, _STATUS,
                              st.integers(0, 60)), max_size=25)  # fmt: skip


def _allowed(history: list[tuple[str, tuple[str, str | None], str, int]]) -> set[str]:
    """An independent reading of the rule: the newest record about advertising decides."""
    newest: dict[str, tuple[int, int, str]] = {}
    for customer, (channel, purpose), status, day in history:
        about = (
            purpose == "advertising"
            or channel == "ads"
            or (channel == "any" and status == "opt_out")
        )
        if not about:
            continue
        rank = (day, status == "opt_out")
        if customer not in newest or rank >= newest[customer][:2]:
            newest[customer] = (*rank, status)  # type: ignore[assignment]
    return {c for c, (_, _, status) in newest.items() if status == "opt_in"}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=_HISTORY)
def test_no_contact_without_advertising_consent_is_ever_written(
    datamart: Datamart, settings: Settings, tmp_path: Path, history: list
) -> None:
    if not datamart.sql("SELECT count(*) FROM customers")[0][0]:
        load_toy_store(datamart, settings)
    datamart.sql("DELETE FROM consents")
    add_consents(datamart, [(c, ch, p, s, T0 + dt.timedelta(days=d))
                            for c, (ch, p), s, d in history])  # fmt: skip
    result = score_list(datamart, settings, _list_of_everyone(tmp_path), "toy_store",
                        as_of=AS_OF, audience_dir=tmp_path / "aud")  # fmt: skip
    allowed = {sha256_hex(EMAILS[c]) for c in _allowed(history)}
    assert _audience_emails(result) == allowed


@pytest.mark.parametrize("platform", ["google", "meta", "yandex"])
def test_hashes_are_lower_case_hex(platform: str) -> None:
    email = {"google": google_email, "meta": meta_email, "yandex": yandex_email}[platform]
    digest = sha256_hex(email("Someone@Example.com"))
    assert digest == digest.lower() and len(digest) == 64
