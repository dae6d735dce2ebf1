"""Reading and checking leads files: encodings, delimiters, headers, every rejection reason."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from commands.leads.errors import FileTooLarge, NoPhoneColumn, TooManyRows, UnreadableCsv
from commands.leads.progress import render_validation
from commands.leads.reader import CsvReader
from commands.leads.refs import contact_number, contact_ref
from commands.leads.rejects import inert
from commands.leads.scan import ValidationReport, accepted_contacts, rules_from, validate_leads
from commands.leads.seen import SeenNumbers, e164_key
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.validation import RejectReason
from dialer.models import Contact

SETTINGS = LeadsSettings(default_region="US")
REF = "c-20261123-7kq2"


def source(tmp_path: Path, data: bytes | str, *, chunk_bytes: int = 64 * 1024) -> FileSource:
    path = tmp_path / "leads.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return FileSource(path, chunk_bytes=chunk_bytes)


async def check(
    tmp_path: Path, data: bytes | str, settings: LeadsSettings = SETTINGS, chunk_bytes: int = 7
) -> tuple[ValidationReport, list[list[str]]]:
    """Validate with tiny chunks (so records straddle chunk edges); return the rejected CSV."""
    out = io.StringIO()
    report = await validate_leads(
        source(tmp_path, data, chunk_bytes=chunk_bytes), settings, rejected_out=out
    )
    return report, list(csv.reader(io.StringIO(out.getvalue())))


async def contacts(tmp_path: Path, data: bytes | str, chunk_bytes: int = 7) -> list[Contact]:
    src = source(tmp_path, data, chunk_bytes=chunk_bytes)
    return [c async for c in accepted_contacts(src, REF, rules_from(SETTINGS))]


async def test_numbers_are_normalised_to_e164_with_the_default_region(tmp_path: Path) -> None:
    data = "name,phone\nAna,(212) 555-0199\nBo,+44 20 7946 0958\nCy,1-415-555-0100\n"
    found = await contacts(tmp_path, data)
    assert [c.phone_numbers for c in found] == [
        ("+12125550199",),
        ("+442079460958",),
        ("+14155550100",),
    ]
    assert found[0].fields == {"name": "Ana"}


async def test_the_default_region_decides_national_numbers(tmp_path: Path) -> None:
    data = "phone\n020 7946 0958\n"
    us, _ = await check(tmp_path, data)
    gb, _ = await check(tmp_path, data, LeadsSettings(default_region="gb"))
    assert (us.accepted, gb.accepted) == (0, 1)


def test_an_unknown_region_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="region"):
        LeadsSettings(default_region="XX")


async def test_row_without_a_valid_number_is_rejected_with_what_was_there(tmp_path: Path) -> None:
    report, rows = await check(tmp_path, "name,phone\nAna,12345\nBo,\nCy,212 555 0199\n")
    assert report.accepted == 1
    assert report.rejected == {RejectReason.NO_VALID_NUMBER: 2}
    assert rows[1][:3] == [
        "2",
        "no valid phone number",
        'not a valid number for region US: "12345"',
    ]
    assert rows[2][:3] == ["3", "no valid phone number", "no phone number given"]


async def test_empty_row_is_rejected_but_blank_lines_are_skipped(tmp_path: Path) -> None:
    report, rows = await check(tmp_path, "name,phone\n\n , \n\nAna,212 555 0199\n\n")
    assert report.rows == 2
    assert report.rejected == {RejectReason.EMPTY_ROW: 1}
    assert rows[1][:2] == ["3", "empty row"]


async def test_an_over_long_field_rejects_its_row(tmp_path: Path) -> None:
    settings = LeadsSettings(max_field_length=15)
    data = "name,phone\nAnastasia Papadopoulou,212 555 0199\nAna,212 555 0198\n"
    report, rows = await check(tmp_path, data, settings)
    assert report.rejected == {RejectReason.FIELD_TOO_LONG: 1}
    assert report.accepted == 1
    assert rows[1][:3] == ["2", "field too long", "column 'name': 22 characters, at most 15"]


async def test_a_number_already_in_the_file_rejects_the_later_row(tmp_path: Path) -> None:
    data = (
        "name,phone,phone2\n"
        "Ana,212 555 0199,\n"
        "Bo,(212) 555-0199,415 555 0100\n"  # shares Ana's number: rejected
        "Cy,415 555 0100,\n"  # Bo was rejected, so this number is still free
        "Di,212 555 0197,212-555-0197\n"  # the same number twice in one row is one number
    )
    report, rows = await check(tmp_path, data)
    assert report.rejected == {RejectReason.DUPLICATE_NUMBER: 1}
    assert rows[1][:3] == [
        "3",
        "phone number already in the file",
        "'+12125550199 is already on an earlier row",
    ]
    found = await contacts(tmp_path, data)
    assert [c.fields["name"] for c in found] == ["Ana", "Cy", "Di"]
    assert found[2].phone_numbers == ("+12125550197",)


def numbers_row(count: int) -> tuple[str, str]:
    header = ",".join(f"phone{i}" for i in range(1, count + 1))
    row = ",".join(f"212 555 {i:04d}" for i in range(1, count + 1))
    return header, row


async def test_thirty_numbers_make_one_contact(tmp_path: Path) -> None:
    header, row = numbers_row(30)
    found = await contacts(tmp_path, f"{header}\n{row}\n")
    assert len(found) == 1
    assert len(found[0].phone_numbers) == 30


async def test_thirty_one_numbers_reject_the_row(tmp_path: Path) -> None:
    header, row = numbers_row(31)
    report, rows = await check(tmp_path, f"{header}\n{row}\n212 555 9999\n")
    assert report.rejected == {RejectReason.TOO_MANY_NUMBERS: 1}
    assert rows[1][:3] == [
        "2",
        "more than 30 phone numbers",
        "31 numbers; a contact takes at most 30",
    ]


async def test_several_numbers_in_one_cell_count_each(tmp_path: Path) -> None:
    cell = "; ".join(f"212 555 {i:04d}" for i in range(1, 32))
    report, _ = await check(tmp_path, f'phone\n"{cell}"\n"212 555 0001, 212 555 0002"\n')
    assert report.rejected == {RejectReason.TOO_MANY_NUMBERS: 1}
    assert report.accepted == 1


async def test_an_invalid_number_beside_a_valid_one_is_left_out_and_counted(
    tmp_path: Path,
) -> None:
    report, _ = await check(tmp_path, "phone,mobile\n212 555 0199,555\n")
    assert (report.accepted, report.invalid_numbers_left_out) == (1, 1)
    assert "1 invalid numbers were left out" in render_validation(report)


async def test_utf8_with_bom_finds_the_first_header_column(tmp_path: Path) -> None:
    data = "Phone,Name\n212 555 0199,Zoë\n".encode("utf-8-sig")
    report, _ = await check(tmp_path, data)
    assert (report.encoding, report.encoding_note, report.phone_columns) == (
        "utf-8-sig",
        None,
        ("Phone",),
    )
    assert (await contacts(tmp_path, data))[0].fields == {"name": "Zoë"}


async def test_cp1252_is_read_with_a_note(tmp_path: Path) -> None:
    data = "Name;Phone\nJosé Müller;212 555 0199\n".encode("cp1252")
    report, _ = await check(tmp_path, data)
    assert report.encoding == "cp1252"
    assert report.encoding_note is not None and "Windows-1252" in report.encoding_note
    assert (await contacts(tmp_path, data))[0].fields == {"name": "José Müller"}


async def test_cp1252_after_a_long_ascii_start_decodes_the_same_whatever_the_chunks(
    tmp_path: Path,
) -> None:
    rows = "".join(f"Lead {i},212 555 {i:04d}\n" for i in range(1, 5000))
    data = ("name,phone\n" + rows + "Renée,212 555 9999\n").encode("cp1252")
    small = await contacts(tmp_path, data, chunk_bytes=13)
    large = await contacts(tmp_path, data, chunk_bytes=64 * 1024)
    assert small == large
    assert small[-1].fields == {"name": "Renée"}


async def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    data = "phone\tname\r\n212 555 0199\tŁucja\r\n".encode("utf-16")
    assert (await contacts(tmp_path, data))[0].fields == {"name": "Łucja"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
async def test_the_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    data = f"First Name{d}Last Name{d}Phone{d}Account\r\nAna{d}Lima{d}212 555 0199{d}A-1\r\n"
    report, _ = await check(tmp_path, data)
    assert report.delimiter == delimiter
    found = await contacts(tmp_path, data)
    assert found[0].fields == {"first_name": "Ana", "last_name": "Lima", "account": "A-1"}


@pytest.mark.parametrize(
    "header",
    ["phone", "PHONE", "Phone 1", "phone_2", "Phone #3", "Mobile", "Mobile Number", "cell",
     "Cell Phone", "Telephone", "tel", "Number", "Phone Number"],
)  # fmt: skip
async def test_phone_columns_are_found_by_common_names(tmp_path: Path, header: str) -> None:
    report, _ = await check(tmp_path, f"Email,{header}\na@example.com,212 555 0199\n")
    assert report.phone_columns == (header,)
    assert report.field_columns == ("email",)


async def test_field_columns_are_found_by_common_names(tmp_path: Path) -> None:
    data = (
        "E-mail,SURNAME,first_name,Account Number,Full Name,Notes,phone\ne,s,f,a,n,x,2125550199\n"
    )
    found = await contacts(tmp_path, data)
    assert found[0].fields == {
        "email": "e", "last_name": "s", "first_name": "f", "account": "a", "name": "n",
    }  # fmt: skip
    report, _ = await check(tmp_path, data)
    assert report.ignored_columns == ("Notes",)


async def test_a_file_without_a_phone_column_is_refused_naming_the_columns(tmp_path: Path) -> None:
    with pytest.raises(NoPhoneColumn, match=r"Name one `phone`.*Name, Email"):
        await check(tmp_path, "Name,Email\nAna,a@example.com\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b"name,phone\n", "header line but no rows"),
        (b"PK\x03\x04\x14\x00binary", "spreadsheet workbook"),
        (b"phone\n\x00\x00\x00\n", "binary data"),
    ],
)
async def test_unusable_files_are_refused_clearly(
    tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(UnreadableCsv, match=message):
        await check(tmp_path, data)


async def test_a_quote_that_never_closes_is_refused_with_its_line(tmp_path: Path) -> None:
    data = 'name,phone\nAna,212 555 0199\n"Bo,212 555 0198\n' + "x\n" * 200
    reader = CsvReader(source(tmp_path, data).chunks(), max_bytes=10**6, max_record_chars=100)
    with pytest.raises(UnreadableCsv, match="Line 3: a quote mark opens a field"):
        async for _ in reader.records():
            pass


async def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    data = "phone\n" + "".join(f"212 555 {i:04d}\n" for i in range(6))
    with pytest.raises(TooManyRows, match="more than 5 rows"):
        await check(tmp_path, data, LeadsSettings(max_rows=5))


async def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    data = "phone\n" + "".join(f"212 555 {i:04d}\n" for i in range(100))
    with pytest.raises(FileTooLarge, match=r"larger than 0\.0 MB"):
        await check(tmp_path, data, LeadsSettings(max_file_bytes=500))


async def test_quoted_fields_keep_line_breaks_and_quotes_and_lines_stay_right(
    tmp_path: Path,
) -> None:
    data = 'name,phone\r\n"Ana ""Nan""\r\nLima",212 555 0199\r\n"Bo, Jr",12\r\n'
    report, rows = await check(tmp_path, data, chunk_bytes=3)
    assert rows[1][:2] == ["4", "no valid phone number"]
    assert rows[1][3:] == ["Bo, Jr", "12"]
    found = await contacts(tmp_path, data, chunk_bytes=3)
    assert found[0].fields == {"name": 'Ana "Nan"\r\nLima'}
    assert report.accepted == 1


async def test_old_mac_line_endings_are_read(tmp_path: Path) -> None:
    found = await contacts(tmp_path, "phone\r212 555 0199\r212 555 0198\r")
    assert len(found) == 2


async def test_rejected_rows_csv_makes_formulas_inert(tmp_path: Path) -> None:
    data = 'name,phone,email\n=HYPERLINK("http://x"),123,@SUM(A1)\n+1,-2,\tTAB\n'
    _, rows = await check(tmp_path, data)
    assert rows[0] == ["line", "reason", "detail", "name", "phone", "email"]
    assert rows[1][3:] == ['\'=HYPERLINK("http://x")', "123", "'@SUM(A1)"]
    assert rows[2][3:] == ["'+1", "'-2", "'\tTAB"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1"])
def test_cells_that_spreadsheets_would_run_get_an_apostrophe(cell: str) -> None:
    assert inert(cell) == "'" + cell
    assert inert("Ana") == "Ana"


async def test_contacts_are_numbered_in_accepted_order_and_the_same_on_every_pass(
    tmp_path: Path,
) -> None:
    data = "phone\n212 555 0199\nnope\n212 555 0198\n\n212 555 0197\n"
    first = await contacts(tmp_path, data, chunk_bytes=5)
    again = await contacts(tmp_path, data, chunk_bytes=4096)
    assert [c.ref for c in first] == [f"{REF}-1", f"{REF}-2", f"{REF}-3"]
    assert [c.phone_numbers[0] for c in first] == ["+12125550199", "+12125550198", "+12125550197"]
    assert first == again


def test_contact_refs_are_prefixed_by_the_campaign_and_safe_for_every_dialer() -> None:
    assert contact_ref(REF, 42) == f"{REF}-42"
    assert contact_number(REF, f"{REF}-42") == 42
    assert contact_number(REF, "c-20261123-other-42") is None
    assert contact_number(REF, f"{REF}-042") is None
    with pytest.raises(ValueError, match="numbered from 1"):
        contact_ref(REF, 0)
    with pytest.raises(ValueError, match="characters"):
        contact_ref("c 1/2", 1)
    with pytest.raises(ValueError, match="longer than 230"):
        contact_ref("c" * 229, 1)
    assert len(contact_ref("c" * 228, 1)) == 230


def test_seen_numbers_remember_every_number_through_growth() -> None:
    seen = SeenNumbers(capacity=4)
    keys = [e164_key(f"+1212555{i:04d}") for i in range(5000)]
    for key in keys:
        seen.add(key)
        seen.add(key)
    assert len(seen) == 5000
    assert all(key in seen for key in keys)
    assert e164_key("+12125559999") not in seen


async def test_validation_text_summarises_reasons_and_asks_to_continue(tmp_path: Path) -> None:
    report, _ = await check(tmp_path, "name,phone\nAna,212 555 0199\nBo,1\n,\n")
    text = render_validation(report)
    assert "3 rows read: 1 accepted, 2 rejected." in text
    assert "• no valid phone number: 1" in text and "• empty row: 1" in text
    assert "line 3: not a valid number" in text
    assert text.endswith("Upload the 1 good rows and leave the rest out?")
    assert report.needs_confirmation
