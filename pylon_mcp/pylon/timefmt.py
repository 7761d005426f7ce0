"""RFC3339 timestamps, the only time format Pylon's API accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Python's fromisoformat accepts much more than RFC3339 (no offset, week dates, ...).
# Pylon parses with Go's time.RFC3339, which needs a full date, time and offset.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
)


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC3339 timestamp into an aware datetime; ValueError says why not."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            f"{value!r} is not an RFC3339 timestamp; use e.g. 2026-05-01T09:30:00Z "
            "(date, 'T', time, and 'Z' or an offset like +02:00)"
        )
    text = value.upper().replace("Z", "+00:00")
    # Python keeps microseconds only; Go-style nanoseconds are cut, not rejected.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:  # e.g. month 13
        raise ValueError(f"{value!r} is not a valid date/time: {exc}") from None


def format_rfc3339(moment: datetime) -> str:
    """UTC, second precision unless there are fractions, `Z` suffix."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; attach a timezone")
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)
