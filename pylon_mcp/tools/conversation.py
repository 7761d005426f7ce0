"""Conversation tools: read an issue's messages, add internal notes, send customer replies.

A note stays inside the team. A reply reaches the customer, so it is off unless
PYLON_ALLOW_CUSTOMER_REPLIES is on, and it is sent only after a person approved
that exact text:
- clients with form elicitation (either protocol era) get an approval dialog,
  through the SDK's resolver flow (`Resolve`), and a decline sends nothing;
- other clients get a preview plus a short-lived, single-use confirmation token
  bound to the issue, the message answered, the recipients and the exact HTML;
  only a second call carrying it sends (pylon_mcp/confirmations.py).
Neither write is repeated once Pylon may have seen it; `idempotency_key` makes a
deliberate repeat safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, BeforeValidator, Field

from pylon_mcp.confirmations import TOKEN_TTL, Redeem, content_digest
from pylon_mcp.pylon.client import PylonClient, issue_ref
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import Issue
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.render.html import html_to_markdown, markdown_to_html, sanitize_html
from pylon_mcp.render.messages import (
    ConversationResult,
    MessageWriteResult,
    author_of,
    conversation,
    conversation_text,
    latest_messages,
    latest_section,
    message_out,
    reply_preview_body,
    role_of,
    single_message_text,
)
from pylon_mcp.render.text import quote
from pylon_mcp.resources import announce_change
from pylon_mcp.tools.args import _int_to_str
from pylon_mcp.tools.context import app
from pylon_mcp.tools.errors import bad_argument, describe

if TYPE_CHECKING:
    from pylon_mcp.pylon.message_models import CreateIssueReplyRequest, Message

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CURSOR = re.compile(r"^(from|at):(\d{1,9})$")

# Terse on purpose: every tool definition costs every user context on every turn. Lengths are
# checked in the bodies below, with errors that name the argument and the limit.
IssueRef = Annotated[str, BeforeValidator(_int_to_str), Field(description="ID or number.")]
LIMITS = {"body_markdown": 100_000, "body_html": 100_000, "message_id": 128, "thread_id": 128,
          "cursor": 40, "confirmation_token": 100, "idempotency_key": 200}  # fmt: skip


def _check_lengths(**values: str | None) -> None:
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


async def _issue_id(pylon: PylonClient, issue_id: str) -> tuple[str, Issue | None]:
    """The issue's ID for the message endpoints, which the spec documents as taking the ID only.

    A UUID is used as is (one request saved); a number is looked up with GET /issues/{number}.
    """
    ref = issue_ref(issue_id)
    if _UUID.match(ref):
        return ref, None
    issue = await pylon.get_issue(ref)
    return issue.id or ref, issue


def _label(ref: str, issue: Issue | None) -> str:
    return str(issue.number) if issue is not None and issue.number is not None else ref


def _html(body_markdown: str | None, body_html: str | None) -> str:
    """Exactly one body, sanitised (outbound), non-empty."""
    if (body_markdown is None) == (body_html is None):
        raise bad_argument("body_markdown", "give exactly one of body_markdown or body_html")
    name = "body_html" if body_html is not None else "body_markdown"
    html = sanitize_html(body_html) if body_html is not None else markdown_to_html(body_markdown or "")
    if not html.strip() or not html_to_markdown(html)[0].strip():
        raise bad_argument(name, "is empty (once unsafe markup is removed); write the text to send")
    return html


def not_on_issue(field: str, message: str) -> ToolError:
    """A refusal that needed a read of the issue first (so not "Invalid argument": that means no request)."""
    return ToolError(f"Refused '{field}': {message}")


def _find(messages: list[Message], message_id: str, ref: str) -> Message:
    for message in messages:
        if message.id == message_id:
            return message
    recent = ", ".join(f"{m.id} ({role_of(m)})" for m in messages[-3:]) or "none"
    raise not_on_issue(
        "message_id",
        f"{message_id[:80]!r} is not a message of issue {ref}. Its latest messages: {recent}. "
        "get_issue_messages lists them all. Nothing was sent.",
    )


def _same_text(a: str, b: str) -> bool:
    return " ".join(html_to_markdown(a)[0].split()) == " ".join(html_to_markdown(b)[0].split())


async def _find_posted(
    pylon: PylonClient, issue_id: str, html: str, private: bool, since: str
) -> Message | None:
    """A message an unsure earlier attempt may have posted: same text, same kind, since that attempt."""
    messages, _ = await pylon.all_messages(issue_id)
    for message in reversed(messages):
        if (message.timestamp or "") < since:
            break
        if bool(message.is_private) == private and _same_text(message.message_html or "", html):
            return message
    return None


class UnsureWrite(ToolError):
    """Pylon may have posted the message: never to be retried blindly."""


def _unsure(exc: PylonError, what: str, ref: str, key: str | None) -> ToolError:
    how = (
        f"repeat the call with the same idempotency_key ({key!r}): it checks the conversation first"
        if key
        else f"get_issue_messages with issue_id={quote(ref)} shows whether the {what} is there (at the end)"
    )
    return UnsureWrite(f"{describe(exc)} Do not simply retry: {how}.")


async def _post_once(
    ctx: Context,
    *,
    kind: str,
    key: str | None,
    fingerprint_of: dict[str, Any],
    issue_id: str,
    html: str,
    ref: str,
    post: Any,
) -> tuple[str | None, str | None]:
    """Run `post()` (a note or reply), at most once per idempotency key. Returns (message id, note)."""
    state = app(ctx)
    private = kind == "note"
    if key is None:
        try:
            created = await post()
        except PylonError as exc:
            if exc.write_may_have_applied:
                raise _unsure(exc, kind, ref, None) from exc
            raise
        return created.id, None
    ledger = state.ledger
    namespaced = f"{kind}:{key}"
    fingerprint = ledger.fingerprint({"issue": issue_id, **fingerprint_of})
    async with ledger.lock(namespaced):
        entry = ledger.get(namespaced)
        if entry is not None and entry.fingerprint != fingerprint:
            raise not_on_issue(
                "idempotency_key", "this key was already used with different arguments; use a new key"
            )
        if entry is not None and entry.result is not None:
            return (
                entry.result,
                "Already done by an earlier call with this idempotency_key; not posted again.",
            )
        if entry is not None and entry.unsure_since is not None:
            found = await _find_posted(state.pylon, issue_id, html, private, entry.unsure_since)
            if found is not None:
                ledger.succeeded(namespaced, fingerprint, found.id)
                return (
                    found.id,
                    "The earlier attempt with this idempotency_key did post it; not posted again.",
                )
        started = format_rfc3339(utcnow().replace(microsecond=0) - timedelta(seconds=5))
        try:
            created = await post()
        except PylonError as exc:
            if exc.write_may_have_applied:
                ledger.unsure(namespaced, fingerprint, started)
                raise _unsure(exc, kind, ref, key) from exc
            ledger.forget(namespaced)
            raise
        ledger.succeeded(namespaced, fingerprint, created.id)
        return created.id, None


def _write(out: MessageWriteResult, text: str) -> CallToolResult:
    return result(text, out.model_dump(mode="json", exclude_none=True))


# --- reading -----------------------------------------------------------------------------


async def get_issue_messages(
    issue_id: IssueRef,
    ctx: Context,
    cursor: str | None = None,
    message_id: Annotated[str | None, Field(description="One message in full.")] = None,
) -> Annotated[CallToolResult, ConversationResult]:
    """Read an issue's conversation, oldest first: replies and internal notes.

    Email quotes and signatures are trimmed; page with cursor."""
    _check_lengths(cursor=cursor, message_id=message_id)
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
    ident, issue = await _issue_id(pylon, issue_id)
    ref = _label(issue_ref(issue_id), issue)
    messages, incomplete = await pylon.all_messages(ident)
    budget = state.settings.body_chars * 3
    if message_id is not None:
        found = _find(messages, message_id, ref)
        out = message_out(found, full=True, offset=offset, limit=budget)
        index = messages.index(found) + 1
        shaped = ConversationResult(issue=ref, messages=[out], total=len(messages), first=index)
        return result(
            single_message_text(out, index, len(messages), ref),
            shaped.model_dump(mode="json", exclude_none=True),
        )
    if start > len(messages):
        raise not_on_issue(
            "cursor", f"the conversation has {len(messages)} messages; start again without cursor"
        )
    shaped = conversation(messages, ref=ref, start=start, budget=budget, incomplete=incomplete)
    return result(conversation_text(shaped), shaped.model_dump(mode="json", exclude_none=True))


async def latest_messages_section(pylon: PylonClient, issue: Issue) -> tuple[str, list[dict[str, Any]]]:
    """The latest few messages of an issue, for get_issue: text to append and structured items."""
    ref = str(issue.number) if issue.number is not None else (issue.id or "")
    page = await pylon.list_messages(issue.id or ref)  # one page is enough for the latest few, usually
    messages = page.messages
    if page.has_next_page:  # the latest are on the last page
        messages, _ = await pylon.all_messages(issue.id or ref)
    outs = latest_messages(messages, LATEST_COUNT, LATEST_CHARS)
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
    _check_lengths(
        body_markdown=body_markdown, body_html=body_html, thread_id=thread_id, message_id=message_id,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    html = _html(body_markdown, body_html)
    if thread_id and message_id:
        raise bad_argument(
            "message_id", "give thread_id or message_id, not both (a message implies its thread)"
        )
    pylon = app(ctx).pylon
    issue = await pylon.get_issue(issue_ref(issue_id))
    ident = issue.id or issue_ref(issue_id)
    ref = _label(issue_ref(issue_id), issue)
    if message_id:
        messages, _ = await pylon.all_messages(ident)
        target = _find(messages, message_id, ref)
        if not target.is_private:
            raise not_on_issue(
                "message_id",
                f"{message_id} is a {role_of(target)} message; a note can only answer an internal note",
            )
    if thread_id:
        threads = await pylon.list_threads(ident)
        if not any(t.id == thread_id for t in threads):
            known = (
                ", ".join(f"{t.id} ({t.name})" for t in threads) or "none yet (omit thread_id to create one)"
            )
            raise not_on_issue(
                "thread_id", f"{thread_id[:80]!r} is not a thread of issue {ref}; its threads: {known}"
            )
    from pylon_mcp.pylon.message_models import CreateIssueNoteRequest  # first use: see pylon/messages.py

    request = CreateIssueNoteRequest(body_html=html, thread_id=thread_id, message_id=message_id)
    created_id, note = await _post_once(
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
    return _write(out, (note + "\n" if note else "") + text)


# --- customer replies ------------------------------------------------------------------------


class ApproveReply(BaseModel):
    send: bool = Field(description="Send this exact reply to the customer")


@dataclass(frozen=True)
class ReplyPlan:
    """What a reply call would send, worked out before anything is sent."""

    issue: Issue
    request: CreateIssueReplyRequest
    out: MessageWriteResult  # the preview
    digest: str


async def plan_reply(
    issue_id: str,
    body_markdown: str | None,
    body_html: str | None,
    message_id: str | None,
    confirmation_token: str | None,
    idempotency_key: str | None,
    ctx: Context,
) -> ReplyPlan:
    """Validate the arguments, find the message answered and the recipients, and fix the exact HTML."""
    _check_lengths(
        body_markdown=body_markdown, body_html=body_html, message_id=message_id,
        confirmation_token=confirmation_token, idempotency_key=idempotency_key,
    )  # fmt: skip
    html = _html(body_markdown, body_html)
    attachments: list[str] | None = (
        None  # the endpoint takes attachment_urls; the tool keeps its surface small
    )
    pylon = app(ctx).pylon
    issue = await pylon.get_issue(issue_ref(issue_id))
    ident = issue.id or issue_ref(issue_id)
    ref = _label(issue_ref(issue_id), issue)
    messages, _ = await pylon.all_messages(ident)
    if message_id:
        target = _find(messages, message_id, ref)
        if target.is_private:
            raise not_on_issue(
                "message_id",
                f"{message_id} is an internal note; a reply answers a message the customer can see",
            )
    else:
        public = [m for m in messages if not m.is_private]
        customer = [m for m in public if role_of(m) == "customer"]
        if not public:
            raise not_on_issue("message_id", f"issue {ref} has no customer-visible message to reply to")
        target = (customer or public)[-1]
    to, cc = _recipients(target, issue)
    from pylon_mcp.pylon.message_models import CreateIssueReplyRequest  # first use: see pylon/messages.py

    request = CreateIssueReplyRequest(body_html=html, message_id=target.id or "", attachment_urls=attachments)
    out = MessageWriteResult(
        action="reply_preview",
        issue_number=issue.number,
        issue_id=issue.id,
        in_reply_to=target.id,
        in_reply_to_from=f"{author_of(target) or 'unknown'}, {target.timestamp or 'no time'}",
        channel=target.source,
        to=to,
        cc=cc,
        body_html=html,
        attachment_urls=attachments,
        link=issue.link,
    )
    digest = content_digest(
        {"issue": ident, "message": target.id, "to": to, "cc": cc, "html": html, "files": attachments}
    )
    return ReplyPlan(issue=issue, request=request, out=out, digest=digest)


def _recipients(target: Message, issue: Issue) -> tuple[list[str], list[str] | None]:
    info = target.email_info
    if role_of(target) == "customer":
        sender = (info.from_email if info else None) or (
            target.author.contact.email if target.author and target.author.contact else None
        )
        to = [sender] if sender else []
    else:
        to = list(info.to_emails or []) if info else []
    if not to and issue.requester and issue.requester.email:
        to = [issue.requester.email]
    cc = list(info.cc_emails) if info and info.cc_emails else None
    return to, cc


def _can_elicit(ctx: Context) -> bool:
    """Whether the client can show an approval form now (the SDK's own gate, asked without raising)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, "2026-07-28"):
        return True  # asked through InputRequiredResult, answered on the retry
    return bool(ctx.session.can_send_request)  # handshake era: a request back to the client mid-call


def ask_approval(
    plan: Annotated[ReplyPlan, Resolve(plan_reply)], ctx: Context
) -> Elicit[ApproveReply] | None:
    """Ask the person to approve the exact reply, when the client can ask; otherwise the token flow runs."""
    if not _can_elicit(ctx):
        return None
    ref = _label("", plan.issue)
    message = (
        f"Send this reply to the CUSTOMER on Pylon issue #{ref}? It cannot be unsent.\n"
        + reply_preview_body(plan.out)
    )
    return Elicit(message, ApproveReply)


async def send_customer_reply(
    issue_id: IssueRef,
    ctx: Context,
    plan: Annotated[ReplyPlan, Resolve(plan_reply)],
    approval: Annotated[ElicitationResult[ApproveReply], Resolve(ask_approval)],
    body_markdown: Annotated[str | None, Field(description="Markdown (or body_html).")] = None,
    body_html: str | None = None,
    message_id: Annotated[str | None, Field(description="Default: latest customer message.")] = None,
    confirmation_token: str | None = None,
    idempotency_key: str | None = None,
) -> Annotated[CallToolResult, MessageWriteResult]:
    """SENDS TEXT TO THE CUSTOMER. First call: a preview and confirmation_token. Send by repeating
    the call with that token, only after the person approved."""
    state = app(ctx)
    out = plan.out
    ref = _label(issue_ref(issue_id), plan.issue)
    token_flow = isinstance(approval, AcceptedElicitation) and approval.data is None
    if not token_flow:
        approved = isinstance(approval, AcceptedElicitation) and approval.data.send
        if not approved:
            out = out.model_copy(update={"action": "reply_not_sent"})
            text = (
                f"NOT SENT: the person did not approve the reply to issue #{ref}. Nothing reached the customer. "
                "Ask them what to change, or save the draft with add_internal_note."
            )
            return _write(out, text)
    elif confirmation_token is None:
        token = state.confirmations.issue(plan.digest)
        out = out.model_copy(update={"confirmation_token": token, "expires_in_seconds": int(TOKEN_TTL)})
        text = (
            f"PREVIEW: nothing has been sent. This reply would go to the CUSTOMER on issue #{ref}.\n"
            f"{reply_preview_body(out)}\n"
            f"Show the person this preview. Only if they approve it, call send_customer_reply again with the same "
            f"arguments plus confirmation_token={quote(token)} (valid {int(TOKEN_TTL // 60)} minutes, once)."
        )
        return _write(out, text)
    else:
        verdict = state.confirmations.redeem(confirmation_token, plan.digest)
        if verdict is not Redeem.OK:
            why = {
                Redeem.UNKNOWN: "is not one this server issued (or it expired long ago)",
                Redeem.EXPIRED: "has expired",
                Redeem.USED: "was already used: that reply was sent (or attempted) once",
                Redeem.MISMATCH: "was issued for a different text, message or recipients",
            }[verdict]
            raise not_on_issue(
                "confirmation_token",
                f"this token {why}. Nothing was sent. Call send_customer_reply without confirmation_token for a "
                "fresh preview of exactly this text and show it to the person.",
            )
    ident = plan.issue.id or issue_ref(issue_id)
    try:
        created_id, note = await _post_once(
            ctx,
            kind="reply",
            key=idempotency_key,
            fingerprint_of=plan.request.to_body(),
            issue_id=ident,
            html=plan.request.body_html,
            ref=ref,
            post=lambda: state.pylon.create_reply(ident, plan.request),
        )
    except (PylonError, ToolError) as exc:
        sent_maybe = isinstance(exc, UnsureWrite) or (
            isinstance(exc, PylonError) and exc.write_may_have_applied
        )
        if token_flow and confirmation_token and not sent_maybe:
            state.confirmations.release(
                confirmation_token
            )  # Pylon did not take it: the approval still stands
        raise
    await announce_change(ctx, plan.issue, plan.issue)
    out = out.model_copy(update={"action": "reply_sent", "message_id": created_id})
    text = f"SENT to the customer on issue #{ref}: message {created_id}.\n" + reply_preview_body(out)
    return _write(out, (note + "\n" if note else "") + text)
