"""Directory entries as a model reads them: one compact line each, plus matching structured content."""

from __future__ import annotations

from pydantic import BaseModel

from pylon_mcp.directory import Entry
from pylon_mcp.render.text import quote


class FoundEntry(BaseModel):
    id: str
    name: str
    email: str | None = None
    domain: str | None = None
    category: str | None = None
    detail: str | None = None


class FindResult(BaseModel):
    kind: str
    query: str
    count: int
    results: list[FoundEntry]


def find_result(kind: str, query: str, entries: list[Entry]) -> FindResult:
    return FindResult(
        kind=kind, query=query, count=len(entries), results=[FoundEntry(**e.as_dict()) for e in entries]
    )


def find_text(result: FindResult, entries: list[Entry], limit: int) -> str:
    if not entries:
        return f"No {result.kind} matches {quote(result.query)}. Try part of the name, or an email or domain."
    more = f" (first {limit}; narrow the query for others)" if len(entries) >= limit else ""
    plural = result.kind + ("es" if result.kind == "status" else "s") if len(entries) != 1 else result.kind
    head = f"{len(entries)} {plural} for {quote(result.query)}{more}:"
    return "\n".join([head, *(f"- {entry.line()}" for entry in entries)])
