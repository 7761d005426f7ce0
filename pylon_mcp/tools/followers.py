"""manage_followers: add or remove users and contacts following an issue.

Listing followers is a read, so it lives on get_issue (include=["followers"]) and
stays available in read-only mode.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.models import FollowersRequest
from pylon_mcp.render.issues import Change, FollowerRef, WriteResult, dump, write_text
from pylon_mcp.tools.args import Ids, IssueId
from pylon_mcp.tools.context import announce_change, app
from pylon_mcp.tools.errors import bad_argument
from pylon_mcp.tools.names import named, resolve_many
from pylon_mcp.tools.results import result


async def manage_followers(
    issue_id: IssueId,
    operation: Annotated[
        Literal["add", "remove"], Field(description="'add' or 'remove' the given followers.")
    ],
    ctx: Context,
    user_ids: Annotated[Ids | None, Field(description="Users (your team): IDs, emails or names.")] = None,
    contact_ids: Annotated[Ids | None, Field(description="Contacts (customers): IDs or emails.")] = None,
) -> Annotated[CallToolResult, WriteResult]:
    """Add or remove followers (users and/or contacts) of a Pylon issue. Returns the follower list after."""
    if not user_ids and not contact_ids:
        raise bad_argument("user_ids", "give user_ids and/or contact_ids")
    directory = app(ctx).directory  # names to IDs before anything is written
    user_ids = await resolve_many(directory, "user_ids", user_ids)
    contact_ids = await resolve_many(directory, "contact_ids", contact_ids)
    pylon = app(ctx).pylon
    issue = await pylon.get_issue(issue_ref(issue_id))
    ref = issue.id or issue_ref(issue_id)
    before = {(f.type, f.id) for f in await pylon.get_followers(ref)}
    after_list = await pylon.update_followers(
        ref, FollowersRequest(user_ids=user_ids, contact_ids=contact_ids, operation=operation)
    )
    after = {(f.type, f.id) for f in after_list}
    if after != before:
        await announce_change(ctx, issue, None)
    changes = (
        [
            Change(
                field="followers",
                before=sorted(f"{k} {i}" for k, i in before),
                after=sorted(f"{k} {i}" for k, i in after),
            )
        ]
        if before != after
        else []
    )
    out = WriteResult(
        action="followers_updated" if changes else "unchanged",
        issue=await named(app(ctx).directory, issue),
        changes=changes or None,
        followers=[FollowerRef(id=f.id or "", type=f.type or "user") for f in after_list],
    )
    return result(write_text(out), dump(out))
