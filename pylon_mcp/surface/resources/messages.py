"""The conversation as a resource (`pylon://issues/{issue_id}/messages`) and completions for message/thread IDs.

Rendering (and the conversation tool's limits) are imported on first use: start-up only registers the template.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp_types import Completion, CompletionContext

from pylon_mcp.attachments.listing import numbered, numbers
from pylon_mcp.pylon.client import issue_ref
from pylon_mcp.pylon.errors import InvalidRequest, PylonError, PylonNotFound
from pylon_mcp.state import AppState
from pylon_mcp.surface.tools.errors import describe

log = logging.getLogger("pylon_mcp.resources")

MESSAGES_TEMPLATE = "pylon://issues/{issue_id}/messages"
MAX_VALUES = 100


def messages_uri(ref: str | int) -> str:
    return MESSAGES_TEMPLATE.format(issue_id=ref)


def register_message_resources(server: MCPServer[Any]) -> None:
    @server.resource(MESSAGES_TEMPLATE, name="issue_messages", title="An issue's conversation",
                     mime_type="text/markdown",
                     description="One issue's messages and internal notes, oldest first.")  # fmt: skip
    async def issue_messages(issue_id: str, ctx: Context) -> str:
        from pylon_mcp.render.html import convert_off_loop
        from pylon_mcp.render.messages import conversation, conversation_text
        from pylon_mcp.surface.tools.conversation import PREPARED

        uri = messages_uri(issue_id)
        state: AppState = ctx.request_context.lifespan_context
        try:
            issue = await state.pylon.get_issue(issue_ref(issue_id))
            messages, incomplete = await state.pylon.all_messages(issue.id or issue_ref(issue_id))
        except (PylonNotFound, InvalidRequest) as exc:
            raise ResourceNotFoundError(f"Resource not found: {uri} (no such issue ID or number)") from exc
        except PylonError as exc:
            raise ResourceError(describe(exc)) from exc
        state.seen.record([issue])
        ref = str(issue.number or issue_id)
        budget = state.settings.body_chars * 3
        files = numbers(numbered(issue.attachment_urls, (m.file_urls for m in messages)))  # as get_attachment
        await convert_off_loop([m.message_html for m in messages[:PREPARED]])  # large bodies: in a process
        shaped = await anyio.to_thread.run_sync(  # converting customer HTML is CPU work
            partial(
                conversation, messages, ref=ref, start=0, budget=budget, incomplete=incomplete, numbers=files
            )
        )
        return conversation_text(shaped)


async def complete_message_argument(
    state: AppState, name: str, prefix: str, context: CompletionContext | None
) -> Completion:
    """IDs of the issue named in the other arguments: messages (newest first; customer-visible for
    message_id) or threads. Empty until issue_id is filled in."""
    issue_id = (context.arguments or {}).get("issue_id") if context else None
    values: list[str] = []
    if issue_id:
        try:
            issue = await state.pylon.get_issue(issue_ref(issue_id))
            ident = issue.id or issue_ref(issue_id)
            if name == "thread_id":
                values = [t.id for t in await state.pylon.list_threads(ident) if t.id]
            else:
                from pylon_mcp.render.messages import role_of

                messages, _ = await state.pylon.all_messages(ident)
                values = [m.id for m in reversed(messages) if m.id and role_of(m) != "internal note"]
        except PylonError:
            log.info("completion could not read issue %s", issue_id, exc_info=True)
    matches = [value for value in values if value.lower().startswith(prefix.lower())]
    return Completion(values=matches[:MAX_VALUES], total=len(matches), has_more=len(matches) > MAX_VALUES)
