"""Argument completions for the resource templates and prompts.

Known values: the organisation's statuses and tags (from the directory; base
states and tags seen in recent issues when it cannot be asked), user emails,
team and account names, priorities, recent issue numbers and a few day spans.
Seen values fill in as the server reads issues; a first completion for issue
numbers reads the recent listing once (cached).
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from pylon_mcp.directory import Directory
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import BASE_STATES, PRIORITIES
from pylon_mcp.render.text import line_breaking_character, strip_invisible
from pylon_mcp.state import StateHolder
from pylon_mcp.surface.resources.issues import recent_listing
from pylon_mcp.surface.resources.messages import complete_message_argument

log = logging.getLogger("pylon_mcp.completions")

MAX_VALUES = 100
MAX_VALUE_CHARS = 200  # longer values are no argument anyone types
DIRECTORY_ARGUMENTS = (
    "assignee_id",
    "team_id",
    "account_id",
    "account",
)  # account: pylon://accounts/{account}
DAY_SPANS = ("1", "3", "7", "14", "30")


def register_completions(server: MCPServer[Any], holder: StateHolder) -> None:
    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        return usable(await _complete(holder, argument, context))


def usable(completion: Completion | None) -> Completion | None:
    """Only values that fit a one-line argument: tags, names and IDs come from people and Pylon, and a
    value with a line break or an invisible character would carry text into the client's UI or the
    model's context unlabelled (and the tools refuse such arguments anyway)."""
    if completion is None:
        return None
    values = [v for v in completion.values if _one_line_value(v)]
    if len(values) == len(completion.values):
        return completion
    total = None if completion.total is None else completion.total - (len(completion.values) - len(values))
    return Completion(values=values, total=total, has_more=completion.has_more)


def _one_line_value(value: str) -> bool:
    return (
        len(value) <= MAX_VALUE_CHARS
        and line_breaking_character(value) is None
        and strip_invisible(value) == value
    )


async def _complete(
    holder: StateHolder, argument: CompletionArgument, context: CompletionContext | None
) -> Completion | None:
    name = argument.name
    if name in ("message_id", "thread_id"):
        return await complete_message_argument(holder.get(), name, argument.value, context)
    if name not in ("state", "priority", "tag", "issue_id", "days", *DIRECTORY_ARGUMENTS):
        return None
    state = holder.get()
    prefix = argument.value.lower()
    if name in DIRECTORY_ARGUMENTS or name in ("state", "tag"):
        known = await _from_directory(state.directory, name, argument.value)
        if known is not None:
            matches = [v for v in known if v.lower().startswith(prefix) or prefix in v.lower().split()]
            return Completion(values=matches[:MAX_VALUES], total=len(matches),
                              has_more=len(matches) > MAX_VALUES)  # fmt: skip
    if name in ("tag", "issue_id") and not (state.seen.tags if name == "tag" else state.seen.numbers):
        try:
            await recent_listing(state)  # fills `seen`
        except PylonError:
            log.info("completion could not read recent issues", exc_info=True)
    if name == "state":
        options = [*BASE_STATES, *sorted(state.seen.states)]
    elif name == "priority":
        options = list(PRIORITIES)
    elif name == "tag":
        options = [tag for tag, _ in state.seen.tags.most_common()]
    elif name == "issue_id":
        options = [str(n) for n in sorted(state.seen.numbers, reverse=True)]
    else:
        options = list(DAY_SPANS)
    matches = [value for value in options if value.lower().startswith(prefix)]
    return Completion(values=matches[:MAX_VALUES], total=len(matches), has_more=len(matches) > MAX_VALUES)


async def _from_directory(directory: Directory, name: str, typed: str) -> list[str] | None:
    """Values the directory knows for an argument; None when it cannot be asked (fall back to seen values)."""
    try:
        if name == "assignee_id":
            return [u.email for u in await directory.users() if u.email]
        if name == "team_id":
            return [t.name for t in await directory.teams() if t.name]
        if name == "state":
            return [s.slug for s in await directory.statuses() if s.slug and not s.is_archived]
        if name == "tag":
            return [t.value for t in await directory.tags() if t.value]
        if len(typed.strip()) >= 2:  # accounts: one search per two-letter start, filtered as typing goes on
            return [a.name for a in await directory.search_accounts(typed.strip()[:2]) if a.name]
        return [e.name for e in directory.cached_entries("account") or []]
    except PylonError:
        log.info("completion could not ask the directory", exc_info=True)
        return None
