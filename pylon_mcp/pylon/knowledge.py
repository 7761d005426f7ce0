"""The knowledge endpoints: knowledge bases, collections, articles, macros, feature requests.

Mixed into `PylonClient`, so they share its one transport (retries, cooldown,
redaction, errors). Every call here is a read (feature-request search is a POST
that changes nothing), so each is safe to repeat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import Pagination
from pylon_mcp.pylon.transport import Envelope, Retry

if TYPE_CHECKING:
    from pylon_mcp.pylon.knowledge_models import (
        Article,
        ArticlePage,
        Collection,
        FeatureRequest,
        KnowledgeBase,
        Macro,
        MacroGroup,
        SearchFeatureRequestsRequest,
    )

ARTICLE_PAGE_SIZE = 100  # the spec's default page; up to 999 are allowed


def _models() -> Any:
    # Imported on first use: a server that never searches knowledge does not build these models.
    from pylon_mcp.pylon import knowledge_models

    return knowledge_models


def segment(value: str, field: str) -> str:
    """An ID as one safe path segment: never empty, never `..` or a path of its own."""
    ref = str(value).strip()
    if not ref or len(ref) > 200 or ref in (".", "..") or any(ch in ref for ch in "/?#\\"):
        raise InvalidRequest(f"{field} {str(value)[:80]!r} is not an ID", field=field)
    return quote(ref, safe="")


class KnowledgeEndpoints:
    """`/knowledge-bases…`, `/macros`, `/macro-groups`, `/feature-requests…` (reads only)."""

    if TYPE_CHECKING:

        async def _request(
            self, method: str, path: str, *, retry: Retry, json: Any = None, params: Any = None
        ) -> Envelope: ...

    async def _read(self, path: str, params: dict[str, str] | None = None) -> Envelope:
        return await self._request("GET", path, retry=Retry.SAFE, params=params)

    async def list_knowledge_bases(self) -> list[KnowledgeBase]:
        env = await self._read("/knowledge-bases")
        return [_models().KnowledgeBase.model_validate(item) for item in env.data or []]

    async def list_collections(self, knowledge_base_id: str) -> list[Collection]:
        env = await self._read(
            f"/knowledge-bases/{segment(knowledge_base_id, 'knowledge_base_id')}/collections"
        )
        return [_models().Collection.model_validate(item) for item in env.data or []]

    async def list_articles(
        self, knowledge_base_id: str, *, cursor: str | None = None, limit: int = ARTICLE_PAGE_SIZE
    ) -> ArticlePage:
        """One page of a knowledge base's articles (every state: drafts too; the caller filters)."""
        params = {"limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        kb = segment(knowledge_base_id, "knowledge_base_id")
        env = await self._read(f"/knowledge-bases/{kb}/articles", params)
        pagination = env.pagination or Pagination()
        m = _models()
        return m.ArticlePage(
            articles=[m.Article.model_validate(item) for item in env.data or []],
            cursor=pagination.cursor or None,
            has_next_page=bool(pagination.has_next_page and pagination.cursor),
        )

    async def get_article(self, knowledge_base_id: str, article_id: str) -> Article:
        kb = segment(knowledge_base_id, "knowledge_base_id")
        env = await self._read(f"/knowledge-bases/{kb}/articles/{segment(article_id, 'article_id')}")
        return _models().Article.model_validate(env.data or {})

    async def list_macros(self, macro_group_id: str | None = None) -> list[Macro]:
        params = {"macro_group_id": macro_group_id} if macro_group_id else None
        env = await self._read("/macros", params)
        return [_models().Macro.model_validate(item) for item in env.data or []]

    async def get_macro(self, macro_id: str) -> Macro:
        env = await self._read(f"/macros/{segment(macro_id, 'macro_id')}")
        return _models().Macro.model_validate(env.data or {})

    async def list_macro_groups(self) -> list[MacroGroup]:
        env = await self._read("/macro-groups")
        return [_models().MacroGroup.model_validate(item) for item in env.data or []]

    async def search_feature_requests(self, body: SearchFeatureRequestsRequest) -> list[FeatureRequest]:
        """Pylon's own keyword and semantic search over feature requests."""
        env = await self._request("POST", "/feature-requests/search", json=body.to_body(), retry=Retry.SAFE)
        return [_models().FeatureRequest.model_validate(item) for item in env.data or []]

    async def get_feature_request(
        self, feature_request_id: str, *, fetch_evidence: bool = False
    ) -> FeatureRequest:
        params = {"fetch_evidence": "true"} if fetch_evidence else None
        env = await self._read(
            f"/feature-requests/{segment(feature_request_id, 'feature_request_id')}", params
        )
        return _models().FeatureRequest.model_validate(env.data or {})
