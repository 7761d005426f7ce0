"""Replicas share one knowledge sync: a Redis lock picks who asks Pylon; the others copy the documents.

Used by pylon_mcp/knowledge/service.py; this module knows Redis and JSON documents, not the index.

Keys (under the organisation's namespace, as pylon_mcp/shared/redis_backend.py has them):

- `knowledge:lock`: the replica that syncs now (SET NX PX, renewed while it works, released by
  compare-and-delete, so a crashed replica's lock simply expires);
- `knowledge:docs`: a hash of every indexed document (key -> JSON), the sanitised text only;
- `knowledge:version` and `knowledge:log`: a counter and the last few hundred change batches
  ("version|{up: [keys], del: [keys]}"), so a replica that is a few batches behind copies only
  what changed, and one further behind (or new) copies the whole hash;
- `knowledge:meta`: when the last sync finished and the issue cursor, so whichever replica
  syncs next continues where the last one stopped.

The upstream cost of keeping the index fresh is therefore one sync per interval, however many
replicas there are. If Redis is away, each replica syncs on its own (still within half of each
limit, which the shared rate gate also enforces) and says so in its status.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

Doc = dict[str, Any]  # a document as JSON: {kind, id, title, body, meta}
# apply(upserts, deletes, everything): everything=True means the upserts are the whole shared set.
Apply = Callable[[list[Doc], list[str], bool], Awaitable[None]]
log = logging.getLogger("pylon_mcp.knowledge")

LOG_LENGTH = 500
CHUNK = 500
_PUBLISH = """
local v = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], v .. '|' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return v
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisExchange:
    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self.prefix = f"pylon-mcp:{namespace}:knowledge:"
        self.owner = uuid.uuid4().hex  # this replica, as the lock's value
        self._client: redis.Redis | None = None
        self.version = 0  # of the documents this replica's index holds

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(
                self._url, socket_connect_timeout=1.0, socket_timeout=5.0, retry=Retry(NoBackoff(), 0),
                decode_responses=True,
            )  # fmt: skip
        return self._client

    def _key(self, name: str) -> str:
        return self.prefix + name

    # --- who syncs -------------------------------------------------------------------------------

    async def try_lock(self, ttl: float) -> bool:
        return bool(await self.client.set(self._key("lock"), self.owner, nx=True, px=int(ttl * 1000)))

    async def renew(self, ttl: float) -> bool:
        return bool(await self.client.eval(_RENEW, 1, self._key("lock"), self.owner, int(ttl * 1000)))

    async def release(self) -> None:
        await self.client.eval(_RELEASE, 1, self._key("lock"), self.owner)

    async def meta(self) -> dict[str, str]:
        return dict(await self.client.hgetall(self._key("meta")))

    async def set_meta(self, values: dict[str, str]) -> None:
        if values:
            await self.client.hset(self._key("meta"), mapping=values)

    # --- the documents ---------------------------------------------------------------------------

    async def publish(self, upserts: dict[str, Doc], deletes: list[str]) -> None:
        """One batch of changes (document key -> document), made by the replica holding the lock."""
        if not upserts and not deletes:
            return
        docs = self._key("docs")
        keys = list(upserts)
        async with self.client.pipeline(transaction=True) as pipe:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                pipe.hset(docs, mapping={k: json.dumps(upserts[k], ensure_ascii=False) for k in chunk})
            if deletes:
                pipe.hdel(docs, *deletes)
            await pipe.execute()
        batch = json.dumps({"up": keys, "del": deletes})
        version = int(
            await self.client.eval(_PUBLISH, 2, self._key("version"), self._key("log"), batch, LOG_LENGTH)
        )
        if version == self.version + 1:
            self.version = version  # our own batch: our index has it already

    async def pull(self, apply: Apply) -> bool:
        """Bring this replica to the shared version through `apply`. True when anything changed."""
        raw = await self.client.get(self._key("version"))
        remote = int(raw or 0)
        if remote == self.version:
            return False
        entries = await self.client.lrange(self._key("log"), 0, -1)
        batches = [_batch(entry) for entry in entries]
        newer = [(v, b) for v, b in batches if v > self.version]
        if self.version == 0 or not newer or newer[0][0] != self.version + 1 or remote < self.version:
            await self._pull_everything(apply)
        else:
            for _, batch in newer:
                await self._apply(apply, batch)
        self.version = max(remote, max((v for v, _ in newer), default=remote))
        return True

    async def _apply(self, apply: Apply, batch: dict[str, list[str]]) -> None:
        keys = batch.get("up", [])
        for start in range(0, len(keys), CHUNK):
            values = await self.client.hmget(self._key("docs"), keys[start : start + CHUNK])
            await apply([json.loads(v) for v in values if v], [], False)
        if batch.get("del"):
            await apply([], batch["del"], False)

    async def _pull_everything(self, apply: Apply) -> None:
        everything: list[Doc] = []
        async for _, value in self.client.hscan_iter(self._key("docs"), count=CHUNK):
            everything.append(json.loads(value))
        await apply(everything, [], True)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _batch(entry: str) -> tuple[int, dict[str, Any]]:
    version, _, body = entry.partition("|")
    try:
        return int(version), json.loads(body)
    except ValueError:
        return 0, {}
