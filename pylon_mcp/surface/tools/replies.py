"""send_customer_reply: the one tool that reaches a customer, sent only after a person approved the exact text.

It is offered only with PYLON_ALLOW_CUSTOMER_REPLIES (read-only mode and the allow/deny lists still win).
- Clients with form elicitation (either protocol era) get an approval dialog through the SDK's
  resolver flow (`Resolve`): `plan_reply` works out exactly what would be sent, `ask_approval`
  asks, and a decline or cancel sends nothing.
- Other clients get a preview plus a short-lived, single-use confirmation token bound to the
  issue, the message answered, the recipients, the exact HTML and the signed-in person; only a
  second call carrying it sends (pylon_mcp/confirmations.py; kept in the shared state, so it
  works on any replica, once).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from pylon_mcp.auth.caller import acting_user_id, current_caller
from pylon_mcp.confirmations import TOKEN_TTL, Redeem, content_digest
from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import Issue
from pylon_mcp.render.messages import MessageWriteResult, author_of, reply_preview_body, role_of
from pylon_mcp.render.text import quote
from pylon_mcp.shared.base import SharedStateUnavailable
from pylon_mcp.surface.tools.context import announce_change, app
from pylon_mcp.surface.tools.conversation import (
    IssueRef,
    check_lengths,
    find_message,
    issue_label,
    outbound_html_off_loop,
    write_result,
)
from pylon_mcp.surface.tools.posting import UnsureWrite, post_once, refused

if TYPE_CHECKING:
    from pylon_mcp.pylon.message_models import CreateIssueReplyRequest, Message


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
    check_lengths(
        body_markdown=body_markdown, body_html=body_html, message_id=message_id,
        confirmation_token=confirmation_token, idempotency_key=idempotency_key,
    )  # fmt: skip
    html = await outbound_html_off_loop(body_markdown, body_html)
    # The endpoint takes attachment_urls; the tool leaves them out to keep its surface small.
    attachments: list[str] | None = None
    pylon = app(ctx).pylon
    issue = await pylon.get_issue(issue_ref(issue_id))
    ident = issue.id or issue_ref(issue_id)
    ref = issue_label(issue_ref(issue_id), issue)
    messages, _ = await pylon.all_messages(ident)
    if message_id:
        target = find_message(messages, message_id, ref)
        if target.is_private:
            raise refused(
                "message_id",
                f"{message_id} is an internal note; a reply answers a message the customer can see",
            )
    else:
        public = [m for m in messages if not m.is_private]
        customer = [m for m in public if role_of(m) == "customer"]
        if not public:
            raise refused("message_id", f"issue {ref} has no customer-visible message to reply to")
        target = (customer or public)[-1]
    to, cc = _recipients(target, issue)
    from pylon_mcp.pylon.message_models import CreateIssueReplyRequest  # first use: see pylon/messages.py

    request = CreateIssueReplyRequest(
        body_html=html,
        message_id=target.id or "",
        attachment_urls=attachments,
        user_id=acting_user_id(),  # hosted for a team: the reply shows the signed-in person
    )
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


def _owner() -> str:
    """Whose confirmation a token is: the signed-in person's OAuth subject; without OAuth, one caller."""
    caller = current_caller()
    return caller.subject if caller is not None else ""


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
    ref = issue_label("", plan.issue)
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
    ref = issue_label(issue_ref(issue_id), plan.issue)
    token_flow = isinstance(approval, AcceptedElicitation) and approval.data is None
    if not token_flow:
        approved = isinstance(approval, AcceptedElicitation) and approval.data.send
        if not approved:
            out = out.model_copy(update={"action": "reply_not_sent"})
            text = (
                f"NOT SENT: the person did not approve the reply to issue #{ref}. Nothing reached the customer. "
                "Ask them what to change, or save the draft with add_internal_note."
            )
            return write_result(out, text)
    elif confirmation_token is None:
        try:
            token = await state.confirmations.issue(plan.digest, _owner())
        except SharedStateUnavailable as exc:
            raise ToolError(
                f"No preview token could be issued: {exc}. Nothing was sent. Retry shortly."
            ) from exc
        out = out.model_copy(update={"confirmation_token": token, "expires_in_seconds": int(TOKEN_TTL)})
        text = (
            f"PREVIEW: nothing has been sent. This reply would go to the CUSTOMER on issue #{ref}.\n"
            f"{reply_preview_body(out)}\n"
            f"Show the person this preview. Only if they approve it, call send_customer_reply again with the same "
            f"arguments plus confirmation_token={quote(token)} (valid {int(TOKEN_TTL // 60)} minutes, once)."
        )
        return write_result(out, text)
    else:
        try:
            verdict = await state.confirmations.redeem(confirmation_token, plan.digest, _owner())
        except SharedStateUnavailable as exc:
            raise ToolError(
                f"The confirmation_token cannot be checked now: {exc}. Nothing was sent. Retry shortly with the "
                "same token."
            ) from exc
        if verdict is not Redeem.OK:
            why = {
                Redeem.UNKNOWN: "is not one this server issued (or it expired long ago)",
                Redeem.OTHER_CALLER: "was issued to another signed-in person: only who saw the preview can "
                "confirm it",
                Redeem.EXPIRED: "has expired",
                Redeem.USED: "was already used: that reply was sent, or attempted and may have reached the "
                "customer (get_issue_messages shows whether it is there; say so to the person before any resend)",
                Redeem.MISMATCH: "was issued for a different text, message or recipients",
            }[verdict]
            raise refused(
                "confirmation_token",
                f"this token {why}. Nothing was sent. Call send_customer_reply without confirmation_token for a "
                "fresh preview of exactly this text and show it to the person.",
            )
    ident = plan.issue.id or issue_ref(issue_id)
    try:
        created_id, note = await post_once(
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
            with contextlib.suppress(SharedStateUnavailable):  # then the person previews again
                await state.confirmations.release(
                    confirmation_token
                )  # Pylon did not take it: approval stands
        raise
    await announce_change(ctx, plan.issue, plan.issue)
    out = out.model_copy(update={"action": "reply_sent", "message_id": created_id})
    text = f"SENT to the customer on issue #{ref}: message {created_id}.\n" + reply_preview_body(out)
    return write_result(out, (note + "\n" if note else "") + text)
