"""Write tools: create_issue, update_issue, snooze_issue, delete_issue.

Each confirms what changed in a line (`state: new → closed`) plus the issue's
key fields. Pylon's rate limit is shared by the whole organisation, so a write
spends one request when it can: PATCH and snooze need the ID (the spec does not
promise they accept a number), which is either given or remembered from an answer
seen in the last few minutes (pylon_mcp/recent_issues.py); only another number is
read first. The "before" of the change line, and which given fields are already
so, come from the issue as last seen; without one the confirmation shows the state
after, and "no change" is only said after a fresh read. Tag edits (add_tags,
remove_tags) always read first, because PATCH replaces the whole list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp import idempotency
from pylon_mcp.auth.caller import acting_user_id
from pylon_mcp.directory import Directory
from pylon_mcp.pylon.client import PylonClient, issue_ref
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import (
    UPDATABLE_FIELDS,
    CreateIssueRequest,
    Filter,
    Issue,
    Priority,
    UpdateIssueRequest,
)
from pylon_mcp.pylon.timefmt import format_rfc3339, parse_rfc3339, utcnow
from pylon_mcp.render.html import NestedTooDeep, markdown_to_html, sanitize_outbound
from pylon_mcp.render.issues import WriteResult, diff, dump, write_text
from pylon_mcp.render.text import quote
from pylon_mcp.shared.base import SharedStateUnavailable
from pylon_mcp.state import AppState
from pylon_mcp.surface.tools.args import DATE_HINT, STATES_TEXT, Id, IssueId, Rfc3339, State, Tags
from pylon_mcp.surface.tools.context import announce_change, app
from pylon_mcp.surface.tools.errors import bad_argument, describe
from pylon_mcp.surface.tools.names import named, resolve, resolve_state
from pylon_mcp.surface.tools.oneline import Email, OneLine
from pylon_mcp.surface.tools.results import result


def _write(out: WriteResult, note: str = "") -> CallToolResult:
    return result((note + "\n" if note else "") + write_text(out), dump(out))


async def create_issue(
    title: Annotated[OneLine, Field(min_length=1, max_length=500)],
    ctx: Context,
    body_html: Annotated[str | None, Field(max_length=200_000, description="Or body_markdown")] = None,
    body_markdown: Annotated[str | None, Field(max_length=200_000)] = None,
    requester_email: Annotated[
        Email | None, Field(max_length=320, description="Customer; a new email makes a contact")
    ] = None,
    requester_id: Annotated[Id | None, Field(description="Contact ID or email")] = None,
    requester_name: Annotated[OneLine | None, Field(max_length=200, description="For a new contact")] = None,
    account_id: Annotated[Id | None, Field(description="ID, name or domain")] = None,
    assignee_id: Annotated[Id | None, Field(description="User ID, email or name")] = None,
    team_id: Annotated[Id | None, Field(description="ID or name")] = None,
    priority: Priority | None = None,
    tags: Tags | None = None,
    idempotency_key: Annotated[
        str | None,
        Field(
            min_length=1, max_length=200, description="Unique string; a repeat within 10 min is not created"
        ),
    ] = None,
) -> Annotated[CallToolResult, WriteResult]:
    """Create a Pylon issue (internal: the customer gets no message). Needs title, a body, and account_id
    or a requester. Pass an idempotency_key to make a retry safe."""
    if (body_html is None) == (body_markdown is None):
        raise bad_argument("body_html", "give exactly one of body_html or body_markdown")
    if not (account_id or requester_id or requester_email):
        raise bad_argument(
            "account_id", "Pylon needs account_id or a requester: give requester_email or requester_id"
        )
    html = await _outbound_html(body_html, body_markdown)
    if not html.strip():
        raise bad_argument("body_html", "the body is empty once scripts and unsafe markup are removed")
    directory = app(ctx).directory  # names to IDs before anything is written
    account_id = await resolve(directory, "account_id", account_id)
    requester_id = await resolve(directory, "requester_id", requester_id, account_id=account_id)
    assignee_id = await resolve(directory, "assignee_id", assignee_id)
    team_id = await resolve(directory, "team_id", team_id)
    request = CreateIssueRequest(
        title=title,
        body_html=html,
        requester_email=requester_email,
        requester_id=requester_id,
        requester_name=requester_name,
        account_id=account_id,
        assignee_id=assignee_id,
        team_id=team_id,
        priority=priority,
        tags=tags,
        user_id=acting_user_id(),  # hosted for a team: the first message shows the signed-in person
    )
    if idempotency_key is None:
        pylon = app(ctx).pylon
        issue = await _create(pylon, request, None, idempotency.settle_window(pylon.timeout))
        app(ctx).recent.remember([issue])
        await announce_change(ctx, None, issue)
        return _write(WriteResult(action="created", issue=await named(app(ctx).directory, issue)))
    return await _create_once(ctx, request, idempotency_key)


async def _outbound_html(body_html: str | None, body_markdown: str | None) -> str:
    """The body under the outbound policy, converted in a worker process when large (200 KB of HTML is CPU work)."""
    from pylon_mcp import offload

    if body_html is not None:
        field, convert, text = "body_html", sanitize_outbound, body_html
    else:
        field, convert, text = "body_markdown", markdown_to_html, body_markdown or ""
    try:
        # A small body converts in about a millisecond, what the hop to the worker costs.
        return convert(text) if len(text) <= 8_000 else await offload.run(convert, text)
    except NestedTooDeep as exc:
        raise bad_argument(field, str(exc)) from None
    except offload.JobTimedOut as exc:
        raise bad_argument(field, f"could not be converted: {exc}; send simpler text") from None


async def _create_once(ctx: Context, request: CreateIssueRequest, key: str) -> CallToolResult:
    """create_issue with an idempotency key: see pylon_mcp/idempotency.py."""
    state = app(ctx)
    created: list[Issue] = []
    settle = idempotency.settle_window(state.pylon.timeout)

    async def attempt() -> dict[str, Any]:
        issue = await _create(state.pylon, request, key, settle)
        created.append(issue)
        return WriteResult(action="created", issue=await named(state.directory, issue)).model_dump(
            mode="json"
        )

    async def recover(since: str) -> dict[str, Any] | None:
        found = await _find_created(state.pylon, request, since)
        if found is None:
            return None
        created.append(found)
        return WriteResult(action="created", issue=await named(state.directory, found)).model_dump(
            mode="json"
        )

    try:
        record, how = await idempotency.run_once(
            state.shared.ledger,
            "issue",
            key,
            idempotency.fingerprint(request.to_body()),
            attempt=attempt,
            recover=recover,
            unsure=_may_have_applied,
            settle=settle,
        )
    except idempotency.NotSettled as exc:
        raise ToolError(
            f"Not created: an earlier create_issue with idempotency_key {key!r} ended without a clear answer "
            f"from Pylon, and no issue titled {quote(request.title[:100])} has appeared since, but Pylon may "
            f"still create it until {exc.at} ({exc.seconds_left} s from now). Nothing was sent now. Repeat this "
            f"same call after {exc.at}: it looks again and creates the issue only if it is still not there. To "
            "create it now anyway, accepting that it may then exist twice, use a new idempotency_key."
        ) from None
    except idempotency.KeyReused:
        raise bad_argument(
            "idempotency_key", "this key was already used with different arguments; use a new key"
        ) from None
    except idempotency.StillRunning:
        raise ToolError(
            "another create_issue call with this idempotency_key is still running; repeat this call in a few "
            "seconds to get its result. Nothing was sent to Pylon."
        ) from None
    except SharedStateUnavailable as exc:
        raise ToolError(
            f"idempotency_key cannot be honoured for now: {exc}. Without the shared ledger the "
            "create could be duplicated, so nothing was sent to Pylon. Retry shortly."
        ) from exc
    out = WriteResult.model_validate(record)
    if created:
        state.recent.remember(created[:1])
        await announce_change(ctx, None, created[0])
    if how == "repeat":
        return _write(out, note="Already created by an earlier call with this idempotency_key.")
    if how == "recovered":
        return _write(out, note="The earlier attempt with this idempotency_key did create it.")
    return _write(out)


def _may_have_applied(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, ToolError) else exc
    return isinstance(cause, PylonError) and cause.write_may_have_applied


class UnsureCreate(ToolError):
    """Pylon may have created the issue: never to be retried blindly."""

    settles: float | None = None  # until when it may still land (epoch s; idempotency.run_once records it)


async def _create(pylon: PylonClient, request: CreateIssueRequest, key: str | None, settle: float) -> Issue:
    """POST /issues; when the outcome is unknown, tell the model how to find out before repeating."""
    try:
        return await pylon.create_issue(request)
    except PylonError as exc:
        if not exc.write_may_have_applied:
            raise
        since = format_rfc3339(utcnow().replace(microsecond=0) - timedelta(minutes=1))
        settles = idempotency.settles_from_now(settle)
        safe = idempotency.when(settles)
        how = (
            f"Pylon may still create it until {safe}. Repeat the call with the same idempotency_key ({key!r}) "
            f"after {safe}: it finds the issue if it was created, and creates it only if it was not"
            if key
            else f"Pylon may still create it until {safe}; after then, search_issues with "
            f"title_contains={quote(request.title[:100])} and created_after={since} shows whether it exists"
        )
        error = UnsureCreate(f"{describe(exc)} Do not simply retry: {how}.")
        error.settles = settles
        raise error from exc


async def _find_created(pylon: PylonClient, request: CreateIssueRequest, since: str) -> Issue | None:
    """The issue an unsure earlier attempt may have created: same title, created since that attempt."""
    page = await pylon.search_issues(
        Filter(
            operator="and",
            subfilters=[
                Filter(field="title", operator="string_contains", value=request.title[:200]),
                Filter(field="created_at", operator="time_is_after", value=since),
            ],
        ),
        limit=50,
    )
    matches = [issue for issue in page.issues if issue.title == request.title]
    return min(matches, key=lambda issue: issue.number or 0) if matches else None


async def update_issue(
    issue_id: IssueId,
    ctx: Context,
    state: Annotated[State | None, Field(description=STATES_TEXT)] = None,
    title: Annotated[OneLine | None, Field(min_length=1, max_length=500)] = None,
    assignee_id: Annotated[
        OneLine | None, Field(max_length=128, description='User ID, email or name; "" unassigns')
    ] = None,
    team_id: Annotated[
        OneLine | None, Field(max_length=128, description='ID or name; "" removes the team')
    ] = None,
    account_id: Annotated[Id | None, Field(description="ID, name or domain")] = None,
    requester_id: Annotated[Id | None, Field(description="Contact ID or email")] = None,
    tags: Annotated[Tags | None, Field(description="Replaces ALL tags")] = None,
    add_tags: Tags | None = None,
    remove_tags: Tags | None = None,
    type: Annotated[Literal["ticket"] | None, Field(description="Upgrades a conversation; one-way")] = None,
    customer_portal_visible: bool | None = None,
) -> Annotated[CallToolResult, WriteResult]:
    """Change a Pylon issue; sends only the fields given. Priority cannot change: Pylon's update has none."""
    # First statement: the arguments named like UpdateIssueRequest's fields, and nothing else.
    given = {
        name: value for name, value in locals().items() if name in UPDATABLE_FIELDS and value is not None
    }
    if tags is not None and (add_tags or remove_tags):
        raise bad_argument("tags", "tags replaces the whole list; use it alone, or use add_tags/remove_tags")
    directory = app(ctx).directory  # names to IDs before anything is written, and before comparing
    if "state" in given:
        given["state"] = await resolve_state(directory, "state", given["state"])
    for name in ("assignee_id", "team_id", "account_id"):
        if name in given:
            given[name] = await resolve(directory, name, given[name])
    if "requester_id" in given:
        given["requester_id"] = await resolve(
            directory, "requester_id", given["requester_id"], account_id=given.get("account_id")
        )
    if not given and not add_tags and not remove_tags:
        raise bad_argument(
            "update_issue",
            "nothing to change; give at least one of "
            + ", ".join((*UPDATABLE_FIELDS, "add_tags", "remove_tags")),
        )
    server = app(ctx)
    # add_tags/remove_tags merge into the current list (PATCH replaces it), so they need a fresh read.
    target = await write_target(server, issue_id, fresh=bool(add_tags or remove_tags))
    before = target.before
    current = before.current_values() if before is not None else None
    if add_tags or remove_tags:
        assert current is not None  # fresh=True always reads
        merged = [t for t in current["tags"] if t not in (remove_tags or [])]
        given["tags"] = merged + [t for t in add_tags or [] if t not in merged]
    if current is not None and not target.fresh and all(current[name] == v for name, v in given.items()):
        # "No change" is only ever said from a fresh read: a remembered copy may be minutes old.
        target = await write_target(server, issue_id, fresh=True)
        before, current = target.before, target.before.current_values() if target.before else None
    if current is not None and target.fresh:
        # Send only real changes (a repeated assignee_id could notify the assignee again), judged
        # against a fresh read only: a remembered copy may be minutes old, and leaving out a field
        # someone changed back since would be a silently skipped write. Against it, send them all.
        given = {name: value for name, value in given.items() if current[name] != value}
    if not given:
        return _write(
            WriteResult(action="unchanged", issue=await named(directory, before or Issue(id=target.id)))
        )
    after = await server.pylon.update_issue(target.id, UpdateIssueRequest(**given))
    server.recent.remember([after])
    await announce_change(ctx, before, after)
    return _write(await _written(directory, "updated", before, after, given))


@dataclass(frozen=True)
class WriteTarget:
    id: str
    before: Issue | None  # the issue as read just now (fresh) or as last seen; None when unknown
    fresh: bool


async def write_target(server: AppState, issue_id: str, *, fresh: bool = False) -> WriteTarget:
    """The ID to write to, reading the issue only when the write needs it.

    Pylon's writes take IDs. An ID, or a number seen in the last few minutes, costs no
    request; another number is read first (which also gives a fresh "before").
    """
    ref = issue_ref(issue_id)
    known = None if fresh else server.recent.issue_id(ref)
    if known is not None:
        return WriteTarget(known, server.recent.last_seen(known), fresh=False)
    issue = await server.pylon.get_issue(ref)
    server.recent.remember([issue])
    return WriteTarget(issue.id or ref, issue, fresh=True)


_SHOWN_BY = {"assignee_id": "users", "team_id": "teams", "account_id": "accounts"}


async def _written(
    directory: Directory,
    action: Literal["updated", "snoozed"],
    before: Issue | None,
    after: Issue,
    fields: Iterable[str],
) -> WriteResult:
    """The confirmation: `before → after` when the before state is known, else the state after alone."""
    if before is None:
        return WriteResult(action=action, issue=await named(directory, after))
    fields = list(fields)
    # The change line shows people, teams and accounts by name, as the issue text does.
    shown = [kind for name, kind in _SHOWN_BY.items() if name in fields]
    changes = diff(before, after, fields, await directory.names([before, after], shows=shown))
    return WriteResult(
        action=action if changes or action == "snoozed" else "unchanged",
        issue=await named(directory, after),
        changes=changes or None,
    )


async def snooze_issue(
    issue_id: IssueId,
    snooze_until: Annotated[Rfc3339, Field(description="RFC3339 or a date (00:00 UTC), in the future")],
    ctx: Context,
) -> Annotated[CallToolResult, WriteResult]:
    """Snooze a Pylon issue: on_hold until the given time."""
    try:
        until = parse_rfc3339(snooze_until)
    except ValueError as exc:
        raise bad_argument("snooze_until", str(exc) + DATE_HINT) from None
    now = utcnow()
    if until <= now:
        raise bad_argument(
            "snooze_until",
            f"{snooze_until} is not in the future (now is {format_rfc3339(now.replace(microsecond=0))})",
        )
    server = app(ctx)
    target = await write_target(server, issue_id)
    after = await server.pylon.snooze_issue(target.id, format_rfc3339(until))
    server.recent.remember([after])
    await announce_change(ctx, target.before, after)
    return _write(
        await _written(server.directory, "snoozed", target.before, after, ["state", "snoozed_until_time"])
    )


async def delete_issue(issue_id: IssueId, ctx: Context) -> Annotated[CallToolResult, WriteResult]:
    """Permanently delete a Pylon issue; no undo. Prefer update_issue state closed."""
    server = app(ctx)
    # A fresh read first, always: the confirmation of a permanent delete names what was deleted.
    issue = await server.pylon.get_issue(issue_ref(issue_id))
    await server.pylon.delete_issue(issue.id or issue_ref(issue_id))
    server.recent.forget(issue)
    await announce_change(ctx, issue, None)
    return _write(WriteResult(action="deleted", issue=await named(app(ctx).directory, issue)))
