"""Customer endpoints: an account's and a contact's issues, and links to engineering tickets.

`GET /accounts/{id}` and `GET /contacts/{id}` live with the directory (pylon/directory.py);
this mixin adds what the account and contact cards need beyond them, on the client's one
transport (retries, cooldown, redaction, errors):

* issue searches by account (open issues) and by requester: reads, safe to repeat;
* `POST /issues/{id}/external-issues` links or unlinks a ticket in Jira, Linear, GitHub,
  Asana or Shortcut. Linking a link that exists, or unlinking one that does not, leaves
  the issue as it is, so repeating it is safe: it is retried like a read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

from pylon_mcp.pylon.models import Filter, Issue, SearchPage, _Request
from pylon_mcp.pylon.transport import Envelope, Retry, issue_ref

# The spec's list (LinkExternalIssueRequestBody.source); the tool's enum derives from it.
ExternalSource = Literal["linear", "asana", "jira", "github", "shortcut"]
EXTERNAL_SOURCES: tuple[str, ...] = get_args(ExternalSource)
LinkOperation = Literal["link", "unlink"]
CARD_SEARCH_LIMIT = 100  # issues one card reads: the count says "100+" past it


class LinkExternalIssueRequest(_Request):
    """The spec's `LinkExternalIssueRequestBody`."""

    external_issue_id: str
    source: ExternalSource
    operation: LinkOperation | None = None


def open_issues_filter(account_id: str) -> Filter:
    """Every state but closed (custom statuses included), of one account."""
    return Filter(operator="and", subfilters=[
        Filter(field="account_id", operator="equals", value=account_id),
        Filter(field="state", operator="not_in", values=["closed"]),
    ])  # fmt: skip


def requester_filter(contact_id: str) -> Filter:
    return Filter(field="requester_id", operator="equals", value=contact_id)


class CustomerEndpoints:
    """Mixed into `PylonClient` (which supplies `_request` and `search_issues`)."""

    if TYPE_CHECKING:

        async def _request(self, method: str, path: str, *, retry: Any, json: Any = None,
                           params: Any = None) -> Envelope: ...  # fmt: skip

        async def search_issues(self, filter: Filter, *, limit: int | None = None,
                                cursor: str | None = None) -> SearchPage: ...  # fmt: skip

    async def open_issues_of_account(self, account_id: str, *, limit: int = CARD_SEARCH_LIMIT) -> SearchPage:
        """One page of the account's issues in any state but closed (Pylon promises no order)."""
        return await self.search_issues(open_issues_filter(account_id), limit=limit)

    async def issues_of_requester(self, contact_id: str, *, limit: int = CARD_SEARCH_LIMIT) -> SearchPage:
        return await self.search_issues(requester_filter(contact_id), limit=limit)

    async def link_external_issue(self, issue_id: str | int, body: LinkExternalIssueRequest) -> Issue:
        """`POST /issues/{id}/external-issues`; answers the issue with its links after the change."""
        env = await self._request(
            "POST",
            f"/issues/{issue_ref(issue_id)}/external-issues",
            json=body.to_body(),
            retry=Retry.SAFE,  # idempotent: a repeat finds the link already made (or gone)
        )
        return Issue.model_validate(env.data or {})
