"""List hygiene on valid records: role addresses, GDPR countries, repeated addresses.

These judge whether a well-formed record is wise to send to, which the rules report
(SEQ411 lawful basis, SEQ412 list hygiene); they never reject a record. Kept apart from
`fields` because that module decides validity, and from `reference` because these are
judgements made with its lists, not the lists themselves.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from compiler.prospects.records import Record
from compiler.prospects.reference import gdpr_countries, role_local_parts


def normalize_email(email: str) -> str:
    """The key two addresses share when they are the same mailbox for dedupe: trimmed, lower-case."""
    return email.strip().lower()


def is_role_address(email: str) -> bool:
    """True for addresses that reach a function, not a person (`info@`, `sales@`, `noreply@` …)."""
    local, at, _ = email.strip().rpartition("@")
    if not at:
        return False
    return local.split("+", 1)[0].lower() in role_local_parts()


def is_gdpr_country(code: str | None) -> bool:
    """True when the GDPR or the UK GDPR applies to a prospect in this country (EU, EEA, UK)."""
    return isinstance(code, str) and code.strip().upper() in gdpr_countries()


class DuplicateTracker:
    """Remembers normalised emails as records stream by; `first_row` finds repeats."""

    def __init__(self, field_name: str = "email") -> None:
        self.field_name = field_name
        self._seen: dict[str, int] = {}

    def first_row(self, record: Record) -> int | None:
        """The row that first had this record's address, or None (and remember it)."""
        value = record.data.get(self.field_name)
        if not isinstance(value, str):
            return None
        first = self._seen.setdefault(normalize_email(value), record.row)
        return None if first == record.row else first


def duplicates(records: Iterable[Record], field_name: str = "email") -> Iterator[tuple[Record, int]]:
    """(record, first row) for every record whose address an earlier record already had."""
    tracker = DuplicateTracker(field_name)
    for record in records:
        first = tracker.first_row(record)
        if first is not None:
            yield record, first
