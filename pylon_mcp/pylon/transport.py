"""What every endpoint method shares with the transport: the retry rule of a request, the decoded
envelope it gets back, and an issue ID or number as a safe path segment.

The endpoint mixins (directory.py, messages.py, customers.py, knowledge.py) import these from
here, below client.py, which builds PylonClient from them: so `pylon/` has no import circle.
The sending itself (retries, cooldown, redaction, errors) is PylonClient._request in client.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import Pagination

_ISSUE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$", re.ASCII)


def issue_ref(issue_id: str | int) -> str:
    """An issue ID or number as a safe path segment (no `/`, `..`, spaces or query)."""
    ref = str(issue_id).strip()
    if ref.startswith("#") and ref[1:].isdigit():
        ref = ref[1:]
    # Pylon's IDs are machine-made (UUIDs) and always carry digits; a bare word such as
    # "search" or "followers" would otherwise reach another endpoint's path.
    if not _ISSUE_REF.match(ref) or not any(ch.isdigit() for ch in ref):
        raise InvalidRequest(
            f"issue_id {str(issue_id)[:80]!r} is neither an issue ID nor an issue number "
            "(numbers are digits, e.g. 42; IDs look like 6f1c2a9e-...; search_issues finds an issue by title)",
            field="issue_id",
        )
    return quote(ref, safe="")


class Retry(Enum):
    """What a request may be repeated on."""

    SAFE = "safe"  # reads and idempotent writes: any retryable failure
    UNSENT_ONLY = "unsent_only"  # create/delete: only if Pylon cannot have seen it


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded `{data, request_id, pagination?}` body."""

    data: Any
    request_id: str | None
    pagination: Pagination | None
    status: int
