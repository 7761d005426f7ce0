"""The conversation endpoints: messages, threads, internal notes and customer replies.

Mixed into `PylonClient`, so they share its one transport (retries, cooldown,
redaction, errors). Retry rules:

* reading messages and threads is safe to repeat;
* a note or a reply creates a message, so like `POST /issues` it is repeated only
  when the connection was never established: a repeat after Pylon may have seen
  it could post the text twice (and a reply would reach the customer twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import Pagination
from pylon_mcp.pylon.transport import Envelope, Retry, issue_ref

if TYPE_CHECKING:
    from pylon_mcp.pylon.message_models import (
        CreatedMessage,
        CreateIssueNoteRequest,
        CreateIssueReplyRequest,
        IssueThread,
        MessagePage,
    )

DEFAULT_MAX_MESSAGE_PAGES = 20


def _models() -> Any:
    # Imported on first use: building these pydantic models is start-up time a server that never
    # reads a conversation should not pay.
    from pylon_mcp.pylon import message_models

    return message_models


class MessageEndpoints:
    """`GET /issues/{id}/messages|threads`, `POST /issues/{id}/note|reply`."""

    if TYPE_CHECKING:

        async def _request(
            self, method: str, path: str, *, retry: Retry, json: Any = None, params: Any = None
        ) -> Envelope: ...

    async def list_messages(self, issue_id: str | int, *, cursor: str | None = None) -> MessagePage:
        """One page of an issue's messages (replies and internal notes), oldest first.

        The spec's response carries `pagination`; the next page is asked for with `cursor`,
        as Pylon's other paginated GET endpoints take it. A first page sends no parameters.
        """
        params = {"cursor": cursor} if cursor else None
        env = await self._request(
            "GET", f"/issues/{issue_ref(issue_id)}/messages", params=params, retry=Retry.SAFE
        )
        pagination = env.pagination or Pagination()
        m = _models()
        return m.MessagePage(
            messages=[m.Message.model_validate(item) for item in env.data or []],
            cursor=pagination.cursor or None,
            has_next_page=bool(pagination.has_next_page and pagination.cursor),
            request_id=env.request_id,
        )

    async def iter_message_pages(
        self, issue_id: str | int, *, max_pages: int = DEFAULT_MAX_MESSAGE_PAGES
    ) -> AsyncIterator[MessagePage]:
        """Pages of the conversation, following cursors, at most `max_pages`."""
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.list_messages(issue_id, cursor=cursor)
            yield page
            if not page.has_next_page:
                return
            cursor = page.cursor

    async def all_messages(
        self, issue_id: str | int, *, max_pages: int = DEFAULT_MAX_MESSAGE_PAGES
    ) -> tuple[list[Any], bool]:
        """Every message (up to `max_pages` pages), and whether the cap cut the conversation short."""
        messages: list[Any] = []
        more = False
        async for page in self.iter_message_pages(issue_id, max_pages=max_pages):
            messages.extend(page.messages)
            more = page.has_next_page
        return messages, more

    async def list_threads(self, issue_id: str | int) -> list[IssueThread]:
        env = await self._request("GET", f"/issues/{issue_ref(issue_id)}/threads", retry=Retry.SAFE)
        return [_models().IssueThread.model_validate(item) for item in env.data or []]

    async def create_note(self, issue_id: str | int, body: CreateIssueNoteRequest) -> CreatedMessage:
        """Post an internal note (never visible to the customer). Not repeated once Pylon may have seen it."""
        _require_body(body.body_html)
        env = await self._request(
            "POST", f"/issues/{issue_ref(issue_id)}/note", json=body.to_body(), retry=Retry.UNSENT_ONLY
        )
        return _models().CreatedMessage.model_validate(env.data or {})

    async def create_reply(self, issue_id: str | int, body: CreateIssueReplyRequest) -> CreatedMessage:
        """Send a customer-facing reply. Not repeated once Pylon may have seen it."""
        _require_body(body.body_html)
        env = await self._request(
            "POST", f"/issues/{issue_ref(issue_id)}/reply", json=body.to_body(), retry=Retry.UNSENT_ONLY
        )
        return _models().CreatedMessage.model_validate(env.data or {})


def _require_body(html: str) -> None:
    if not html.strip():
        raise InvalidRequest("body_html must not be empty", field="body_html")
