"""Keeping the index in step with Pylon: published articles, macros, and recently resolved issues.

A build lists every knowledge base's articles (100 a page), the macro groups and macros,
and the issues closed in the look-back window; a refresh lists articles and macros again
(Pylon has no "changed since" for them, and a digest check skips rewriting unchanged
ones) and asks only for issues updated since the last sync. Every request first waits
for a slot in the `Pacer`, which keeps each endpoint at half of its published per-minute
limit at most, leaving the other half to the person's own tool calls; a 429 pauses the
sync until Pylon's Retry-After has passed.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import anyio

from pylon_mcp.knowledge.documents import (
    Document,
    article_document,
    article_source,
    is_published,
    issue_document,
    macro_document,
)
from pylon_mcp.knowledge.index import SqliteIndex
from pylon_mcp.pylon.errors import PylonError, PylonRateLimited
from pylon_mcp.pylon.gate import PUBLISHED_LIMITS
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow

log = logging.getLogger("pylon_mcp.knowledge")

ISSUE_PAGE = 999  # the largest page POST /issues/search allows: fewest requests
MAX_ISSUE_PAGES = 200
MAX_ARTICLE_PAGES = 1000  # 100,000 articles per knowledge base
OVERLAP = timedelta(minutes=5)  # re-read a little before the last sync: clocks and commits lag
MAX_PAUSE = 300.0
SHARE = 0.5  # of each endpoint's published per-minute limit the sync may use
T = TypeVar("T")
Changes = Callable[[list[Document], list[str]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """At most `share` of an endpoint's published limit in any `window` seconds; waits for a slot."""

    def __init__(
        self,
        share: float = SHARE,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.share = share
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self.requests: dict[str, int] = {}  # per route, since this pacer was made (benchmarks, tests)

    def allowance(self, route: str) -> int:
        return max(1, math.floor(PUBLISHED_LIMITS[route] * self.share))

    async def slot(self, route: str) -> None:
        sent = self._sent.setdefault(route, deque())
        while True:
            now = self._clock()
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.allowance(route):
                sent.append(now)
                self.requests[route] = self.requests.get(route, 0) + 1
                return
            await self._sleep(sent[0] + self.window - now)


@dataclass
class Progress:
    """How far the sync has got, for the status line of every search."""

    state: str = "not started"  # not started, building, refreshing, ready, paused, failed
    detail: str = ""
    last_success: float | None = None  # wall-clock seconds
    error: str | None = None
    paused_until: float | None = None  # wall-clock seconds
    cycles: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class Syncer:
    def __init__(
        self,
        pylon: Any,
        index: SqliteIndex,
        *,
        lookback_days: int,
        pacer: Pacer,
        progress: Progress,
        on_changes: Changes | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.pylon = pylon
        self.index = index
        self.lookback = timedelta(days=lookback_days)
        self.pacer = pacer
        self.progress = progress
        self._on_changes = on_changes
        self._sleep = sleep

    async def cycle(self) -> None:
        """One build (nothing indexed yet) or refresh. Raises PylonError when Pylon fails."""
        first = await self._idx(self.index.meta, "built_at") is None
        self.progress.state = "building" if first else "refreshing"
        generation = int(await self._idx(self.index.meta, "generation") or 0) + 1
        await self._articles(generation)
        await self._macros(generation)
        await self._issues()
        await self._idx(self.index.set_meta, "generation", str(generation))
        await self._idx(self.index.set_meta, "built_at", format_rfc3339(utcnow().replace(microsecond=0)))
        self.progress.detail = ""

    # --- phases -----------------------------------------------------------------------------

    async def _articles(self, generation: int) -> None:
        bases = await self._call("GET /knowledge-bases", self.pylon.list_knowledge_bases)
        for number, kb in enumerate(bases, 1):
            if not kb.id:
                continue
            where = f"articles: knowledge base {number} of {len(bases)}"
            self.progress.detail = where
            collections = await self._call(
                "GET /knowledge-bases/{id}/collections", self.pylon.list_collections, kb.id
            )
            names = {c.id: c.title or "" for c in collections if c.id}
            cursor: str | None = None
            for page_number in range(1, MAX_ARTICLE_PAGES + 1):
                self.progress.detail = f"{where}, page {page_number}"
                page = await self._call(
                    "GET /knowledge-bases/{id}/articles", self.pylon.list_articles, kb.id, cursor=cursor
                )
                # Converting HTML is most of a refresh's CPU: articles whose source is unchanged keep
                # their indexed text and are only marked as seen.
                published = [a for a in page.articles if is_published(a)]
                keys = [f"article:{a.id}" for a in published]
                known = await self._idx(self.index.sources, keys)
                same = [
                    k
                    for a, k in zip(published, keys, strict=True)
                    if known.get(k) == article_source(a, kb, names)
                ]
                await self._idx(self.index.touch, same, generation)
                fresh = [a for a, k in zip(published, keys, strict=True) if k not in set(same)]
                docs = await anyio.to_thread.run_sync(
                    lambda fresh=fresh, kb=kb, names=names: [
                        d for a in fresh if (d := article_document(a, kb, names))
                    ]
                )
                await self._store(docs, generation)
                if not page.has_next_page:
                    break
                cursor = page.cursor
        # Every knowledge base was listed to its end: what was not seen is gone (or a draft again).
        await self._sweep("article", generation)

    async def _macros(self, generation: int) -> None:
        self.progress.detail = "macros"
        groups = await self._call("GET /macro-groups", self.pylon.list_macro_groups)
        names = {g.id: g.title or "" for g in groups if g.id}
        macros = await self._call("GET /macros", self.pylon.list_macros)
        docs = await anyio.to_thread.run_sync(lambda: [d for m in macros if (d := macro_document(m, names))])
        await self._store(docs, generation)
        await self._sweep("macro", generation)

    async def _issues(self) -> None:
        started = utcnow().replace(microsecond=0)
        cutoff = format_rfc3339(started - self.lookback)
        since = await self._idx(self.index.meta, "issues_since")
        if since is None:  # first build: every issue closed in the window
            filter_: dict[str, Any] = {"operator": "and", "subfilters": [
                {"field": "state", "operator": "equals", "value": "closed"},
                {"field": "resolved_at", "operator": "time_is_after", "value": cutoff},
            ]}  # fmt: skip
        else:  # refresh: whatever changed since (closed: add; reopened: drop)
            filter_ = {"field": "updated_at", "operator": "time_is_after", "value": since}
        cursor: str | None = None
        seen = 0
        for page_number in range(1, MAX_ISSUE_PAGES + 1):
            self.progress.detail = f"resolved issues: page {page_number} ({seen:,} read so far)"
            page = await self._call(
                "POST /issues/search", self.pylon.search_issues, filter_, limit=ISSUE_PAGE, cursor=cursor
            )
            seen += len(page.issues)
            resolved = [i for i in page.issues if i.state == "closed" and (i.resolution_time or "") >= cutoff]
            kept = {i.id for i in resolved}
            reopened = [f"issue:{i.id}" for i in page.issues if i.id and i.id not in kept]
            docs = await anyio.to_thread.run_sync(
                lambda r=resolved: [d for i in r if (d := issue_document(i))]
            )
            await self._store(docs, 0)  # issues leave by their own rules (reopened, aged out), never by sweep
            if reopened:
                await self._deleted(await self._idx(self.index.delete, reopened))
            if not page.has_next_page:
                break
            cursor = page.cursor
        # Out of the look-back window now: forgotten.
        await self._deleted(await self._idx(self.index.older, "issue", "resolved_at", cutoff))
        await self._idx(self.index.set_meta, "issues_since", format_rfc3339(started - OVERLAP))

    # --- helpers ------------------------------------------------------------------------------

    async def _store(self, docs: list[Document], generation: int) -> None:
        changed = set(await self._idx(self.index.upsert, docs, generation))
        self.progress.counts = await self._idx(self.index.counts)
        if changed and self._on_changes is not None:
            await self._on_changes([d for d in docs if d.key in changed], [])

    async def _sweep(self, kind: str, generation: int) -> None:
        await self._deleted(await self._idx(self.index.sweep, kind, generation))

    async def _deleted(self, keys: list[str]) -> None:
        if keys:
            self.progress.counts = await self._idx(self.index.counts)
            if self._on_changes is not None:
                await self._on_changes([], keys)

    @staticmethod
    async def _idx(fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(lambda: fn(*args))

    async def _call(self, route: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """One request, inside the pace; a 429 pauses the sync for as long as Pylon asks."""
        while True:
            await self.pacer.slot(route)
            try:
                return await fn(*args, **kwargs)
            except PylonRateLimited as exc:
                pause = min(MAX_PAUSE, float(exc.retry_after or 60))
                self.progress.state = "paused"
                self.progress.paused_until = time.time() + pause
                self.progress.error = str(exc)
                log.info("knowledge sync paused %.0fs: %s", pause, exc)
                await self._sleep(pause)
                self.progress.state = "building" if self.progress.last_success is None else "refreshing"
                self.progress.paused_until = None
            except PylonError:
                raise
