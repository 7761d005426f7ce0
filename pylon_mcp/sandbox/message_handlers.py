"""The conversation endpoints of the sandbox: messages, threads, notes and replies.

Checks follow the spec's wording:
- note: `body_html` required; `message_id`, when given, must be a message on this
  issue and an internal note; `thread_id` must be a thread of this issue (the `id`
  from GET /threads); with neither, the default internal thread is used or created;
- reply: `body_html` and `message_id` required; `message_id` must be on this issue;
  only one of `user_id` / `contact_id`;
- both: `user_id` / `contact_id` must exist; `attachment_urls` an array of strings.
Side effects are the ones the spec states (a message is added) plus the issue's
`latest_message_time` for a reply, which is what that field reports. No state change.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from pylon_mcp.sandbox.conversation_seed import (
    NOTE_SOURCE,
    SUPPORT_ADDRESS,
    Conversation,
    MessageRecord,
    ThreadRecord,
)
from pylon_mcp.sandbox.conversations import ConversationBook
from pylon_mcp.sandbox.handlers import ApiError, Call, Page, _body, _issue, _string, _string_list


def _book(call: Call) -> ConversationBook:
    book = getattr(call.store, "conversations", None)
    assert isinstance(book, ConversationBook), "Store needs a ConversationBook"
    return book


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"m:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        kind, value = raw.split(":")
        if kind != "m" or int(value) < 0:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid cursor") from None


def get_messages(call: Call) -> Page:
    record = _issue(call, allow_number=False)  # the spec documents the ID only
    book = _book(call)
    with call.store.lock:
        messages = list(book.of(record).messages)
    start = _offset(call.query["cursor"]) if call.query.get("cursor") else 0
    end = start + book.page_size
    items = [book.message_json(m) for m in messages[start:end]]
    return Page(items, _cursor(end) if end < len(messages) else None)


def get_threads(call: Call) -> list[dict[str, Any]]:
    record = _issue(call, allow_number=False)  # the spec documents the ID only
    with call.store.lock:
        threads = list(_book(call).of(record).threads)
    return [{"id": t.id, "issue_id": t.issue_id, "name": t.name, "source": t.source} for t in threads]


def _check_author(call: Call, body: dict[str, Any], *, contacts: bool) -> tuple[str, str]:
    user_id = _string(body, "user_id") or None
    contact_id = (_string(body, "contact_id") or None) if contacts else None
    if user_id and contact_id:
        raise ApiError(400, "only one of user_id or contact_id can be provided")
    directory = call.store.directory
    if user_id:
        if user_id not in directory.users:
            raise ApiError(400, f"user_id: user {user_id} not found")
        return "user", user_id
    if contact_id:
        if contact_id not in directory.contacts:
            raise ApiError(400, f"contact_id: contact {contact_id} not found")
        return "contact", contact_id
    # The API token's own user: the sandbox org's first seeded agent.
    return "user", next(iter(directory.users))


def _find_message(conversation: Conversation, message_id: str) -> MessageRecord:
    for message in conversation.messages:
        if message.id == message_id:
            return message
    raise ApiError(400, f"message_id: message {message_id} not found on this issue")


def create_note(call: Call) -> dict[str, Any]:
    record = _issue(call, allow_number=False)  # the spec documents the ID only
    body = _body(call)
    html = _string(body, "body_html", required=True, allow_empty=False)
    thread_id = _string(body, "thread_id") or None
    message_id = _string(body, "message_id") or None
    attachments = _string_list(body, "attachment_urls") or []
    kind, author_id = _check_author(call, body, contacts=False)
    book = _book(call)
    with call.store.lock:
        conversation = book.of(record)
        if message_id:
            target = _find_message(conversation, message_id)
            if not target.is_private:
                raise ApiError(400, "message_id: the message to reply to must be an internal note")
            if thread_id and thread_id != target.thread_id:
                raise ApiError(400, "message_id is not on thread_id")
            thread_id = target.thread_id
        if thread_id:
            if not any(t.id == thread_id for t in conversation.threads):
                raise ApiError(400, f"thread_id: thread {thread_id} not found on this issue")
        elif conversation.threads:
            thread_id = conversation.threads[0].id
        else:  # "posts to the default internal thread or creates one"
            thread = ThreadRecord(id=book.new_id(), issue_id=record.id, name="Internal notes")
            conversation.threads.append(thread)
            thread_id = thread.id
        message = MessageRecord(
            id=book.new_id(),
            issue_id=record.id,
            timestamp=time.time(),
            html=html or "",
            is_private=True,
            source=NOTE_SOURCE,
            author_kind=kind,
            author_id=author_id,
            thread_id=thread_id,
            file_urls=tuple(attachments),
        )
        conversation.messages.append(message)
        call.store.touch(record)
        return {"id": message.id, "issue_id": record.id}


def create_reply(call: Call) -> dict[str, Any]:
    record = _issue(call, allow_number=False)  # the spec documents the ID only
    body = _body(call)
    html = _string(body, "body_html", required=True, allow_empty=False)
    message_id = _string(body, "message_id", required=True, allow_empty=False)
    attachments = _string_list(body, "attachment_urls") or []
    kind, author_id = _check_author(call, body, contacts=True)
    info = body.get("email_info")
    if info is not None and not isinstance(info, dict):
        raise ApiError(400, "email_info must be an object")
    extra = (
        {key: _string_list(info, key) or [] for key in ("to_emails", "cc_emails", "bcc_emails")}
        if info
        else {}
    )
    book = _book(call)
    with call.store.lock:
        conversation = book.of(record)
        target = _find_message(conversation, message_id or "")
        email: dict[str, object] | None = None
        if target.source == "email":
            sent = target.email or {}
            # Answer the customer: the sender of their message, or whom our earlier message went to.
            default = [sent.get("from_email")] if target.author_kind == "contact" else sent.get("to_emails")
            to = extra.get("to_emails") or [str(address) for address in default or [] if address]
            email = {"from_email": SUPPORT_ADDRESS, "to_emails": to}
            email.update({k: v for k, v in extra.items() if v and k != "to_emails"})
        message = MessageRecord(
            id=book.new_id(),
            issue_id=record.id,
            timestamp=time.time(),
            html=html or "",
            is_private=False,
            source=target.source,
            author_kind=kind,
            author_id=author_id,
            email=email,
            file_urls=tuple(attachments),
        )
        conversation.messages.append(message)
        record.latest_message_time = message.timestamp
        call.store.touch(record)
        return {"id": message.id, "issue_id": record.id}
