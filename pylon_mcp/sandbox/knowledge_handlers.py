"""The sandbox's knowledge endpoints: knowledge bases, collections, articles, macros, feature requests.

Written from the spec on its own terms: articles page 100 at a time (`limit` 1-999, an
opaque `cursor`), macros filter by `macro_group_id`, and feature-request search is
emulated with keyword matching (Pylon's own search is keyword plus semantic).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from pylon_mcp.sandbox.handlers import ApiError, Call, Page
from pylon_mcp.sandbox.knowledge_seed import KnowledgeBook, article_json

ARTICLE_PAGE = 100
FEATURE_REQUEST_LIMIT = 100
BUILT_IN_STATUSES = ("new", "in_progress", "closed", "archived")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"the", "and", "for", "with", "our", "you", "your", "are", "can", "not", "how", "what",
                   "does", "this", "that", "from", "when", "was", "has", "have", "why", "any"})  # fmt: skip

# Per-minute limits from the spec, per endpoint (the sandbox's own copy, checked against the spec).
RATE_LIMITS = {
    "GET /knowledge-bases": 60,
    "GET /knowledge-bases/{id}/collections": 20,
    "GET /knowledge-bases/{id}/articles": 20,
    "GET /knowledge-bases/{id}/articles/{article_id}": 60,
    "GET /macros": 60,
    "GET /macros/{id}": 60,
    "GET /macro-groups": 60,
    "POST /feature-requests/search": 20,
    "GET /feature-requests/{id}": 60,
}


def _book(call: Call) -> KnowledgeBook:
    return call.store.knowledge


def _kb(call: Call) -> str:
    kb_id = call.params["id"]
    if not any(kb["id"] == kb_id for kb in _book(call).knowledge_bases):
        raise ApiError(404, f"knowledge base {kb_id} not found")
    return kb_id


def list_knowledge_bases(call: Call) -> Page:
    return Page(list(_book(call).knowledge_bases), None)


def list_collections(call: Call) -> list[dict[str, Any]]:
    return list(_book(call).collections[_kb(call)])


def list_articles(call: Call) -> Page:
    kb_id = _kb(call)
    raw_limit = call.query.get("limit", str(ARTICLE_PAGE))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ApiError(400, "limit must be an integer") from None
    if not 0 < limit < 1000:
        raise ApiError(400, "limit must be greater than 0 and less than 1000")
    start = _decode(call.query.get("cursor"))
    with _book(call).lock:
        articles = list(_book(call).articles[kb_id])
    page = articles[start : start + limit]
    following = start + limit
    return Page([article_json(a) for a in page], _encode(following) if following < len(articles) else None)


def get_article(call: Call) -> dict[str, Any]:
    record = _book(call).article(_kb(call), call.params["article_id"])
    if record is None:
        raise ApiError(404, f"article {call.params['article_id']} not found")
    return article_json(record)


def list_macros(call: Call) -> list[dict[str, Any]]:
    group = call.query.get("macro_group_id")
    return [m for m in _book(call).macros if group is None or m["macro_group_id"] == group]


def get_macro(call: Call) -> dict[str, Any]:
    found = next((m for m in _book(call).macros if m["id"] == call.params["id"]), None)
    if found is None:
        raise ApiError(404, f"macro {call.params['id']} not found")
    return found


def list_macro_groups(call: Call) -> list[dict[str, str]]:
    return list(_book(call).macro_groups)


def search_feature_requests(call: Call) -> list[dict[str, Any]]:
    body = call.body if isinstance(call.body, dict) else {}
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise ApiError(400, "query must be a string")
    limit = body.get("limit", FEATURE_REQUEST_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 1000:
        raise ApiError(400, "limit must be between 1 and 1000")
    statuses = body.get("request_statuses")
    if statuses is not None and not (
        isinstance(statuses, list) and all(isinstance(s, str) for s in statuses)
    ):
        raise ApiError(400, "request_statuses must be a list of strings")
    words = {w for w in _WORD.findall((query or "").lower()) if len(w) > 2 and w not in _STOP}
    scored: list[tuple[int, int, dict[str, Any]]] = []
    for index, request in enumerate(_book(call).feature_requests):
        if statuses and request["request_status"] not in statuses:
            continue
        text = set(_WORD.findall(f"{request['title']} {request['description']}".lower()))
        # Keyword matching with a crude stem: "exports" matches "export".
        score = sum(
            1 for w in words if w in text or w.rstrip("s") in text or any(t.startswith(w[:5]) for t in text)
        )
        if query and not score:
            continue
        scored.append((-score, index, request))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [request for _, _, request in scored[:limit]]


def get_feature_request(call: Call) -> dict[str, Any]:
    found = next((r for r in _book(call).feature_requests if r["id"] == call.params["id"]), None)
    if found is None:
        raise ApiError(404, f"feature request {call.params['id']} not found")
    out = dict(found)
    if call.query.get("fetch_evidence") == "true":
        out["evidence"] = [{"source_type": "manual", "summary": "Asked for on a call"}]
    return out


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"a:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "a":
            raise ValueError
        return max(0, int(offset))
    except ValueError:
        raise ApiError(400, "invalid cursor") from None


_KB = r"^/knowledge-bases/(?P<id>[^/]+)"
ROUTES = [
    ("GET", r"^/knowledge-bases$", "GET /knowledge-bases", list_knowledge_bases),
    ("GET", _KB + r"/collections$", "GET /knowledge-bases/{id}/collections", list_collections),
    ("GET", _KB + r"/articles$", "GET /knowledge-bases/{id}/articles", list_articles),
    (
        "GET",
        _KB + r"/articles/(?P<article_id>[^/]+)$",
        "GET /knowledge-bases/{id}/articles/{article_id}",
        get_article,
    ),
    ("GET", r"^/macros$", "GET /macros", list_macros),
    ("GET", r"^/macros/(?P<id>[^/]+)$", "GET /macros/{id}", get_macro),
    ("GET", r"^/macro-groups$", "GET /macro-groups", list_macro_groups),
    ("POST", r"^/feature-requests/search$", "POST /feature-requests/search", search_feature_requests),
    ("GET", r"^/feature-requests/(?P<id>[^/]+)$", "GET /feature-requests/{id}", get_feature_request),
]
