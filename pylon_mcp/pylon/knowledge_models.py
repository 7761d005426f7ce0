"""Models for the knowledge endpoints, from the spec's `KnowledgeBase`, `Collection`, `Article`,
`Macro`, `MacroGroup`, `FeatureRequest` and `SearchFeatureRequestsRequest` schemas.

Responses tolerate extra fields (Pylon adds fields over time); the request body forbids
unknown ones, because Pylon silently ignores them. Imported on first use (see
pylon/knowledge.py): a server that never searches knowledge does not build them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from pylon_mcp.pylon.models import CustomFieldValue, Filter, _Request, _Response


class KnowledgeBase(_Response):
    id: str | None = None
    title: str | None = None
    slug: str | None = None
    default_language: str | None = None
    supported_languages: list[str] | None = None


class VisibilityConfig(_Response):
    visibility: str | None = None
    ai_agent_access: str | None = None
    allowed_agent_ids: list[str] | None = None
    customer_visibility_condition: Filter | dict[str, Any] | None = None


class Collection(_Response):
    id: str | None = None
    title: str | None = None
    slug: str | None = None
    description: str | None = None
    icon: str | None = None
    parent_collection_id: str | None = None
    created_at: str | None = None
    visibility_config: VisibilityConfig | None = None


class Article(_Response):
    id: str | None = None
    title: str | None = None
    slug: str | None = None
    identifier: str | None = None
    url: str | None = None
    collection_id: str | None = None
    is_published: bool | None = None
    is_unlisted: bool | None = None
    last_published_at: str | None = None
    current_published_content_html: str | None = None
    current_draft_content_html: str | None = None
    visibility_config: VisibilityConfig | None = None


class MacroAction(_Response):
    type: str | None = None


class Visibility(_Response):
    type: str | None = None
    team_ids: list[str] | None = None
    user_ids: list[str] | None = None


class Macro(_Response):
    id: str | None = None
    name: str | None = None
    macro_group_id: str | None = None
    text_html: str | None = None
    text_type: str | None = None  # "reply", "note" or "email"
    has_actions: bool | None = None
    actions: list[MacroAction] | None = None
    visibility: Visibility | None = None
    created_at: str | None = None
    updated_at: str | None = None


class MacroGroup(_Response):
    id: str | None = None
    title: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class FeatureRequestEvidence(_Response):
    account_id: str | None = None
    external_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    summary: str | None = None


class FeatureRequest(_Response):
    """The spec's `FeatureRequest`; its search result (`FeatureRequestSearchResult`) adds account_ids."""

    id: str | None = None
    title: str | None = None
    description: str | None = None
    request_status: str | None = None
    evidence_count: int | None = None
    evidence: list[FeatureRequestEvidence] | None = None
    account_ids: list[str] | None = None
    custom_fields: dict[str, CustomFieldValue] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SearchFeatureRequestsRequest(_Request):
    query: str | None = None
    request_statuses: list[str] | None = None
    account_ids: list[str] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] | None = None


class ArticlePage(BaseModel):
    """One page of `GET /knowledge-bases/{id}/articles`."""

    articles: list[Article]
    cursor: str | None = None
    has_next_page: bool = False
