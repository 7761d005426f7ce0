"""Names in: turn the names, emails and domains a model passes into Pylon IDs, before anything is sent.

Every failure is a tool error naming the argument and the candidates (or the
closest names), raised before any write, so nothing is changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from pylon_mcp.directory import LISTED, Directory, Kind, NotResolved
from pylon_mcp.pylon.models import Issue
from pylon_mcp.render.issues import IssueSummary, summarize
from pylon_mcp.surface.tools.errors import bad_argument

# Argument -> what kind of directory entry it names.
KIND_OF: dict[str, Kind] = {
    "assignee_id": "user",
    "team_id": "team",
    "account_id": "account",
    "requester_id": "contact",
    "user_ids": "user",
    "contact_ids": "contact",
}


async def resolve(directory: Directory, argument: str, value: str | None, *,
                  account_id: str | None = None) -> str | None:  # fmt: skip
    """The ID for one argument's value; None and "" (unset) pass through untouched."""
    if not value:
        return value
    try:
        return await directory.resolve(KIND_OF[argument], value, account_id=account_id)
    except NotResolved as exc:
        raise bad_argument(argument, f"{exc} Nothing was sent to Pylon.") from None


async def resolve_many(directory: Directory, argument: str, values: Sequence[str] | None, *,
                       account_id: str | None = None) -> list[str] | None:  # fmt: skip
    if not values:
        return None
    out = [await resolve(directory, argument, value, account_id=account_id) or value for value in values]
    return list(dict.fromkeys(out))


async def resolve_state(directory: Directory, argument: str, value: str | None) -> str | None:
    if not value:
        return value
    try:
        return await directory.resolve_state(value)
    except NotResolved as exc:
        raise bad_argument(argument, f"{exc} Nothing was sent to Pylon.") from None


def names_note(note: str | None, before: str = "") -> str:
    """The one line saying names could not be loaded, or nothing."""
    return f"{before}{note}" if note else ""


async def named(directory: Directory, issue: Issue) -> IssueSummary:
    """An issue's summary with names, as search lines show them (the lists are cached for minutes)."""
    return summarize(issue, names=await directory.names([issue], shows=LISTED))
