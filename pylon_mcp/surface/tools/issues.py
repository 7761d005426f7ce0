"""Read tools: get_issue and search_issues."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field, WithJsonSchema

from pylon_mcp.directory import LISTED
from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.errors import PylonBadRequest
from pylon_mcp.pylon.filters import FIELDS_HINT, combine_and, custom_fields, validate_filter
from pylon_mcp.pylon.models import Filter
from pylon_mcp.pylon.timefmt import format_rfc3339, parse_rfc3339, utcnow
from pylon_mcp.render.issues import (
    IssueDetail,
    SearchResult,
    detail_off_loop,
    dump,
    issue_text,
    newest_first,
    search_text,
    summarize,
)
from pylon_mcp.surface.tools.args import (
    DATE_HINT,
    STATES_TEXT,
    Id,
    IssueId,
    Rfc3339,
    SearchFilter,
    StateList,
    Tags,
    count,
    listed,
)
from pylon_mcp.surface.tools.context import app
from pylon_mcp.surface.tools.conversation import latest_messages_section
from pylon_mcp.surface.tools.customers import account_section
from pylon_mcp.surface.tools.errors import bad_argument, describe
from pylon_mcp.surface.tools.names import names_note, resolve, resolve_state
from pylon_mcp.surface.tools.results import result

DEFAULT_WINDOW = timedelta(days=30)


def _filter_level(subfilters: dict[str, Any] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "field": {"type": "string"},
        "operator": {"type": "string"},
        "value": {"type": "string"},
        "values": {"type": "array", "items": {"type": "string"}},
    }
    if subfilters is not None:
        properties["subfilters"] = {"type": "array", "items": subfilters}
    return {"type": "object", "properties": properties, "required": ["operator"]}


# The published filter is the grammar's shape only. Which operators each field takes (a
# 2 KB table) is taught by the error a wrong one gets (pylon/filters.py), not on every turn.
FILTER_SCHEMA: dict[str, Any] = {
    **_filter_level(_filter_level(_filter_level(None))),
    "description": "Pylon filter, 3 levels max: {field, operator, value}; in/not_in/time_range take values; "
    "and/or take subfilters. E.g. {field: tags, operator: not_in, values: [spam]}. Operators include equals, "
    "contains, string_contains, time_is_after, time_is_before, is_set, is_unset. "
    "A wrong field or operator gets the allowed ones.",
}


async def get_issue(
    issue_id: IssueId,
    ctx: Context,
    include: listed(
        Literal["followers", "raw_html", "messages", "account"],
        max_length=4,
        description="raw_html: body as HTML; messages: the latest ones; account: owner, tier, open issues",
    ) = [],  # noqa: B006 - pydantic copies defaults
    body_offset: count(ge=0, description="Where a long body's next part starts") = 0,
) -> Annotated[CallToolResult, IssueDetail]:
    """Get a Pylon issue by ID or number: state, people, tags, times, link and body as Markdown.

    A cut body says which body_offset reads on."""
    state = app(ctx)
    ref = issue_ref(issue_id)
    issue = await state.pylon.get_issue(ref)
    state.recent.remember([issue])
    followers = await state.pylon.get_followers(issue.id or ref) if "followers" in include else None
    if followers is not None and issue.id:
        state.recent.remember_followers(issue.id, followers)
    names = await state.directory.names([issue], followers=followers or ())
    out = await detail_off_loop(
        issue,
        body_format="html" if "raw_html" in include else "markdown",
        body_offset=body_offset,
        body_chars=state.settings.body_chars,
        followers=followers,
        names=names,
    )
    text = issue_text(out, str(issue.number or ref), names) + names_note(names.note, "\n")
    structured = dump(out)
    if "messages" in include:
        section, latest = await latest_messages_section(state, issue)
        text, structured = text + "\n" + section, {**structured, "latest_messages": latest}
    if "account" in include:
        section, card = await account_section(state, issue)
        text += "\n" + section
        if card is not None:
            structured = {**structured, "account_card": card}
    return result(text, structured)


def _time_arg(name: str, value: str) -> str:
    try:
        return format_rfc3339(parse_rfc3339(value))
    except ValueError as exc:
        raise bad_argument(name, str(exc) + DATE_HINT) from None


def flat_filters(
    *,
    state: list[str] | None,
    tags: list[str] | None,
    assignee_id: str | None,
    account_id: str | None,
    requester_id: str | None,
    team_id: str | None,
    issue_type: str | None,
    created_after: str | None,
    created_before: str | None,
    updated_after: str | None,
    updated_before: str | None,
    title_contains: str | None,
    body_contains: str | None,
) -> list[Filter]:
    """The flat search arguments as spec filters, to be ANDed."""
    out: list[Filter] = []

    def ids(field: str, value: str | None, *, unset_ok: bool) -> None:
        if value is None:
            return
        if value == "":
            if not unset_ok:
                raise bad_argument(field, "must not be empty")
            out.append(Filter(field=field, operator="is_unset"))
        else:
            out.append(Filter(field=field, operator="equals", value=value))

    if state:
        out.append(
            Filter(field="state", operator="equals", value=state[0])
            if len(state) == 1
            else Filter(field="state", operator="in", values=list(state))
        )
    if tags:
        out.append(Filter(field="tags", operator="in", values=list(tags)))
    ids("assignee_id", assignee_id, unset_ok=True)
    ids("account_id", account_id, unset_ok=True)
    ids("requester_id", requester_id, unset_ok=True)
    ids("team_id", team_id, unset_ok=False)
    if issue_type:
        out.append(Filter(field="issue_type", operator="equals", value=issue_type))
    for field, after, before, after_name, before_name in (
        ("created_at", created_after, created_before, "created_after", "created_before"),
        ("updated_at", updated_after, updated_before, "updated_after", "updated_before"),
    ):
        start = _time_arg(after_name, after) if after else None
        end = _time_arg(before_name, before) if before else None
        if start and end:
            if parse_rfc3339(end) <= parse_rfc3339(start):
                raise bad_argument(before_name, f"must be later than {after_name} ({start})")
            out.append(Filter(field=field, operator="time_range", values=[start, end]))
        elif start:
            out.append(Filter(field=field, operator="time_is_after", value=start))
        elif end:
            out.append(Filter(field=field, operator="time_is_before", value=end))
    if title_contains:
        out.append(Filter(field="title", operator="string_contains", value=title_contains))
    if body_contains:
        out.append(Filter(field="body_html", operator="string_contains", value=body_contains))
    return out


async def search_issues(
    ctx: Context,
    state: Annotated[StateList | None, Field(description=f"Any of: {STATES_TEXT}")] = None,
    tags: Annotated[Tags | None, Field(description="Any of these tags")] = None,
    assignee_id: Annotated[
        str | None, Field(max_length=128, description='User ID, email or name; "" = unassigned')
    ] = None,
    account_id: Annotated[
        str | None, Field(max_length=128, description='ID, name or domain; "" = none')
    ] = None,
    requester_id: Annotated[
        str | None, Field(max_length=128, description='Contact ID or email; "" = none')
    ] = None,
    team_id: Annotated[Id | None, Field(description="ID or name")] = None,
    issue_type: Literal["conversation", "ticket"] | None = None,
    created_after: Annotated[Rfc3339 | None, Field(description="")] = None,
    created_before: Annotated[Rfc3339 | None, Field(description="")] = None,
    updated_after: Annotated[Rfc3339 | None, Field(description="")] = None,
    updated_before: Annotated[Rfc3339 | None, Field(description="")] = None,
    title_contains: Annotated[str | None, Field(min_length=1, max_length=200)] = None,
    body_contains: Annotated[str | None, Field(min_length=1, max_length=200)] = None,
    filter: Annotated[SearchFilter | None, WithJsonSchema(FILTER_SCHEMA)] = None,
    limit: count(ge=1, le=100, description="Default 20") = 20,
    cursor: Annotated[str | None, Field(max_length=2000, description="next_cursor of the last page")] = None,
) -> Annotated[CallToolResult, SearchResult]:
    """Search Pylon issues; each page newest first. All arguments are ANDed; times are RFC3339 or a date.

    With none, lists issues created in the last 30 days. More pages come with a cursor."""
    directory = app(ctx).directory
    parts = flat_filters(
        state=[await resolve_state(directory, "state", s) or s for s in state] if state else state,
        tags=tags,
        assignee_id=await resolve(directory, "assignee_id", assignee_id),
        account_id=await resolve(directory, "account_id", account_id),
        requester_id=await resolve(directory, "requester_id", requester_id),
        team_id=await resolve(directory, "team_id", team_id),
        issue_type=issue_type,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
        title_contains=title_contains,
        body_contains=body_contains,
    )
    if filter is not None:
        parts.append(validate_filter(filter.model_dump(exclude_none=True)))
    note = ""
    if not parts:
        since = format_rfc3339((utcnow() - DEFAULT_WINDOW).replace(microsecond=0))
        parts.append(Filter(field="created_at", operator="time_is_after", value=since))
        note = f"No criteria given, so this lists issues created since {since}.\n"
    combined = combine_and(parts)  # each part is valid; the client checks the whole tree before sending
    server = app(ctx)  # not `state`: that is an argument here
    try:
        page = await server.pylon.search_issues(combined, limit=limit, cursor=cursor)
    except PylonBadRequest as exc:
        guessed = custom_fields(combined)
        if not guessed:
            raise
        # Any slug passes our check as a custom field, so a guessed name ("status") is Pylon's to
        # refuse; the refusal then teaches the fields the schema no longer lists.
        raise ToolError(
            f"{describe(exc)} If {', '.join(map(repr, guessed))} is not one of your custom fields: {FIELDS_HINT}."
        ) from exc
    server.recent.remember(page.issues)
    names = await directory.names(page.issues, shows=LISTED)
    out = SearchResult(
        issues=[summarize(issue, preview=True, names=names) for issue in newest_first(page.issues)],
        count=len(page.issues),
        has_more=page.has_next_page,
        next_cursor=page.cursor if page.has_next_page else None,
        filter=combined.to_body(),
    )
    return result(note + search_text(out) + names_note(names.note, "\n"), dump(out))
