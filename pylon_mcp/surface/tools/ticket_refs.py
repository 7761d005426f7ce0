"""link_external_issue's ticket argument: a tracker and the ID Pylon wants, checked before any request.

Pylon stores each tracker's own ID (the spec's `ExternalIssue.external_id`): Jira's numeric
issue ID, Linear's UUID, Asana's task number, GitHub's `owner/repo/number`. A GitHub issue URL
carries that ID, so it is accepted in place of source + ID. Linear and Jira URLs carry the
issue *key* (ENG-123, PROJ-123), which is not what Pylon wants: those, and URLs of other
trackers, get an error saying what to give instead.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pylon_mcp.pylon.customers import EXTERNAL_SOURCES
from pylon_mcp.surface.tools.errors import bad_argument

SOURCES_TEXT = ", ".join(EXTERNAL_SOURCES)
_GITHUB_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,100}/[A-Za-z0-9_.\-]{1,100}/[0-9]{1,12}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[0-9]+$")  # ENG-123, PROJ-42
# source -> (pattern, what Pylon wants); Shortcut's ID format is not stated by the spec.
_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "github": (_GITHUB_ID, "owner/repo/number (e.g. octo/app/42), or the issue's URL"),
    "jira": (_DIGITS, "the numeric issue ID (e.g. 10042), not the key such as PROJ-123"),
    "linear": (_UUID, "the issue's UUID, not its key such as ENG-123"),
    "asana": (_DIGITS, "the task ID (the long number in the task's URL)"),
}
URL_HELP = {
    "linear": "a Linear URL carries the issue key (ENG-123), not the ID Pylon needs: give source='linear' "
    "and external_issue_id=the issue's UUID",
    "jira": "a Jira URL carries the issue key (PROJ-123), not the ID Pylon needs: give source='jira' and "
    "external_issue_id=the numeric issue ID (e.g. 10042)",
    "asana": "give source='asana' and external_issue_id=the task ID (the long number in the URL)",
    "shortcut": "give source='shortcut' and external_issue_id=the story ID (the number after /story/)",
}


def _tracker(host: str, path: str) -> str | None:
    if host in ("github.com", "www.github.com"):
        return "github"
    if host == "linear.app" or host.endswith(".linear.app"):
        return "linear"
    if host.endswith(".atlassian.net") or "/browse/" in path:
        return "jira"
    if host.endswith("asana.com"):
        return "asana"
    if host.endswith("shortcut.com"):
        return "shortcut"
    return None


def ticket(source: str | None, external_issue_id: str) -> tuple[str, str]:
    """(source, external ID) for Pylon, or a tool error naming the argument. Sends nothing."""
    value = external_issue_id.strip()
    if not value:
        raise bad_argument("external_issue_id", "is empty; give the ticket's ID in its tracker")
    if "://" in value or value.lower().startswith(("github.com/", "www.")):
        return _from_url(source, value)
    if any(ch.isspace() for ch in value):
        raise bad_argument("external_issue_id", "an ID has no spaces")
    if source is None:
        raise bad_argument(
            "source", f"required unless external_issue_id is a GitHub issue URL; one of {SOURCES_TEXT}"
        )
    pattern, wanted = _FORMATS.get(source, (None, ""))
    if pattern is not None and not pattern.match(value):
        hint = " (that looks like a key)" if _KEY.match(value) and source in ("jira", "linear") else ""
        raise bad_argument("external_issue_id", f"{source} takes {wanted}{hint}")
    return source, value


def _from_url(source: str | None, value: str) -> tuple[str, str]:
    try:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        host = (parts.hostname or "").lower()
    except ValueError:
        raise bad_argument("external_issue_id", "is not a valid URL") from None
    tracker = _tracker(host, parts.path)
    if tracker is None:
        raise bad_argument(
            "external_issue_id",
            f"is a URL of no known tracker; give source (one of {SOURCES_TEXT}) and the ticket's ID there",
        )
    if tracker != "github":
        raise bad_argument("external_issue_id", URL_HELP[tracker])
    path = [p for p in parts.path.split("/") if p]
    if len(path) >= 4 and path[2] == "pull":
        raise bad_argument("external_issue_id", "is a GitHub pull request; Pylon links GitHub issues")
    if len(path) < 4 or path[2] != "issues" or not _DIGITS.match(path[3]):
        raise bad_argument(
            "external_issue_id",
            "is a GitHub URL but not an issue's (https://github.com/owner/repo/issues/42)",
        )
    if source not in (None, "github"):
        raise bad_argument("source", f"is {source!r} but the URL is a GitHub issue; leave source out")
    reference = f"{path[0]}/{path[1]}/{path[3]}"
    if not _GITHUB_ID.match(reference):
        raise bad_argument("external_issue_id", f"{reference!r} is not owner/repo/number")
    return "github", reference
