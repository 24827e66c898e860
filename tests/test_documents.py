from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from verify.documents import parse_document
from verify.errors import DocumentInputError

EXAMPLES = Path(__file__).parent.parent / "examples"


def example(kind: str) -> dict:
    return json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))


@pytest.mark.parametrize("kind", ["judgment_copy", "attendance_proof"])
def test_examples_parse(kind: str):
    document = parse_document(kind, example(kind))
    assert document.type == kind
    assert len(document.digest) == 32


def test_digest_covers_fields_outside_qr():
    data = example("judgment_copy")
    changed = copy.deepcopy(data)
    changed["operative_part"] += " وتحميلها المصروفات."
    first = parse_document("judgment_copy", data).digest
    second = parse_document("judgment_copy", changed).digest
    assert first != second


@pytest.mark.parametrize(
    "text, problem",
    [
        ("عبدالله\u202eنصر", "direction"),
        ("سارة\x00", "cannot be printed"),
        ("نورة 😀", "1F600"),
    ],
)
def test_unprintable_characters_rejected(text: str, problem: str):
    data = example("attendance_proof")
    data["attendee"]["name"] = text
    with pytest.raises(DocumentInputError, match=problem):
        parse_document("attendance_proof", data)


def test_direction_marks_allowed():
    data = example("attendance_proof")
    data["attendee"]["name"] = "نورة\u200f القحطاني"
    assert parse_document("attendance_proof", data).content["attendee"]["name"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("session_start", "0001-01-01T00:00:00+03:00"),
        ("session_end", "9999-01-01T00:00:00+03:00"),
    ],
)
def test_implausible_years_rejected(field: str, value: str):
    data = example("attendance_proof")
    data[field] = value
    with pytest.raises(DocumentInputError, match="year"):
        parse_document("attendance_proof", data)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda data: data.pop("court"), "missing field 'court'"),
        (lambda data: data.update(court="riyadh"), "short code"),
        (lambda data: data.update(case_number=42), "must be a string"),
        (lambda data: data.update(extra="x"), "unknown field 'extra'"),
        (lambda data: data.update(parties=[]), "between 1 and"),
        (lambda data: data["parties"][0].update(role="judge"), "use one of"),
        (lambda data: data.update(judgment_date="18/11/2026"), "date such as"),
        (lambda data: data.update(subject="س" * 5000), "maximum is 4000"),
    ],
)
def test_invalid_judgment_fields(change, message: str):
    data = example("judgment_copy")
    change(data)
    with pytest.raises(DocumentInputError, match=message):
        parse_document("judgment_copy", data)


def test_attendance_time_checks():
    data = example("attendance_proof")
    data["session_end"] = data["session_start"]
    with pytest.raises(DocumentInputError, match="after"):
        parse_document("attendance_proof", data)
    data = example("attendance_proof")
    data["session_start"] = "2026-11-18T09:30:00"
    with pytest.raises(DocumentInputError, match="UTC offset"):
        parse_document("attendance_proof", data)
    data = example("attendance_proof")
    data["attendee"]["national_id"] = "3087654321"
    with pytest.raises(DocumentInputError, match="10 digits"):
        parse_document("attendance_proof", data)


def test_unknown_type_and_non_object():
    with pytest.raises(DocumentInputError, match="unknown document type"):
        parse_document("passport", {})
    with pytest.raises(DocumentInputError, match="JSON object"):
        parse_document("judgment_copy", [])
