"""Knowledge tools: search_knowledge (articles, macros, resolved issues, feature requests) and get_article."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from pylon_mcp.pylon.errors import PylonError, PylonNotFound
from pylon_mcp.render.issues import Body, dump
from pylon_mcp.render.knowledge import (
    ArticleResult,
    KnowledgeSearchResult,
    article_text,
    hit_model,
    index_state,
    search_text,
)
from pylon_mcp.surface.tools.args import count, listed
from pylon_mcp.surface.tools.context import app
from pylon_mcp.surface.tools.errors import bad_argument, describe
from pylon_mcp.surface.tools.results import result

Kind = Literal["article", "macro", "issue", "feature_request"]
ALL_KINDS: tuple[str, ...] = ("article", "macro", "issue", "feature_request")


async def search_knowledge(
    query: Annotated[str, Field(min_length=1, max_length=500, description="The question, in plain words")],
    ctx: Context,
    kinds: listed(Kind, max_length=4, description="Default: all") = [],  # noqa: B006 - pydantic copies defaults
    limit: count(ge=1, le=20) = 5,
) -> Annotated[CallToolResult, KnowledgeSearchResult]:
    """Search help articles, macros (saved replies), resolved issues and feature requests.

    Cite what you use: article URL, issue number."""
    if not query.strip():
        raise bad_argument("query", "is empty; give the customer's question or its key words")
    wanted = [kind for kind in ALL_KINDS if not kinds or kind in kinds]
    outcome = await app(ctx).knowledge.search(query.strip(), wanted, limit)
    out = KnowledgeSearchResult(
        query=query.strip(),
        hits=[hit_model(hit) for hit in outcome.hits],
        index=index_state(outcome.status),
        feature_request_error=outcome.feature_request_error,
    )
    return result(search_text(query.strip(), outcome), dump(out))


async def get_article(
    article_id: Annotated[str, Field(min_length=1, max_length=200)],
    ctx: Context,
    body_offset: count(ge=0, description="Where a long article's next part starts") = 0,
) -> Annotated[CallToolResult, ArticleResult]:
    """Read a published help article as Markdown. A cut one says which body_offset reads on."""
    out = await read_article(app(ctx), article_id, body_offset)
    return result(article_text(out), dump(out))


async def read_article(
    state: Any, article_id: str, body_offset: int, *, budget: int | None = None
) -> ArticleResult:
    """The published article from Pylon (the index copy when Pylon cannot answer)."""
    from pylon_mcp.pylon.knowledge import segment

    article_id = article_id.strip()
    try:
        segment(article_id, "article_id")
    except PylonError:
        raise bad_argument("article_id", "is not an article ID (search_knowledge shows them)") from None
    knowledge = state.knowledge
    knowledge.start()
    indexed = await knowledge.article_location(article_id)
    pylon = state.pylon
    note = None
    try:
        article, kb = await _fetch(pylon, article_id, indexed)
    except _NoSuchArticle:
        raise ToolError(
            f"No article with ID {article_id[:80]!r} in any knowledge base; search_knowledge finds articles."
        ) from None
    except PylonError as exc:
        if indexed is None:
            raise
        article, kb = None, None
        note = f"[Pylon could not be reached ({describe(exc)}); this is the indexed copy.]"
    if article is not None:
        published = article.current_published_content_html or ""
        if not article.is_published or not published.strip():
            raise ToolError(f"Article {article_id[:80]!r} is not published: drafts are not shown.")
        from pylon_mcp.render.html import html_to_markdown_off_loop

        markdown, _ = await html_to_markdown_off_loop(published)
        collection = indexed.meta.get("collection") if indexed else None
        if collection is None and article.collection_id:
            try:
                collections = await pylon.list_collections(kb.id)
                collection = next((c.title for c in collections if c.id == article.collection_id), None)
            except PylonError:
                collection = None
        title, url, kb_title = article.title or "", article.url, kb.title if kb else None
        published_at, unlisted = article.last_published_at, bool(article.is_unlisted)
    else:
        assert indexed is not None
        markdown, title, url = indexed.body, indexed.title, indexed.meta.get("url")
        kb_title, collection = indexed.meta.get("kb"), indexed.meta.get("collection")
        published_at, unlisted = indexed.meta.get("published_at"), bool(indexed.meta.get("unlisted"))
    from pylon_mcp.render.text import compact_markdown, window

    part = window(compact_markdown(markdown), body_offset, budget or state.settings.body_chars)
    body = Body(format="markdown", text=part.text, offset=part.start, total_chars=part.total,
                next_offset=part.next_offset)  # fmt: skip
    return ArticleResult(id=article_id, title=title, url=url, knowledge_base=kb_title, collection=collection,
                         last_published_at=published_at, unlisted=unlisted or None, body=body, note=note)  # fmt: skip


class _NoSuchArticle(Exception):
    pass


async def _fetch(pylon: Any, article_id: str, indexed: Any) -> tuple[Any, Any]:
    """The article and its knowledge base: one request when indexed, else each knowledge base in turn."""
    if indexed is not None and indexed.meta.get("kb_id"):
        from pylon_mcp.pylon.knowledge_models import KnowledgeBase

        kb = KnowledgeBase(id=indexed.meta["kb_id"], title=indexed.meta.get("kb"))
        try:
            return await pylon.get_article(kb.id, article_id), kb
        except PylonNotFound:
            pass  # moved to another knowledge base since it was indexed
    for kb in await pylon.list_knowledge_bases():
        if not kb.id:
            continue
        try:
            return await pylon.get_article(kb.id, article_id), kb
        except PylonNotFound:
            continue
    raise _NoSuchArticle
