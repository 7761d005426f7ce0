"""Pydantic models for an issue's conversation, derived from Pylon's OpenAPI spec (April 2026).

Same rules as `models.py`: responses keep fields the spec does not list, request
bodies forbid unknown fields (Pylon silently ignores them).
`tests/test_message_models.py` checks every model against the vendored spec.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from pylon_mcp.pylon.models import MiniContact, MiniUser, _Request, _Response


class MessageAuthor(_Response):
    avatar_url: str | None = None
    contact: MiniContact | None = None
    name: str | None = None
    user: MiniUser | None = None


class EmailMessageInfo(_Response):
    bcc_emails: list[str] | None = None
    cc_emails: list[str] | None = None
    from_email: str | None = None
    message_id: str | None = None  # the RFC 5322 Message-ID header, not a Pylon message ID
    to_emails: list[str] | None = None


class Message(_Response):
    """One reply or internal note. `thread_id` is set only for internal notes."""

    author: MessageAuthor | None = None
    email_info: EmailMessageInfo | None = None
    file_urls: list[str] | None = None
    id: str | None = None
    is_private: bool | None = None
    message_html: str | None = None
    source: str | None = None
    thread_id: str | None = None
    timestamp: str | None = None


class IssueThread(_Response):
    """An internal thread of notes; `thread_id`/`channel_id` only when synced with a chat platform."""

    channel_id: str | None = None
    id: str | None = None
    issue_id: str | None = None
    name: str | None = None
    source: str | None = None
    thread_id: str | None = None


class CreatedMessage(_Response):
    """`CreateIssueNoteResponseData` / `CreateIssueReplyResponseData`."""

    id: str | None = None
    issue_id: str | None = None


class MessagePage(BaseModel):
    """One page of `GET /issues/{id}/messages`."""

    messages: list[Message]
    cursor: str | None = None
    has_next_page: bool = False
    request_id: str | None = None


class CreateIssueNoteRequest(_Request):
    """`CreateIssueNoteRequestBody`. With neither thread_id nor message_id, Pylon uses the default internal thread."""

    body_html: str
    thread_id: str | None = None
    message_id: str | None = None
    attachment_urls: list[str] | None = None
    user_id: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CreateIssueNoteRequest:
        if self.thread_id and self.message_id:
            raise ValueError("give thread_id or message_id, not both")
        return self


class CreateIssueReplyEmailInfo(_Request):
    to_emails: list[str] | None = None
    cc_emails: list[str] | None = None
    bcc_emails: list[str] | None = None


class CustomSourceInfo(_Request):
    external_id: str
    created_at: str | None = None
    metadata: dict[str, Any] | None = None


class CreateIssueReplyRequest(_Request):
    """`CreateIssueReplyRequestBody`: a customer-facing reply to `message_id`."""

    body_html: str
    message_id: str
    user_id: str | None = None
    contact_id: str | None = None
    attachment_urls: list[str] | None = None
    email_info: CreateIssueReplyEmailInfo | None = None
    custom_source: CustomSourceInfo | None = None

    @model_validator(mode="after")
    def _one_author(self) -> CreateIssueReplyRequest:
        if self.user_id and self.contact_id:
            raise ValueError("only one of user_id or contact_id can be provided")
        return self
