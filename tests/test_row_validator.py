"""One CSV record at a time: accepted (E.164 numbers, known fields) or rejected with the reason
and a detail a team lead can act on."""

from __future__ import annotations

from commands.leads.columns import ColumnMap
from commands.leads.reader import Record
from commands.leads.validation import (
    AcceptedRow,
    RejectedRow,
    RejectReason,
    RowValidator,
    ValidationRules,
    to_e164,
)
from dialer.models import MAX_PHONE_NUMBERS

COLUMNS = ColumnMap(
    header=("phone", "mobile", "first_name", "notes"),
    phone_columns=(0, 1),
    field_columns=(("first_name", 2),),
    ignored=("notes",),
)
RULES = ValidationRules(region="GB", max_field_length=600, max_rows=100, max_bytes=10_000)
ANA = "+442071838750"
BEN = "+442079460000"


def check(*cells: str, line: int = 2, validator: RowValidator | None = None) -> object:
    return (validator or RowValidator(COLUMNS, RULES)).check(Record(line, cells))


def test_numbers_become_e164_for_the_region_or_nothing() -> None:
    assert to_e164("020 7183 8750", "GB") == ANA
    assert to_e164("12", "GB") is None
    assert to_e164("not a number", "GB") is None


def test_an_accepted_row_has_its_line_numbers_and_known_fields() -> None:
    row = check("020 7183 8750", "", " Ana ", "ignored", line=7)
    assert row == AcceptedRow(
        line=7, numbers=(ANA,), fields={"first_name": "Ana"}, invalid_numbers=0
    )


def test_blank_fields_and_missing_cells_are_left_out() -> None:
    row = check("020 7183 8750", "", "   ")
    assert isinstance(row, AcceptedRow) and row.fields == {}
    short = check("020 7183 8750")
    assert isinstance(short, AcceptedRow) and short.fields == {} and short.numbers == (ANA,)


def test_a_row_of_blanks_is_rejected_as_empty() -> None:
    row = check("", "  ", "", "")
    assert isinstance(row, RejectedRow)
    assert (row.reason, row.detail, row.line) == (
        RejectReason.EMPTY_ROW,
        "the row has no values",
        2,
    )


def test_a_field_over_the_limit_rejects_the_row_naming_the_column() -> None:
    row = check("020 7183 8750", "", "A" * 1001)
    assert isinstance(row, RejectedRow) and row.reason is RejectReason.FIELD_TOO_LONG
    assert row.detail == "column 'first_name': 1,001 characters, at most 600"
    assert isinstance(check("020 7183 8750", "", "A" * 600), AcceptedRow)


def test_a_long_field_beyond_the_header_is_named_by_its_position() -> None:
    row = check("020 7183 8750", "", "", "", "B" * 601)
    assert isinstance(row, RejectedRow) and row.detail.startswith("column 5: 601 characters")
    unnamed = ColumnMap(header=("phone", " "), phone_columns=(0,), field_columns=(), ignored=())
    row = RowValidator(unnamed, RULES).check(Record(2, ("020 7183 8750", "C" * 700)))
    assert isinstance(row, RejectedRow) and row.detail.startswith("column 2: 700 characters")


def test_no_valid_number_says_what_was_there() -> None:
    row = check("12", "abc", "Ana")
    assert isinstance(row, RejectedRow) and row.reason is RejectReason.NO_VALID_NUMBER
    assert row.detail == 'not a valid number for region GB: "12", "abc"'
    nothing = check("", "", "Ana")
    assert isinstance(nothing, RejectedRow) and nothing.detail == "no phone number given"


def test_the_detail_shows_three_invalid_numbers_each_cut_short() -> None:
    row = check("1; 2; 3; 4", "9" * 80)
    assert isinstance(row, RejectedRow)
    assert row.detail == 'not a valid number for region GB: "1", "2", "3"'
    long = check("9" * 80)
    assert isinstance(long, RejectedRow) and f'"{"9" * 60}"' in long.detail
    assert f'"{"9" * 61}"' not in long.detail


def test_several_numbers_in_cells_count_each_once_in_order() -> None:
    row = check("020 7183 8750; 020 7946 0000", "020 7183 8750 | ", "Ana")
    assert isinstance(row, AcceptedRow) and row.numbers == (ANA, BEN)


def test_an_invalid_number_beside_a_valid_one_is_counted() -> None:
    row = check("020 7183 8750, 12", "xyz")
    assert isinstance(row, AcceptedRow) and row.invalid_numbers == 2


def test_more_numbers_than_a_contact_takes_reject_the_row() -> None:
    many = [f"020 7946 {n:04d}" for n in range(MAX_PHONE_NUMBERS + 1)]
    row = check("; ".join(many))
    assert isinstance(row, RejectedRow) and row.reason is RejectReason.TOO_MANY_NUMBERS
    assert row.detail == f"{MAX_PHONE_NUMBERS + 1} numbers; a contact takes at most 30"
    assert isinstance(check("; ".join(many[:MAX_PHONE_NUMBERS])), AcceptedRow)


def test_a_number_on_an_earlier_accepted_row_rejects_the_later_one() -> None:
    validator = RowValidator(COLUMNS, RULES)
    assert isinstance(check("020 7183 8750", validator=validator), AcceptedRow)
    row = check("020 7946 0000", "+44 20 7183 8750", line=3, validator=validator)
    assert isinstance(row, RejectedRow) and row.reason is RejectReason.DUPLICATE_NUMBER
    assert row.detail == f"{ANA} is already on an earlier row"
    # A rejected row's numbers are not remembered: BEN is still new.
    assert isinstance(check("020 7946 0000", line=4, validator=validator), AcceptedRow)


def test_rejected_rows_keep_their_cells_for_the_rejects_file() -> None:
    row = check("12", "", "Ana", line=9)
    assert isinstance(row, RejectedRow) and row.cells == ("12", "", "Ana") and row.line == 9


def test_reasons_have_labels_for_people() -> None:
    assert RejectReason.TOO_MANY_NUMBERS.label == "more than 30 phone numbers"
    assert RejectReason.DUPLICATE_NUMBER.label == "phone number already in the file"
