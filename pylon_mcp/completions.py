"""Argument completions for the resource templates and prompts.

Known values: the five base states plus custom states seen in Pylon's answers,
priorities, tags seen in recent issues (most used first), recent issue numbers
and a few day spans. Seen values fill in as the server reads issues; a first
completion for tags or issue numbers reads the recent listing once (cached).
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

from pylon_mcp.message_resources import complete_message_argument
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import BASE_STATES, PRIORITIES
from pylon_mcp.resources import recent_listing
from pylon_mcp.state import StateHolder

log = logging.getLogger("pylon_mcp.completions")

MAX_VALUES = 100
DAY_SPANS = ("1", "3", "7", "14", "30")


def register_completions(server: MCPServer[Any], holder: StateHolder) -> None:
    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        name = argument.name
        if name in ("message_id", "thread_id"):
            return await complete_message_argument(holder.get(), name, argument.value, context)
        if name not in ("state", "priority", "tag", "issue_id", "days"):
            return None
        state = holder.get()
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
        prefix = argument.value.lower()
        matches = [value for value in options if value.lower().startswith(prefix)]
        return Completion(values=matches[:MAX_VALUES], total=len(matches), has_more=len(matches) > MAX_VALUES)
