"""Recent issues as MCP resources, plus templates for one issue, one state and one tag.

Listings come from `POST /issues/search` on `created_at` (better rate limits than
`GET /issues`, no 30-day cap), are cached for PYLON_RESOURCE_TTL seconds, and
are rendered like search results. Write tools call `announce_change`, which
drops cached listings and tells subscribers which resources changed.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resources import FunctionResource
from mcp_types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.errors import InvalidRequest, PylonBadRequest, PylonError, PylonNotFound
from pylon_mcp.pylon.filters import combine_and, validate_filter
from pylon_mcp.pylon.models import Filter, Issue
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.render.issues import (
    SearchResult,
    detail_off_loop,
    issue_text,
    newest_first,
    search_text,
    summarize,
)
from pylon_mcp.render.text import inline
from pylon_mcp.state import AppState, StateHolder
from pylon_mcp.tools.errors import describe

log = logging.getLogger("pylon_mcp.resources")

RECENT_URI = "pylon://issues/recent"
ISSUE_TEMPLATE = "pylon://issues/{issue_id}"
STATE_TEMPLATE = "pylon://issues/state/{state}"
TAG_TEMPLATE = "pylon://issues/tag/{tag}"
LISTING_LIMIT = 50
MARKDOWN = "text/markdown"


def issue_uri(ref: str | int) -> str:
    return f"pylon://issues/{ref}"


async def recent_listing(state: AppState, extra: Filter | None = None, label: str = "") -> str:
    """Issues created in the last PYLON_RECENT_DAYS days, shown newest first, cached briefly."""
    days = state.settings.recent_days
    key = f"{days}:{extra.model_dump_json() if extra else ''}"
    cached = state.listings.get(key)
    if cached is not None:
        return cached
    since = format_rfc3339((utcnow() - timedelta(days=days)).replace(microsecond=0))
    window = Filter(field="created_at", operator="time_is_after", value=since)
    query = combine_and([window, extra] if extra else [window])  # the client validates before sending
    page = await state.pylon.search_issues(query, limit=LISTING_LIMIT)
    state.seen.record(page.issues)
    shown = len(page.issues)
    # The hint is the exact arguments of a search_issues call that works (tests run it).
    flat: dict[str, str | list[str]] = {"created_after": since}
    if extra is not None and extra.field == "state":
        flat["state"] = [extra.value or ""]
    if extra is not None and extra.field == "tags":
        flat["tags"] = [extra.value or ""]
    how = json.dumps(flat, ensure_ascii=False)
    head = (
        f"Issues{label} created in the last {days} days (since {since}), shown newest first: "
        + (
            f"{shown} of them; more exist, and Pylon promises no order, so these need not be the newest."
            if page.has_next_page
            else f"all {shown}."
        )
        + f" For more or other filters call search_issues with {how}."
    )
    issues = [summarize(i, preview=True) for i in newest_first(page.issues)]
    body = search_text(SearchResult(issues=issues, count=shown, has_more=False))
    text = head + "\n" + body.split("\n", 1)[1] if page.issues else head + "\nNone."
    state.listings.put(key, text)
    return text


def _not_found(uri: str, why: str) -> ResourceNotFoundError:
    return ResourceNotFoundError(f"Resource not found: {uri} ({why})")


def register_resources(server: MCPServer[Any], holder: StateHolder) -> None:
    async def recent() -> str:
        try:
            return await recent_listing(holder.get())
        except PylonError as exc:
            raise ResourceError(describe(exc)) from exc

    server.add_resource(
        FunctionResource.from_function(
            recent,
            uri=RECENT_URI,
            name="recent_issues",
            title="Recent issues",
            description="Issues created in the last few days (PYLON_RECENT_DAYS, default 7), shown newest first.",
            mime_type=MARKDOWN,
        )
    )

    @server.resource(ISSUE_TEMPLATE, name="issue", title="One issue", mime_type=MARKDOWN,
                     description="One issue by ID or number, rendered like get_issue.")  # fmt: skip
    async def one_issue(issue_id: str, ctx: Context) -> str:
        uri = issue_uri(issue_id)
        state: AppState = ctx.request_context.lifespan_context
        try:
            issue = await state.pylon.get_issue(issue_ref(issue_id))
        except (PylonNotFound, InvalidRequest) as exc:
            raise _not_found(uri, "no such issue ID or number") from exc
        except PylonError as exc:
            raise ResourceError(describe(exc)) from exc
        state.seen.record([issue])
        out = await detail_off_loop(
            issue, body_format="markdown", body_offset=0, body_chars=state.settings.body_chars
        )
        return issue_text(out, str(issue.number or issue_id))

    @server.resource(STATE_TEMPLATE, name="issues_by_state", title="Recent issues in a state", mime_type=MARKDOWN,
                     description="Recent issues in one state: new, waiting_on_you, waiting_on_customer, on_hold, "
                     "closed, or a custom status slug.")  # fmt: skip
    async def by_state(state: str, ctx: Context) -> str:
        where = {"field": "state", "operator": "equals", "value": state}
        return await _listing(ctx, STATE_TEMPLATE.format(state=state), where, f" in state {inline(state)}")

    @server.resource(TAG_TEMPLATE, name="issues_by_tag", title="Recent issues with a tag", mime_type=MARKDOWN,
                     description="Recent issues carrying one tag.")  # fmt: skip
    async def by_tag(tag: str, ctx: Context) -> str:
        where = {"field": "tags", "operator": "contains", "value": tag}
        return await _listing(ctx, TAG_TEMPLATE.format(tag=tag), where, f" tagged {inline(tag)}")


async def _listing(ctx: Context, uri: str, raw: dict[str, str], label: str) -> str:
    state: AppState = ctx.request_context.lifespan_context
    try:
        extra = validate_filter(raw)
    except InvalidRequest as exc:
        raise _not_found(uri, str(exc)) from exc
    try:
        return await recent_listing(state, extra, label)
    except PylonBadRequest as exc:  # e.g. a state slug this organisation does not have
        raise _not_found(uri, describe(exc)) from exc
    except PylonError as exc:
        raise ResourceError(describe(exc)) from exc


def register_legacy_subscriptions(server: MCPServer[Any], holder: StateHolder) -> None:
    """`resources/subscribe` for handshake-era clients (2026-07-28 clients use `subscriptions/listen`)."""

    async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
        holder.get().legacy_subscribers.setdefault(_connection(ctx.session), set()).add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
        holder.get().legacy_subscribers.get(_connection(ctx.session), set()).discard(str(params.uri))
        return EmptyResult()

    # MCPServer has no public hook for these; the low-level server is where the SDK registers handlers.
    lowlevel = server._lowlevel_server
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)


def _connection(session: Any) -> Any:
    """The client connection behind a request's session (sessions are per request; connections persist).

    The SDK offers no public accessor; subscriptions must outlive the request that made them.
    """
    return session._connection


async def announce_change(ctx: Context, before: Issue | None, after: Issue | None) -> None:
    """After a write: drop cached listings and notify subscribers of every resource that changed."""
    state: AppState = ctx.request_context.lifespan_context
    state.listings.clear()
    uris = {RECENT_URI}
    for issue in (before, after):
        if issue is None:
            continue
        uris.update(issue_uri(ref) for ref in (issue.number, issue.id) if ref is not None)
        if issue.state:
            uris.add(STATE_TEMPLATE.format(state=issue.state))
        uris.update(TAG_TEMPLATE.format(tag=tag) for tag in issue.tags or [])
    for uri in sorted(uris):
        try:
            await ctx.notify_resource_updated(uri)
        except Exception:  # a notification must never fail the write it reports
            log.debug("could not publish update for %s", uri, exc_info=True)
    for connection, subscribed in list(state.legacy_subscribers.items()):
        for uri in sorted(uris & subscribed):
            try:
                await connection.outbound.notify("notifications/resources/updated", {"uri": uri})
            except Exception:  # that client has gone away
                state.legacy_subscribers.pop(connection, None)
                break
