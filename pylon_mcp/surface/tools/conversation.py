"""Conversation tools: read an issue's messages (get_issue_messages) and add internal notes.

Also the argument helpers the reply tool shares (tools/replies.py). A note stays inside
the team; it is never repeated once Pylon may have seen it (tools/posting.py).
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent
from pydantic import BeforeValidator, Field

from pylon_mcp.attachments.listing import message_files, numbered, numbers
from pylon_mcp.auth.caller import acting_user_id
from pylon_mcp.pylon.client import PylonClient, issue_ref
from pylon_mcp.pylon.models import Issue
from pylon_mcp.render.html import (
    NestedTooDeep,
    convert_off_loop,
    html_to_markdown,
    markdown_to_html,
    remember,
    sanitize_outbound,
)
from pylon_mcp.render.messages import (
    ConversationResult,
    MessageWriteResult,
    conversation,
    conversation_text,
    latest_messages,
    latest_section,
    message_out,
    role_of,
    single_message_text,
)
from pylon_mcp.surface.tools.args import _issue_id
from pylon_mcp.surface.tools.context import announce_change, app
from pylon_mcp.surface.tools.errors import bad_argument
from pylon_mcp.surface.tools.posting import post_once, refused

if TYPE_CHECKING:
    from pylon_mcp.pylon.message_models import Message
    from pylon_mcp.state import AppState

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CURSOR = re.compile(r"^(from|at):(\d{1,9})$")

# Terse on purpose: every tool definition costs every user context on every turn. Lengths are
# checked in the bodies below, with errors that name the argument and the limit.
IssueRef = Annotated[str, BeforeValidator(_issue_id), Field(description="ID or number.")]
LIMITS = {"body_markdown": 100_000, "body_html": 100_000, "message_id": 128, "thread_id": 128,
          "cursor": 40, "confirmation_token": 100, "idempotency_key": 200}  # fmt: skip


def check_lengths(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and len(value) > LIMITS[name]:
            raise bad_argument(name, f"at most {LIMITS[name]:,} characters (got {len(value):,})")
        if value is not None and name in ("message_id", "thread_id", "idempotency_key") and not value.strip():
            raise bad_argument(name, "must not be empty; leave it out instead")


LATEST_COUNT = 3  # messages get_issue shows with include=["messages"]
LATEST_CHARS = 600  # per message there


def result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


# --- shared ------------------------------------------------------------------------------


async def issue_id_for(pylon: PylonClient, issue_id: str) -> tuple[str, Issue | None]:
    """The issue's ID for the message endpoints, which the spec documents as taking the ID only.

    A UUID is used as is (one request saved); a number is looked up with GET /issues/{number}.
    """
    ref = issue_ref(issue_id)
    if _UUID.match(ref):
        return ref, None
    issue = await pylon.get_issue(ref)
    return issue.id or ref, issue


def issue_label(ref: str, issue: Issue | None) -> str:
    return str(issue.number) if issue is not None and issue.number is not None else ref


def outbound_html(body_markdown: str | None, body_html: str | None) -> str:
    """Exactly one body, sanitised (outbound), non-empty."""
    if (body_markdown is None) == (body_html is None):
        raise bad_argument("body_markdown", "give exactly one of body_markdown or body_html")
    name = "body_html" if body_html is not None else "body_markdown"
    try:
        html = (
            sanitize_outbound(body_html) if body_html is not None else markdown_to_html(body_markdown or "")
        )
    except NestedTooDeep as exc:
        raise bad_argument(name, str(exc)) from None
    if not html.strip() or not html_to_markdown(html)[0].strip():
        raise bad_argument(name, "is empty (once unsafe markup is removed); write the text to send")
    return html


# Bodies up to this size convert in about a millisecond; larger ones go to a worker process.
INLINE_BODY_CHARS = 8_000


async def outbound_html_off_loop(body_markdown: str | None, body_html: str | None) -> str:
    """`outbound_html` off the event loop when the body is large: Markdown → HTML (mistune) is
    pure-Python work, up to half a second for 100 KB. It runs in a worker process (pylon_mcp/offload.py),
    where it cannot hold the event loop's GIL."""
    if len(body_markdown or "") + len(body_html or "") <= INLINE_BODY_CHARS:
        return outbound_html(body_markdown, body_html)
    from pylon_mcp import offload

    try:
        html, markdown = await offload.run(outbound_with_markdown, body_markdown, body_html)
    except offload.JobTimedOut as exc:
        name = "body_html" if body_html is not None else "body_markdown"
        raise bad_argument(name, f"could not be converted: {exc}; send simpler text") from None
    remember(html, markdown)  # a reply preview shows it as Markdown: not converted again here
    return html


def outbound_with_markdown(body_markdown: str | None, body_html: str | None) -> tuple[str, tuple[str, bool]]:
    """The worker process's job: the HTML to send, and its Markdown (converted for the check anyway)."""
    html = outbound_html(body_markdown, body_html)
    return html, html_to_markdown(html)


def find_message(messages: list[Message], message_id: str, ref: str) -> Message:
    for message in messages:
        if message.id == message_id:
            return message
    recent = ", ".join(f"{m.id} ({role_of(m)})" for m in messages[-3:]) or "none"
    raise refused(
        "message_id",
        f"{message_id[:80]!r} is not a message of issue {ref}. Its latest messages: {recent}. "
        "get_issue_messages lists them all. Nothing was sent.",
    )


def write_result(out: MessageWriteResult, text: str) -> CallToolResult:
    return result(text, out.model_dump(mode="json", exclude_none=True))


# Messages of a page whose bodies convert in the worker process first; any further ones (a page
# of many short messages) convert in the rendering thread.
PREPARED = 10

# --- reading -----------------------------------------------------------------------------


async def get_issue_messages(
    issue_id: IssueRef,
    ctx: Context,
    cursor: str | None = None,
    message_id: Annotated[str | None, Field(description="One message in full.")] = None,
) -> Annotated[CallToolResult, ConversationResult]:
    """Read an issue's conversation, oldest first: replies and internal notes.

    Email quotes and signatures are trimmed; page with cursor."""
    check_lengths(cursor=cursor, message_id=message_id)
    state = app(ctx)
    offset = 0
    start = 0
    if cursor is not None:
        match = _CURSOR.match(cursor.strip())
        if match is None or (match.group(1) == "at") != (message_id is not None):
            raise bad_argument(
                "cursor", 'use the cursor a result gave: "from:N" to read on, "at:N" with message_id'
            )
        if match.group(1) == "from":
            start = int(match.group(2))
        else:
            offset = int(match.group(2))
    pylon = state.pylon
    ident, issue = await issue_id_for(pylon, issue_id)
    ref = issue_label(issue_ref(issue_id), issue)
    messages, incomplete = await pylon.all_messages(ident)
    numbers = await file_numbers(state, ident, issue, messages)
    budget = state.settings.body_chars * 3
    if message_id is not None:
        found = find_message(messages, message_id, ref)
        # Converting customer HTML is CPU work: off the event loop, like get_issue's body.
        await convert_off_loop([found.message_html])
        out = await anyio.to_thread.run_sync(
            partial(message_out, found, full=True, offset=offset, limit=budget, numbers=numbers)
        )
        index = messages.index(found) + 1
        shaped = ConversationResult(issue=ref, messages=[out], total=len(messages), first=index)
        return result(
            single_message_text(out, index, len(messages), ref),
            shaped.model_dump(mode="json", exclude_none=True),
        )
    if start > len(messages):
        raise refused("cursor", f"the conversation has {len(messages)} messages; start again without cursor")
    await convert_off_loop([m.message_html for m in messages[start : start + PREPARED]])
    shaped = await anyio.to_thread.run_sync(
        partial(
            conversation,
            messages,
            ref=ref,
            start=start,
            budget=budget,
            incomplete=incomplete,
            numbers=numbers,
        )
    )
    return result(conversation_text(shaped), shaped.model_dump(mode="json", exclude_none=True))


async def file_numbers(
    state: AppState, ident: str, issue: Issue | None, messages: list[Message]
) -> dict[str, int] | None:
    """Each message file's number for get_attachment, after the issue's own attachments
    (attachments/listing.py). The issue is read only if files need numbering and it was not seen lately."""
    if not any(message_files(m.file_urls) for m in messages):
        return None
    if issue is None:
        issue = state.recent.last_seen(ident)
    if issue is None:
        issue = await state.pylon.get_issue(ident)
        state.recent.remember([issue])
    return numbers(numbered(issue.attachment_urls, (m.file_urls for m in messages)))


async def latest_messages_section(state: AppState, issue: Issue) -> tuple[str, list[dict[str, Any]]]:
    """The latest few messages of an issue, for get_issue: text to append and structured items."""
    pylon = state.pylon
    ref = str(issue.number) if issue.number is not None else (issue.id or "")
    page = await pylon.list_messages(issue.id or ref)  # one page is enough for the latest few, usually
    messages = page.messages
    if page.has_next_page:  # the latest are on the last page
        messages, _ = await pylon.all_messages(issue.id or ref)
    numbers = await file_numbers(state, issue.id or ref, issue, messages)
    await convert_off_loop([m.message_html for m in messages[-LATEST_COUNT:]])
    outs = await anyio.to_thread.run_sync(latest_messages, messages, LATEST_COUNT, LATEST_CHARS, numbers)
    return latest_section(outs, len(messages), ref), [
        m.model_dump(mode="json", exclude_none=True) for m in outs
    ]


# --- internal notes ------------------------------------------------------------------------


async def add_internal_note(
    issue_id: IssueRef,
    ctx: Context,
    body_markdown: Annotated[str | None, Field(description="Markdown (or body_html).")] = None,
    body_html: str | None = None,
    thread_id: str | None = None,
    message_id: Annotated[str | None, Field(description="A note to answer.")] = None,
    idempotency_key: str | None = None,
) -> Annotated[CallToolResult, MessageWriteResult]:
    """Add an internal note to an issue. Team only: the customer never sees it."""
    check_lengths(
        body_markdown=body_markdown, body_html=body_html, thread_id=thread_id, message_id=message_id,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    html = await outbound_html_off_loop(body_markdown, body_html)
    if thread_id and message_id:
        raise bad_argument(
            "message_id", "give thread_id or message_id, not both (a message implies its thread)"
        )
    pylon = app(ctx).pylon
    issue = await pylon.get_issue(issue_ref(issue_id))
    ident = issue.id or issue_ref(issue_id)
    ref = issue_label(issue_ref(issue_id), issue)
    if message_id:
        messages, _ = await pylon.all_messages(ident)
        target = find_message(messages, message_id, ref)
        if not target.is_private:
            raise refused(
                "message_id",
                f"{message_id} is a {role_of(target)} message; a note can only answer an internal note",
            )
    if thread_id:
        threads = await pylon.list_threads(ident)
        if not any(t.id == thread_id for t in threads):
            known = (
                ", ".join(f"{t.id} ({t.name})" for t in threads) or "none yet (omit thread_id to create one)"
            )
            raise refused(
                "thread_id", f"{thread_id[:80]!r} is not a thread of issue {ref}; its threads: {known}"
            )
    from pylon_mcp.pylon.message_models import CreateIssueNoteRequest  # first use: see pylon/messages.py

    request = CreateIssueNoteRequest(
        body_html=html,
        thread_id=thread_id,
        message_id=message_id,
        user_id=acting_user_id(),  # hosted for a team: the note shows the signed-in person
    )
    created_id, note = await post_once(
        ctx,
        kind="note",
        key=idempotency_key,
        fingerprint_of=request.to_body(),
        issue_id=ident,
        html=html,
        ref=ref,
        post=lambda: pylon.create_note(ident, request),
    )
    await announce_change(ctx, issue, issue)
    out = MessageWriteResult(
        action="note_added",
        issue_number=issue.number,
        issue_id=issue.id,
        message_id=created_id,
        in_reply_to=message_id,
        thread_id=thread_id,
        body_html=html,
        link=issue.link,
    )
    text = f"Added internal note {created_id} to issue #{ref} (team only; the customer does not see it)."
    return write_result(out, (note + "\n" if note else "") + text)
