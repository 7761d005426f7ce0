"""manage_followers: add or remove users and contacts following an issue.

Listing followers is a read, so it lives on get_issue (include=["followers"]) and
stays available in read-only mode.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp.pylon.models import FollowersRequest, Issue
from pylon_mcp.render.issues import (
    Change,
    FollowerRef,
    WriteResult,
    change_line,
    dump,
    follower_label,
    follower_name,
    write_text,
)
from pylon_mcp.surface.tools.args import Ids, IssueId
from pylon_mcp.surface.tools.context import announce_change, app
from pylon_mcp.surface.tools.errors import bad_argument
from pylon_mcp.surface.tools.issue_writes import write_target
from pylon_mcp.surface.tools.names import named, resolve_many
from pylon_mcp.surface.tools.results import result


async def manage_followers(
    issue_id: IssueId,
    operation: Literal["add", "remove"],
    ctx: Context,
    user_ids: Annotated[Ids | None, Field(description="Your team: IDs, emails or names")] = None,
    contact_ids: Annotated[Ids | None, Field(description="Customers: IDs or emails")] = None,
) -> Annotated[CallToolResult, WriteResult]:
    """Add or remove followers (users, contacts) of a Pylon issue."""
    if not user_ids and not contact_ids:
        raise bad_argument("user_ids", "give user_ids and/or contact_ids")
    server = app(ctx)
    user_ids = await resolve_many(server.directory, "user_ids", user_ids)  # names to IDs before any write
    contact_ids = await resolve_many(server.directory, "contact_ids", contact_ids)
    target = await write_target(server, issue_id)
    before_list = server.recent.followers(target.id)  # None: not seen recently, so only "after" is known
    after_list = await server.pylon.update_followers(
        target.id, FollowersRequest(user_ids=user_ids, contact_ids=contact_ids, operation=operation)
    )
    server.recent.remember_followers(target.id, after_list)
    issue = target.before or Issue(id=target.id)
    before = {(f.type, f.id) for f in before_list} if before_list is not None else None
    after = {(f.type, f.id) for f in after_list}
    if after != before:
        await announce_change(ctx, issue, None)
    # Followers show as people do everywhere: users by name, contacts by email.
    names = await server.directory.names([], followers=[*(before_list or []), *after_list])

    def shown(pairs: set[tuple[str | None, str | None]]) -> list[str]:
        refs = (FollowerRef(id=i or "", type=k or "user") for k, i in pairs)
        return sorted(f"{ref.type} {follower_name(ref, names)}" for ref in refs)

    changes = (
        [Change(field="followers", before=shown(before), after=shown(after))]
        if before is not None and before != after
        else []
    )
    out = WriteResult(
        action="unchanged" if before == after else "followers_updated",
        issue=await named(server.directory, issue),
        changes=changes or None,
        followers=[FollowerRef(id=f.id or "", type=f.type or "user") for f in after_list],
    )
    if issue.number is None:  # an ID not seen recently: no summary to show, only the followers now
        verb = "No change to followers of" if out.action == "unchanged" else "Updated followers of"
        what = ": " + change_line(changes[0]) if changes else "."
        listed = ", ".join(follower_label(f, names) for f in out.followers or []) or "none"
        return result(f"{verb} issue {target.id}{what}\nFollowers: {listed}", dump(out))
    return result(write_text(out, names), dump(out))
