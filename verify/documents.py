"""Document types, their input fields, and the content digest.

A document is the validated content staff submit (the JSON in `examples/`). Its
SHA-256 digest covers every field, including those that are not copied into the QR
code, so the registry and the online check can tell the original from an altered one.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from verify.errors import DocumentInputError

__all__ = [
    "CAPACITIES",
    "DOCUMENT_TYPES",
    "PARTY_ROLES",
    "Document",
    "DocumentType",
    "mask_national_id",
    "parse_document",
]


@dataclass(frozen=True)
class DocumentType:
    name: str
    code: int
    """Integer that stands for the type inside the signed payload."""
    valid_for: timedelta | None
    """How long a document of this type stays valid after issuance; None: no expiry."""
    title_ar: str
    title_en: str


DOCUMENT_TYPES: dict[str, DocumentType] = {
    "judgment_copy": DocumentType(
        "judgment_copy",
        1,
        None,
        "صورة حكم غير تنفيذية",
        "Judgment copy (non-executive)",
    ),
    "attendance_proof": DocumentType(
        "attendance_proof",
        2,
        timedelta(days=365),
        "إثبات حضور جلسة",
        "Hearing attendance proof",
    ),
}

PARTY_ROLES = ("plaintiff", "defendant", "intervener")
CAPACITIES = ("plaintiff", "defendant", "attorney", "agent", "witness", "expert")

# Untrusted text lengths, in characters: long enough for real names and case
# numbers, short enough that the QR code stays printable.
MAX_NAME_CHARS = 80
MAX_CODE_CHARS = 16
MAX_TEXT_CHARS = 4000
MAX_PARTIES = 6

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
_NATIONAL_ID = re.compile(r"^[12]\d{9}$")


@dataclass(frozen=True)
class Document:
    """Validated content of one document, before it gets an id and a signature."""

    type: str
    content: dict[str, Any]

    @property
    def digest(self) -> bytes:
        """SHA-256 of the canonical JSON of the type and every content field."""
        canonical = json.dumps(
            {"type": self.type, "content": self.content},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).digest()

    @property
    def document_type(self) -> DocumentType:
        return DOCUMENT_TYPES[self.type]


def mask_national_id(national_id: str) -> str:
    """Hide all but the last four digits of a national id number."""
    return "*" * (len(national_id) - 4) + national_id[-4:]


def parse_document(doc_type: str, data: Any) -> Document:
    """Validate staff input for a document of `doc_type` and return its content."""
    if doc_type not in DOCUMENT_TYPES:
        known = ", ".join(DOCUMENT_TYPES)
        raise DocumentInputError(
            f"unknown document type {doc_type!r}; use one of: {known}"
        )
    if not isinstance(data, Mapping):
        raise DocumentInputError("document input must be a JSON object")
    fields = _Fields(data)
    content: dict[str, Any] = {
        "court": fields.code("court"),
        "circuit": fields.code("circuit"),
        "case_number": fields.text("case_number", MAX_NAME_CHARS),
    }
    if doc_type == "judgment_copy":
        content |= _judgment_fields(fields)
    else:
        content |= _attendance_fields(fields)
    fields.reject_unknown()
    return Document(doc_type, content)


def _judgment_fields(fields: _Fields) -> dict[str, Any]:
    parties = fields.get("parties", list)
    if not parties or len(parties) > MAX_PARTIES:
        raise DocumentInputError(
            f"'parties' must list between 1 and {MAX_PARTIES} parties"
        )
    checked = []
    for position, party in enumerate(parties, start=1):
        party_fields = _Fields(party, f"parties[{position}]")
        checked.append(
            {
                "role": party_fields.choice("role", PARTY_ROLES),
                "name": party_fields.text("name", MAX_NAME_CHARS),
            }
        )
        party_fields.reject_unknown()
    judges = fields.get("judges", list)
    if not judges or not all(isinstance(judge, str) and judge for judge in judges):
        raise DocumentInputError("'judges' must be a list of the judges' names")
    return {
        "judgment_date": fields.date("judgment_date").isoformat(),
        "parties": checked,
        "subject": fields.text("subject", MAX_TEXT_CHARS),
        "operative_part": fields.text("operative_part", MAX_TEXT_CHARS),
        "judges": [judge.strip() for judge in judges],
    }


def _attendance_fields(fields: _Fields) -> dict[str, Any]:
    attendee = _Fields(fields.get("attendee", dict), "attendee")
    national_id = attendee.text("national_id", 10)
    if not _NATIONAL_ID.match(national_id):
        raise DocumentInputError(
            "'attendee.national_id' must be 10 digits starting with 1 or 2"
        )
    start = fields.datetime("session_start")
    end = fields.datetime("session_end")
    if end <= start:
        raise DocumentInputError("'session_end' must be after 'session_start'")
    person = {
        "name": attendee.text("name", MAX_NAME_CHARS),
        "capacity": attendee.choice("capacity", CAPACITIES),
        "national_id": national_id,
    }
    attendee.reject_unknown()
    return {
        "attendee": person,
        "session_start": start.isoformat(),
        "session_end": end.isoformat(),
        "hall": fields.text("hall", MAX_NAME_CHARS),
        "purpose": fields.text("purpose", MAX_TEXT_CHARS),
    }


class _Fields:
    """Typed access to one JSON object, with errors that name the field."""

    def __init__(self, data: Any, where: str = "") -> None:
        if not isinstance(data, Mapping):
            raise DocumentInputError(f"'{where}' must be a JSON object")
        self._data = data
        self._where = where
        self._used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def get(self, key: str, kind: type) -> Any:
        self._used.add(key)
        if key not in self._data:
            raise DocumentInputError(f"missing field '{self._name(key)}'")
        value = self._data[key]
        if not isinstance(value, kind):
            raise DocumentInputError(
                f"field '{self._name(key)}' must be a {_JSON_NAMES[kind]}"
            )
        return value

    def text(self, key: str, max_chars: int) -> str:
        value = " ".join(self.get(key, str).split())
        if not value:
            raise DocumentInputError(f"field '{self._name(key)}' is empty")
        unprintable = sorted({char for char in value if not _printable(char)})
        if unprintable:
            shown = ", ".join(f"U+{ord(char):04X}" for char in unprintable[:3])
            raise DocumentInputError(
                f"field '{self._name(key)}' contains characters that cannot be printed"
                f" or that change the text's direction ({shown}); remove them"
            )
        if len(value) > max_chars:
            raise DocumentInputError(
                f"field '{self._name(key)}' has {len(value)} characters;"
                f" the maximum is {max_chars}"
            )
        return value

    def code(self, key: str) -> str:
        value = self.text(key, MAX_CODE_CHARS)
        if not _CODE.match(value):
            raise DocumentInputError(
                f"field '{self._name(key)}' must be a short code of capital letters,"
                f" digits and hyphens, such as RYD-ADM; got {value!r}"
            )
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, str)
        if value not in choices:
            raise DocumentInputError(
                f"field '{self._name(key)}' is {value!r}; use one of: "
                + ", ".join(choices)
            )
        return str(value)

    def date(self, key: str) -> date:
        value = self.get(key, str)
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise DocumentInputError(
                f"field '{self._name(key)}' must be a date such as 2026-11-18;"
                f" got {value!r}"
            ) from None
        _check_year(self._name(key), parsed.year)
        return parsed

    def datetime(self, key: str) -> datetime:
        value = self.get(key, str)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise DocumentInputError(
                f"field '{self._name(key)}' must be a date and time with a UTC offset,"
                f" such as 2026-11-18T09:30:00+03:00; got {value!r}"
            )
        _check_year(self._name(key), parsed.year)
        return parsed.replace(second=0, microsecond=0)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            names = ", ".join(repr(self._name(key)) for key in unknown)
            raise DocumentInputError(
                f"unknown field {names}; remove it or fix its name"
            )


# Dates a court document can carry; anything else is a typing mistake.
MIN_YEAR, MAX_YEAR = 1950, 2100
# Explicit bidirectional embeddings, overrides and isolates: they can make printed
# text read differently from the signed text.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width non-joiner and joiner, and the left-to-right and right-to-left marks:
# common in Arabic text pasted from word processors, and they reorder nothing.
_JOINERS_AND_MARKS = set("\u200c\u200d\u200e\u200f")


def _check_year(name: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DocumentInputError(
            f"field '{name}' has the year {year}; use a year from {MIN_YEAR}"
            f" to {MAX_YEAR}"
        )


def _printable(char: str) -> bool:
    """Return whether the PDF fonts print `char` without hiding or reordering text."""
    if char in _BIDI_CONTROLS or ord(char) > 0xFFFF:
        return False
    if char in _JOINERS_AND_MARKS:
        return True
    # Control, format, surrogate, private-use and unassigned characters, and
    # symbols such as emoji, which the Arabic fonts do not have.
    return unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "So"}


_JSON_NAMES: dict[type, str] = {str: "string", list: "list", dict: "JSON object"}
