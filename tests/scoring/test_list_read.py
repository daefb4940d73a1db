"""Reading contact lists: formats, column detection, normalisation, duplicates, bad input."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientela.errors import DataError
from clientela.scoring._list_columns import detect_columns, header_kind
from clientela.scoring.lists import list_phone, read_contact_list
from tests.scoring._list_data import CRM_ROWS, write_csv

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Email", "email"), ("E-mail Address", "email"), ("E-mail 1 - Value", "email"),
        ("Primary Email", "email"), ("email_address", "email"), ("Correo electrónico", "email"),
        ("Courriel", "email"), ("E-Mail-Adresse", "email"), ("Эл. почта", "email"),
        ("Phone", "phone"), ("Mobile Phone", "phone"), ("Phone 1 - Value", "phone"),
        ("phone_number", "phone"), ("Teléfono", "phone"), ("Téléphone portable", "phone"),
        ("Telefonnummer", "phone"), ("Handy", "phone"), ("Номер телефона", "phone"),
        ("Celular", "phone"), ("Cell", "phone"),
        ("Name", None), ("Phone 1 - Type", None), ("Email Opt Out", None), ("Fax", None),
        ("Mailing Street", None), ("Telegram", None), ("Phone Country Code", None),
    ],
)  # fmt: skip
def test_headers_in_several_languages_and_crm_exports(header: str, kind: str | None) -> None:
    assert header_kind(header) == kind


def test_columns_without_telling_headers_are_recognised_by_their_values() -> None:
    columns = detect_columns(
        ["who", "contact", "number"],
        [
            ["Ann", "Bob"],
            ["ann@example.com", "bob@example.com"],
            ["+44 7911 123456", "07911123457"],
        ],
    )
    assert (columns.email, columns.phone, columns.by_content) == ((1,), (2,), True)


def test_a_crm_export_is_normalised_and_its_duplicates_merged(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    contacts = read_contact_list(path, region="CR")
    assert contacts.name == "crm"
    assert contacts.email_columns == ("Correo electrónico",)
    assert contacts.phone_columns == ("Teléfono",)
    assert contacts.rows == 11
    assert contacts.duplicates == 1
    assert contacts.size == 10
    table = contacts.contacts.to_pylist()
    ana = table[0]
    assert (ana["contact"], ana["email"], ana["phone"], ana["rows"]) == (
        "ana.mora@example.cr", "ana.mora@example.cr", "+50688010001", 2,
    )  # fmt: skip
    by_name = {row["contact"]: row for row in table}
    assert by_name["+50688010002"]["phone_raw"] == "8801 0002"
    assert by_name["+50688010004"]["line"] == 5
    assert by_name["line 11"]["problem"] == "no e-mail or phone"
    assert by_name["no-es-un-correo"]["problem"] == (
        "'no-es-un-correo' is not an e-mail address; '12' is not a valid phone number (read in "
        "region CR)"
    )


def test_phones_in_local_formats_are_read_in_the_region(tmp_path: Path) -> None:
    rows = [("Phone",), ("07911 123456",), ("(0)7911-123457",), ("+44 7911 123458",)]
    contacts = read_contact_list(write_csv(tmp_path / "uk.csv", rows), region="gb")
    assert contacts.contacts.column("phone").to_pylist() == [
        "+447911123456", "+447911123457", "+447911123458",
    ]  # fmt: skip
    assert contacts.local_phones == 2
    assert contacts.region == "GB"
    # The same local numbers read in another region are not numbers there.
    spanish = read_contact_list(write_csv(tmp_path / "es.csv", rows[:2]), region="ES")
    assert spanish.contacts.column("phone").to_pylist() == [None]
    assert spanish.contacts.column("problem").to_pylist() == [
        "'07911 123456' is not a valid phone number (read in region ES)"
    ]


def test_international_digits_without_plus_are_read_as_international() -> None:
    assert list_phone("79995551111", "GB") == ("+79995551111", False)
    assert list_phone("8801 0002", "CR") == ("+50688010002", True)
    with pytest.raises(ValueError, match="is not a valid phone number"):
        list_phone("12345", "GB")


def test_rows_sharing_an_email_or_a_phone_are_one_contact_transitively(tmp_path: Path) -> None:
    rows = [
        ("email", "phone"),
        ("a@example.com", ""),
        ("", "+447911123456"),
        ("A@Example.com", "+447911123456"),  # joins the two rows above into one contact
        ("b@example.com", ""),
        ("b@example.com", ""),
    ]
    contacts = read_contact_list(write_csv(tmp_path / "dups.csv", rows), region="GB")
    assert contacts.size == 2
    assert contacts.duplicates == 3
    first = contacts.contacts.to_pylist()[0]
    assert (first["email"], first["phone"], first["rows"]) == ("a@example.com", "+447911123456", 3)
    keys = {(k["contact_no"], k["value"]) for k in contacts.keys.to_pylist()}
    assert keys == {(0, "a@example.com"), (0, "+447911123456"), (1, "b@example.com")}


def test_xlsx_and_xls_workbooks(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Email", "Mobile"])
    sheet.append(["Jorge", "jorge.castro@example.cr", 50688010006])
    sheet.append([None, None, None])
    sheet.append(["Elena", None, "+506 8801 0007"])
    book.save(tmp_path / "list.xlsx")
    xlsx = read_contact_list(tmp_path / "list.xlsx", region="CR")
    assert xlsx.contacts.column("contact").to_pylist() == [
        "jorge.castro@example.cr", "+50688010007",
    ]  # fmt: skip
    assert xlsx.contacts.column("phone").to_pylist() == ["+50688010006", "+50688010007"]
    # A legacy .xls written by LibreOffice; phones stored as numbers.
    xls = read_contact_list(DATA / "crm_export.xls", region="CR")
    assert xls.contacts.to_pylist()[0]["email"] == "jorge.castro@example.cr"
    assert xls.contacts.column("phone").to_pylist() == ["+50688010006", "+50688010007", None]
    assert xls.contacts.column("line").to_pylist() == [2, 3, 4]


def test_a_list_without_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "emails.txt"
    path.write_text("ann@example.com\nbob@example.com\n", encoding="utf-8")
    contacts = read_contact_list(path, region="GB")
    assert contacts.contacts.column("email").to_pylist() == ["ann@example.com", "bob@example.com"]
    assert contacts.contacts.column("line").to_pylist() == [1, 2]


def test_semicolons_and_a_windows_code_page(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("Nom;Adresse e-mail;Téléphone\nRené;rene@example.fr;+33 6 12 34 56 78\n"
                     .encode("cp1252"))  # fmt: skip
    contacts = read_contact_list(path, region="FR")
    assert contacts.contacts.to_pylist()[0]["phone"] == "+33612345678"
    assert contacts.email_columns == ("Adresse e-mail",)


# -- bad input ----------------------------------------------------------------------------------


def test_a_list_without_any_email_or_phone_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "names.csv", [("Name", "City"), ("Ann", "Leeds"), ("Bob", "York")])
    with pytest.raises(DataError) as error:
        read_contact_list(path, region="GB")
    assert str(error.value) == (
        f"{path}: no e-mail or phone column in the list: name a column 'email' or 'phone' (or "
        "'E-mail Address', 'Mobile Phone', 'Telefon', ...); the columns are: 'Name', 'City'"
    )


def test_an_empty_list(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"the list is empty: it holds no contacts$"):
        read_contact_list(empty, region="GB")
    header_only = write_csv(tmp_path / "header.csv", [("email", "phone")])
    with pytest.raises(DataError) as error:
        read_contact_list(header_only, region="GB")
    assert (
        str(error.value)
        == f"{header_only}: the list is empty: it holds no contacts (only a header)"
    )


def test_a_missing_file_and_a_misnamed_workbook(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the list file does not exist"):
        read_contact_list(tmp_path / "nope.csv", region="GB")
    book = openpyxl.Workbook()
    book.save(tmp_path / "list.xls")
    with pytest.raises(DataError, match=r"is an XLSX workbook but is named 'list\.xls'"):
        read_contact_list(tmp_path / "list.xls", region="GB")


# -- invariants ---------------------------------------------------------------------------------

_EMAILS = st.sampled_from(
    ["", "a@example.com", "B@example.com", "b@example.com", "junk", "c@x.org"]
)
_PHONES = st.sampled_from(
    ["", "07911 123456", "+447911123456", "+447911123457", "12", "447911123458"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_EMAILS, _PHONES), min_size=1, max_size=25))
def test_every_row_lands_in_exactly_one_contact(
    tmp_path: Path, rows: list[tuple[str, str]]
) -> None:
    path = write_csv(tmp_path / "prop.csv", [("email", "phone"), *rows])
    contacts = read_contact_list(path, region="GB")
    table = contacts.contacts.to_pylist()
    assert sum(c["rows"] for c in table) == len(rows) == contacts.rows
    assert contacts.size == len(rows) - contacts.duplicates
    assert len({c["contact"] for c in table}) == contacts.size
    # No two contacts share a key: a shared e-mail or phone is one contact.
    values = [(k["kind"], k["value"]) for k in contacts.keys.to_pylist()]
    assert len(values) == len(set(values))
