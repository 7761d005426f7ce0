"""What the index holds: one `Document` per article, macro, resolved issue or feature request.

Every text passes the inbound sanitising policy (pylon_mcp/render/html.py) before it is
built into a document, so hidden text, scripts and invisible characters never reach the
index, and so never a search result. Building is CPU work: callers run it off the event loop.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pylon_mcp.render.html import html_to_markdown
from pylon_mcp.render.text import strip_invisible

Kind = Literal["article", "macro", "issue", "feature_request"]
KINDS: tuple[Kind, ...] = ("article", "macro", "issue", "feature_request")
INDEXED_KINDS: tuple[Kind, ...] = ("article", "macro", "issue")  # feature requests come from Pylon's search
MAX_BODY_CHARS = 200_000  # of one document's text kept in the index (a huge body is mostly noise)


@dataclass(frozen=True)
class Document:
    kind: Kind
    id: str
    title: str
    body: str  # sanitised Markdown
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def digest(self) -> str:
        """Changes when anything shown changes: a refresh rewrites only what did."""
        raw = json.dumps([self.title, self.body, self.meta], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "title": self.title, "body": self.body, "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        return cls(
            kind=data["kind"], id=data["id"], title=data["title"], body=data["body"], meta=data["meta"]
        )


def _markdown(html: str | None) -> str:
    if not html:
        return ""
    markdown, _ = html_to_markdown(html)
    return markdown[:MAX_BODY_CHARS]


def _title(text: str | None) -> str:
    return " ".join(strip_invisible(text or "").split())[:300]


def source_digest(*parts: Any) -> str:
    """A digest of what a document is made from: an unchanged source is not converted again."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_published(article: Any) -> bool:
    return bool(
        article.id and article.is_published and (article.current_published_content_html or "").strip()
    )


def article_source(article: Any, kb: Any, collections: dict[str, str]) -> str:
    return source_digest(
        article.title, article.current_published_content_html, article.url, article.is_unlisted,
        article.last_published_at, kb.id, kb.title, collections.get(article.collection_id or ""),
    )  # fmt: skip


def article_document(article: Any, kb: Any, collections: dict[str, str]) -> Document | None:
    """A published article's published content; None for a draft (never published)."""
    published = article.current_published_content_html or ""
    if not is_published(article):
        return None
    meta = {
        "source": article_source(article, kb, collections),
        "kb_id": kb.id,
        "kb": _title(kb.title),
        "collection": _title(collections.get(article.collection_id or "", "")) or None,
        "url": article.url,
        "unlisted": bool(article.is_unlisted),
        "published_at": article.last_published_at,
    }
    return Document("article", article.id, _title(article.title), _markdown(published), meta)


def macro_document(macro: Any, groups: dict[str, str]) -> Document | None:
    if not macro.id:
        return None
    meta = {"text_type": macro.text_type, "group": _title(groups.get(macro.macro_group_id or "", "")) or None}
    return Document("macro", macro.id, _title(macro.name), _markdown(macro.text_html), meta)


def issue_document(issue: Any) -> Document | None:
    if not issue.id:
        return None
    meta = {"number": issue.number, "link": issue.link, "resolved_at": issue.resolution_time}
    return Document("issue", issue.id, _title(issue.title), _markdown(issue.body_html), meta)


def feature_request_document(request: Any) -> Document | None:
    if not request.id:
        return None
    meta = {"status": request.request_status, "evidence_count": request.evidence_count}
    body = " ".join(strip_invisible(request.description or "").split())[:4000]
    return Document("feature_request", request.id, _title(request.title), body, meta)
