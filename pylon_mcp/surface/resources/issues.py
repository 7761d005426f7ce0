"""Recent issues as MCP resources, plus templates for one issue, one state and one tag.

Listings come from `POST /issues/search` on `created_at` (better rate limits than
`GET /issues`, no 30-day cap), are cached for PYLON_RESOURCE_TTL seconds, and
are rendered like search results. Writes announce what they changed through
pylon_mcp/changes.py, which drops cached listings and tells subscribers.
Rendering is imported on the first read: start-up only registers the resources.
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

from pylon_mcp.changes import ISSUE_TEMPLATE, RECENT_URI, STATE_TEMPLATE, TAG_TEMPLATE, issue_uri
from pylon_mcp.directory import LISTED
from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.errors import InvalidRequest, PylonBadRequest, PylonError, PylonNotFound
from pylon_mcp.pylon.filters import combine_and, validate_filter
from pylon_mcp.pylon.models import Filter
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.render.errors import describe
from pylon_mcp.render.text import inline
from pylon_mcp.state import AppState, StateHolder

log = logging.getLogger("pylon_mcp.resources")

LISTING_LIMIT = 50
MARKDOWN = "text/markdown"


async def recent_listing(state: AppState, extra: Filter | None = None, label: str = "") -> str:
    """Issues created in the last PYLON_RECENT_DAYS days, shown newest first, cached briefly."""
    from pylon_mcp.render.issues import SearchResult, newest_first, search_text, summarize

    days = state.settings.recent_days
    key = f"{days}:{extra.model_dump_json() if extra else ''}"
    cached = await _cached(state, key)
    if cached is not None:
        return cached
    since = format_rfc3339((utcnow() - timedelta(days=days)).replace(microsecond=0))
    window = Filter(field="created_at", operator="time_is_after", value=since)
    query = combine_and([window, extra] if extra else [window])  # the client validates before sending
    page = await state.pylon.search_issues(query, limit=LISTING_LIMIT)
    state.seen.record(page.issues)
    state.recent.remember(page.issues)
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
    names = await state.directory.names(page.issues, shows=LISTED)
    issues = [summarize(i, preview=True, names=names) for i in newest_first(page.issues)]
    body = search_text(SearchResult(issues=issues, count=shown, has_more=False))
    if names.note:
        body += "\n" + names.note
    text = head + "\n" + body.split("\n", 1)[1] if page.issues else head + "\nNone."
    try:
        await state.listings.put(key, text)
    except Exception:  # the shared cache is down: serve uncached
        log.debug("could not cache listing %s", key, exc_info=True)
    return text


async def _cached(state: AppState, key: str) -> str | None:
    try:
        return await state.listings.get(key)
    except Exception:  # the shared cache is down: reads go to Pylon
        log.debug("could not read cached listing %s", key, exc_info=True)
        return None


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
        from pylon_mcp.render.issues import detail_off_loop, issue_text

        uri = issue_uri(issue_id)
        state: AppState = ctx.request_context.lifespan_context
        try:
            issue = await state.pylon.get_issue(issue_ref(issue_id))
        except (PylonNotFound, InvalidRequest) as exc:
            raise _not_found(uri, "no such issue ID or number") from exc
        except PylonError as exc:
            raise ResourceError(describe(exc)) from exc
        state.seen.record([issue])
        state.recent.remember([issue])
        names = await state.directory.names([issue])
        out = await detail_off_loop(
            issue, body_format="markdown", body_offset=0, body_chars=state.settings.body_chars, names=names
        )
        return issue_text(out, str(issue.number or issue_id), names) + (
            f"\n{names.note}" if names.note else ""
        )

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
    """`resources/subscribe` for handshake-era clients on stdio (2026-07-28 clients use `subscriptions/listen`).

    Not registered over stateless HTTP, where no connection outlives the request (see changes.py).
    """

    async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
        holder.get().legacy.add(_connection(ctx.session), str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
        holder.get().legacy.remove(_connection(ctx.session), str(params.uri))
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
