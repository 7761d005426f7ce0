"""Know the customer: get_account and get_contact (cards), link_external_issue (engineering tickets).

The cards come from pylon_mcp/customers.py (shared with the resource templates and get_issue's
include=["account"]); names, external IDs, domains and emails resolve through the directory with
its ambiguity rules, and an ambiguous or unknown one fetches nothing else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp.customers import CustomerNotFound, account_brief, account_card, contact_card, not_resolved_text
from pylon_mcp.directory import NotResolved
from pylon_mcp.pylon.customers import ExternalSource, LinkExternalIssueRequest
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import Issue
from pylon_mcp.render.customers import (
    AccountCard,
    ContactCard,
    LinkResult,
    account_head,
    account_text,
    contact_text,
    link_text,
)
from pylon_mcp.render.issues import dump
from pylon_mcp.state import AppState
from pylon_mcp.surface.tools.args import IssueId
from pylon_mcp.surface.tools.context import announce_change, app
from pylon_mcp.surface.tools.errors import bad_argument, describe
from pylon_mcp.surface.tools.issue_writes import write_target
from pylon_mcp.surface.tools.oneline import OneLine
from pylon_mcp.surface.tools.results import result
from pylon_mcp.surface.tools.ticket_refs import ticket


async def get_account(
    account: Annotated[
        OneLine, Field(min_length=1, max_length=200, description="ID, external ID, name or domain")
    ],
    ctx: Context,
) -> Annotated[CallToolResult, AccountCard]:
    """An account's card: owner, type, custom fields, tags, channels, activity, open issues."""
    try:
        card = await account_card(app(ctx), account)
    except (NotResolved, CustomerNotFound) as exc:
        raise bad_argument("account", not_resolved_text(exc)) from None
    return result(account_text(card), dump(card))


async def get_contact(
    contact: Annotated[OneLine, Field(min_length=1, max_length=320, description="ID or email")],
    ctx: Context,
) -> Annotated[CallToolResult, ContactCard]:
    """A contact's card: account, portal role, custom fields, recent issues."""
    try:
        card = await contact_card(app(ctx), contact)
    except (NotResolved, CustomerNotFound) as exc:
        raise bad_argument("contact", not_resolved_text(exc)) from None
    return result(contact_text(card), dump(card))


async def link_external_issue(
    issue_id: IssueId,
    ctx: Context,
    external_issue_id: Annotated[
        OneLine,
        Field(min_length=1, max_length=500, description="Jira numeric ID, Linear UUID, GitHub issue URL…"),
    ],
    source: ExternalSource | None = None,
    operation: Literal["link", "unlink"] = "link",
) -> Annotated[CallToolResult, LinkResult]:
    """Link an issue to an engineering ticket, or unlink it. Give source and the ticket's ID, or a GitHub
    issue URL alone."""
    source, external_id = ticket(source, external_issue_id)  # checked before any request
    server = app(ctx)
    target = await write_target(server, issue_id)
    wanted = operation == "link"
    before = target.before
    if before is not None and _linked(before, source, external_id) == wanted and not target.fresh:
        # "Already so" is only ever said from a fresh read: the remembered copy may be minutes old.
        target = await write_target(server, issue_id, fresh=True)
        before = target.before
    if before is not None and target.fresh and _linked(before, source, external_id) == wanted:
        return _answer("already_linked" if wanted else "not_linked", before, source, external_id)
    body = LinkExternalIssueRequest(source=source, external_issue_id=external_id, operation=operation)  # type: ignore[arg-type]
    after = await server.pylon.link_external_issue(target.id, body)
    server.recent.remember([after])
    await announce_change(ctx, before, after)
    return _answer(
        "linked" if wanted else "unlinked", after, source, external_id, before_known=before is not None
    )


async def account_section(state: AppState, issue: Issue) -> tuple[str, dict[str, Any] | None]:
    """get_issue include=["account"]: the account card's first lines (owner, tier-like fields, open issues).

    A failure here leaves the issue readable: it becomes the section's one line."""
    account_id = issue.account.id if issue.account else None
    if not account_id:
        return "No account on this issue.", None
    try:
        card = await account_brief(state, account_id)
    except (CustomerNotFound, PylonError) as exc:
        why = describe(exc) if isinstance(exc, PylonError) else str(exc)
        return f"The account card could not be loaded: {why}", None
    lines = account_head(card) + ([card.note] if card.note else [])
    return "\n".join(lines), dump(card)


def _linked(issue: Issue, source: str, external_id: str) -> bool:
    return any(e.source == source and e.external_id == external_id for e in issue.external_issues or [])


def _answer(
    action: str, issue: Issue, source: str, external_id: str, *, before_known: bool = True
) -> CallToolResult:
    out = LinkResult(
        action=action,  # type: ignore[arg-type]
        issue_id=issue.id,
        number=issue.number,
        source=source,
        external_issue_id=external_id,
        external_issues=[
            {k: v for k, v in e.model_dump(include={"source", "external_id", "link"}).items() if v}
            for e in issue.external_issues or []
        ],
        link=issue.link,
        before_known=before_known,
    )
    text = link_text(out)
    if action in ("linked", "unlinked") and _linked(issue, source, external_id) != (action == "linked"):
        text += "\nPylon's answer does not show this change yet: check the issue before repeating."
    return result(text, dump(out))
