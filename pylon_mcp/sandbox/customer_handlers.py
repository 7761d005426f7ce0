"""The sandbox's `POST /issues/{id}/external-issues`: link or unlink an engineering ticket.

As the spec describes it: `source` and `external_issue_id` are required, `operation` is
"link" (the default) or "unlink". Links are kept on the issue record and served in its
`external_issues`. Linking a link that exists, or unlinking one that does not, changes
nothing and answers the issue as it is.
"""

from __future__ import annotations

from typing import Any

from pylon_mcp.sandbox.handlers import ApiError, Call, _body, _issue, _string

SOURCES = ("linear", "asana", "jira", "github", "shortcut")


def ticket_link(source: str, external_id: str) -> str:
    """Where the sandbox says a ticket lives (a made-up workspace per tracker)."""
    if source == "github":
        owner, repo, number = [*external_id.split("/"), "", "", ""][:3]
        return f"https://github.com/{owner}/{repo}/issues/{number}"
    return {
        "linear": "https://linear.app/sandbox/issue/",
        "jira": "https://sandbox.atlassian.net/browse/?selectedIssue=",
        "asana": "https://app.asana.com/0/0/",
        "shortcut": "https://app.shortcut.com/sandbox/story/",
    }[source] + external_id


def link_external_issue(call: Call) -> dict[str, Any]:
    record = _issue(call)
    body = _body(call)
    source = _string(body, "source", required=True, allow_empty=False)
    external_id = _string(body, "external_issue_id", required=True, allow_empty=False)
    operation = _string(body, "operation") or "link"
    if source not in SOURCES:
        raise ApiError(400, f"invalid source {source!r}: use one of {', '.join(SOURCES)}")
    if operation not in ("link", "unlink"):
        raise ApiError(400, f'invalid operation {operation!r}: use "link" or "unlink"')
    assert external_id is not None
    with call.store.lock:
        links = list(record.external_issues)
        present = [link for link in links if link[0] == source and link[1] == external_id]
        if operation == "link" and not present:
            links.append((source, external_id, ticket_link(source, external_id)))
        elif operation == "unlink" and present:
            links = [link for link in links if link not in present]
        if links != list(record.external_issues):
            record.external_issues = tuple(links)
            call.store.touch(record)
        return call.store.to_json(record)
