"""The knowledge room's front door: tools ask it to search and to find an article; it keeps the index fresh.

Nothing happens at start-up. The first knowledge call of a session (search_knowledge, get_article,
an article resource) starts a background task that opens the index (a file per organisation in the
user's cache directory, or memory), syncs it from Pylon, and refreshes it every
PYLON_KNOWLEDGE_REFRESH seconds. A search never waits for the sync: it answers from what is
indexed, and its status says how far the build has got, or how old the index is when Pylon failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from pylon_mcp.config import Settings, cache_dir
from pylon_mcp.knowledge.documents import INDEXED_KINDS, Document, feature_request_document
from pylon_mcp.knowledge.index import Hit, SqliteIndex
from pylon_mcp.knowledge.sync import Pacer, Progress, Syncer
from pylon_mcp.pylon.errors import PylonError

log = logging.getLogger("pylon_mcp.knowledge")

LOCK_TTL = 60.0  # seconds a replica's sync lock lives without renewal
PULL_EVERY = 2.0  # seconds between a replica's checks for another replica's documents
RETRY_AFTER_FAILURE = 60.0
FIRST_WAIT = 2.0  # seconds the first search of an empty index waits for the build (a small org's takes ~1 s)


def index_path(settings: Settings) -> Path:
    """One file per Pylon organisation (token and URL), named by a digest, never the token itself."""
    digest = hashlib.sha256(f"{settings.api_url or ''}\n{settings.api_token.reveal()}".encode()).hexdigest()
    return cache_dir() / f"knowledge-{digest[:16]}.sqlite3"


@dataclass(frozen=True)
class SearchOutcome:
    hits: list[Hit]
    feature_request_error: str | None
    status: Progress
    where: str


class Knowledge:
    def __init__(self, pylon: Any, settings: Settings, *, pacer: Pacer | None = None) -> None:
        self.pylon = pylon
        self.settings = settings
        self.enabled = settings.knowledge_index != "off"
        self.refresh = settings.knowledge_refresh
        self.progress = Progress()
        self.pacer = pacer or Pacer()
        self._index: SqliteIndex | None = None
        self._open_lock = anyio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = anyio.Event()
        self._cycle_done = anyio.Event()
        self.exchange = _exchange(settings)
        self._last_pull = 0.0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background sync (once). Called by the first knowledge call of a session: a session
        that never asks for knowledge spends no requests on it and writes none of its content to disk."""
        if not self.enabled or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="pylon-mcp knowledge sync")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.exchange is not None:
            with contextlib.suppress(Exception):
                await self.exchange.aclose()
        if self._index is not None:
            self._index.close()

    async def index(self) -> SqliteIndex:
        async with self._open_lock:
            if self._index is None:
                path = None if self.settings.knowledge_index == "memory" else index_path(self.settings)
                self._index = await anyio.to_thread.run_sync(SqliteIndex, path)
                self.progress.counts = await anyio.to_thread.run_sync(self._index.counts)
                built = await anyio.to_thread.run_sync(self._index.meta, "built_at")
                if built is not None:  # a file from an earlier run: usable at once
                    self.progress.state = "ready"
                    self.progress.last_success = _epoch(built)
            return self._index

    async def synced(self, cycles: int = 1) -> None:
        """Wait until `cycles` sync cycles have ended since start (tests, benchmarks)."""
        while self.progress.cycles < cycles:
            await self._cycle_done.wait()

    def wake(self) -> None:
        """Refresh now instead of at the next interval."""
        self._wake.set()

    async def _run(self) -> None:
        index = await self.index()
        syncer = Syncer(self.pylon, index, lookback_days=self.settings.knowledge_days, pacer=self.pacer,
                        progress=self.progress, on_changes=self._publish)  # fmt: skip
        while True:
            delay = self.refresh
            try:
                await self._cycle(syncer, index)
            except PylonError as exc:
                self.progress.state = "failed"
                self.progress.error = str(exc)
                delay = min(self.refresh, RETRY_AFTER_FAILURE)
                log.warning("knowledge sync failed: %s", exc)
            except Exception as exc:  # a bug or Redis outage must not end the refreshes
                self.progress.state = "failed"
                self.progress.error = f"{type(exc).__name__}: {exc}"[:300]
                delay = min(self.refresh, RETRY_AFTER_FAILURE)
                log.exception("knowledge sync failed")
            self.progress.cycles += 1
            done, self._cycle_done = self._cycle_done, anyio.Event()
            done.set()
            if self.exchange is not None:
                delay = min(delay, PULL_EVERY * 5)  # a follower checks the shared copy more often
            with anyio.move_on_after(delay):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def _cycle(self, syncer: Syncer, index: SqliteIndex) -> None:
        if self.exchange is None:
            await syncer.cycle()
            self._succeeded()
            return
        try:
            await self._pull(index)
            shared = await self.exchange.meta()
        except Exception as exc:  # Redis away: sync alone rather than go stale
            log.warning("knowledge: shared store unavailable (%s); syncing from Pylon alone", exc)
            await syncer.cycle()
            self._succeeded()
            return
        finished = float(shared.get("finished", 0) or 0)
        if time.time() - finished < self.refresh:
            self._adopt(shared)
            return
        if not await self.exchange.try_lock(LOCK_TTL):
            self.progress.detail = "another replica is syncing"
            return
        try:
            if shared.get("issues_since"):  # continue where the last syncing replica stopped
                await anyio.to_thread.run_sync(index.set_meta, "issues_since", shared["issues_since"])
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._keep_lock)
                await syncer.cycle()
                tg.cancel_scope.cancel()
            self._succeeded()
            since = await anyio.to_thread.run_sync(index.meta, "issues_since")
            await self.exchange.set_meta({"finished": str(time.time()), "issues_since": since or ""})
        finally:
            await self.exchange.release()

    async def _keep_lock(self) -> None:
        assert self.exchange is not None
        while True:
            await anyio.sleep(LOCK_TTL / 3)
            await self.exchange.renew(LOCK_TTL)

    def _succeeded(self) -> None:
        self.progress.state = "ready"
        self.progress.error = None
        self.progress.detail = ""
        self.progress.last_success = time.time()

    def _adopt(self, shared: dict[str, str]) -> None:
        """Another replica synced: our copy is as fresh as its sync."""
        self.progress.state = "ready"
        self.progress.error = None
        self.progress.detail = ""
        self.progress.last_success = float(shared.get("finished") or 0) or self.progress.last_success

    async def _publish(self, upserts: list[Document], deletes: list[str]) -> None:
        if self.exchange is not None:
            try:
                await self.exchange.publish({d.key: d.to_json() for d in upserts}, deletes)
            except Exception as exc:
                log.warning("knowledge: could not share documents with other replicas (%s)", exc)

    async def _pull(self, index: SqliteIndex) -> None:
        assert self.exchange is not None
        self._last_pull = time.monotonic()
        generation = int(await anyio.to_thread.run_sync(index.meta, "generation") or 0)

        async def apply(upserts: list[dict[str, Any]], deletes: list[str], everything: bool) -> None:
            docs = [Document.from_json(item) for item in upserts]
            await anyio.to_thread.run_sync(index.upsert, docs, generation)
            if deletes:
                await anyio.to_thread.run_sync(index.delete, deletes)
            if everything:  # what the shared set does not hold is gone
                held = {d.key for d in docs}
                for kind in INDEXED_KINDS:
                    stale = [k for k in await anyio.to_thread.run_sync(index.digests, kind) if k not in held]
                    if stale:
                        await anyio.to_thread.run_sync(index.delete, stale)

        if await self.exchange.pull(apply):
            self.progress.counts = await anyio.to_thread.run_sync(index.counts)
            shared = await self.exchange.meta()
            if shared.get("finished"):
                self._adopt(shared)
            else:
                self.progress.state = "building"
                self.progress.detail = "another replica is building the index"

    # --- questions ------------------------------------------------------------------------------

    async def search(self, query: str, kinds: Sequence[str], limit: int) -> SearchOutcome:
        self.start()
        index = await self.index()
        if self.progress.cycles == 0 and not self.progress.counts and self.exchange is None:
            with anyio.move_on_after(FIRST_WAIT):  # an empty index answers nothing: give the build a moment
                await self.synced(1)
        if self.exchange is not None and time.monotonic() - self._last_pull > PULL_EVERY:
            with contextlib.suppress(Exception):
                await self._pull(index)
        requested: list[str] = []
        error: str | None = None
        if "feature_request" in kinds:
            requested, error = await self._feature_requests(index, query, limit)
        local = [k for k in kinds if k in INDEXED_KINDS] + (["feature_request"] if requested else [])
        hits = await anyio.to_thread.run_sync(index.search, query, local, limit * 3)
        wanted = set(requested)
        hits = [h for h in hits if h.document.kind != "feature_request" or h.document.id in wanted]
        # Pylon's semantic search may find requests that share no word with the query: after the rest.
        matched = {h.document.id for h in hits if h.document.kind == "feature_request"}
        rest = [f"feature_request:{fid}" for fid in requested if fid not in matched]
        if rest and len(hits) < limit:
            extra = await anyio.to_thread.run_sync(index.documents, rest)
            order = {key: n for n, key in enumerate(rest)}
            extra.sort(key=lambda d: order.get(d.key, 0))
            hits += [Hit(d, 0.0, d.body[:160]) for d in extra]
        return SearchOutcome(hits[:limit], error, self.progress, index.where)

    async def _feature_requests(
        self, index: SqliteIndex, query: str, limit: int
    ) -> tuple[list[str], str | None]:
        """Pylon's own search, one request; the results join the index so BM25 ranks them with the rest."""
        from pylon_mcp.pylon.knowledge_models import SearchFeatureRequestsRequest

        try:
            found = await self.pylon.search_feature_requests(
                SearchFeatureRequestsRequest(query=query, limit=limit)
            )
        except PylonError as exc:
            return [], str(exc)
        docs = [d for request in found if (d := feature_request_document(request))]
        await anyio.to_thread.run_sync(index.upsert, docs, 0)
        return [d.id for d in docs], None

    async def article_location(self, article_id: str) -> Document | None:
        """The indexed copy of an article (its knowledge base, collection, URL), if indexed."""
        index = await self.index()
        return await anyio.to_thread.run_sync(index.get, f"article:{article_id}")


def _epoch(rfc3339: str) -> float | None:
    from pylon_mcp.pylon.timefmt import parse_rfc3339

    try:
        return parse_rfc3339(rfc3339).timestamp()
    except ValueError:
        return None


def _exchange(settings: Settings) -> Any:
    if not settings.redis_url or settings.knowledge_index == "off":
        return None
    from pylon_mcp.shared.redis_knowledge import RedisExchange

    digest = hashlib.sha256(f"{settings.api_url or ''}\n{settings.api_token.reveal()}".encode()).hexdigest()
    return RedisExchange(settings.redis_url.reveal(), digest[:16])
