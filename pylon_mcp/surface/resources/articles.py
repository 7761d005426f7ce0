"""A published help article as a resource: `pylon://articles/{article_id}` (the same text get_article gives)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.state import AppState
from pylon_mcp.surface.tools.errors import describe

ARTICLE_TEMPLATE = "pylon://articles/{article_id}"


def register_article_resources(server: MCPServer[Any]) -> None:
    @server.resource(ARTICLE_TEMPLATE, name="article", title="A help article", mime_type="text/markdown",
                     description="A published knowledge-base article as Markdown.")  # fmt: skip
    async def article(article_id: str, ctx: Context) -> str:
        from pylon_mcp.render.knowledge import article_text
        from pylon_mcp.surface.tools.knowledge import read_article

        uri = ARTICLE_TEMPLATE.format(article_id=article_id)
        state: AppState = ctx.request_context.lifespan_context
        try:
            found = await read_article(state, article_id, 0, budget=state.settings.body_chars * 3)
        except ToolError as exc:
            raise ResourceNotFoundError(f"Resource not found: {uri} ({exc})") from exc
        except PylonError as exc:
            raise ResourceError(describe(exc)) from exc
        return article_text(found)
