"""Shared state in Redis (PYLON_MCP_REDIS_URL), so replicas behind a load balancer act as one server.

- ledger: one key per idempotency key, claimed with `SET NX PX`, replaced by compare-and-set;
- rate gate: Pylon's 429 cooldowns and a sliding-window budget per endpoint, booked atomically by
  a Lua script on Redis's own clock (replicas' clocks may differ);
- listing cache: one hash, dropped whole when a write makes listings stale;
- confirmation tokens for customer replies (redis_confirmations.py), single-use across replicas;
- change bus: the SDK's `SubscriptionBus` over pub/sub. A replica delivers to its own listeners
  only what it reads back from the channel, so each listener hears each event exactly once,
  whichever replica published it.

When Redis is down: the ledger raises SharedStateUnavailable (writes that need it are refused),
the gate falls back to this process's own gate, the cache misses, and events reach this
replica's listeners only. A circuit breaker keeps that cheap: after a failure, callers are
refused at once for BREAK seconds, then one call goes through to find out (the probe); only a
real failure opens it again, never its own refusals, so recovery needs no pause in traffic.
Calls that have a fallback (the gate, the cache, publishing) give up after READ_TIMEOUT, so a
Redis that hangs costs them a moment, not the 2 s socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import redis.asyncio as redis
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from pylon_mcp.config import Settings
from pylon_mcp.pylon.gate import LocalRateGate, budget_limits
from pylon_mcp.pylon.retry import COOLDOWN_CAP_SECONDS
from pylon_mcp.shared.base import Record, SharedStateUnavailable
from pylon_mcp.shared.redis_confirmations import RedisConfirmations

log = logging.getLogger("pylon_mcp.shared.redis")

# Redis failures look like these: its own errors, and socket errors from the connection.
FAILURES = (RedisError, OSError, asyncio.TimeoutError)
BREAK = 2.0  # seconds callers fail fast after a failure, before one call (the probe) tries Redis again
PROBE_HOLD = 2.5  # while the probe is out, others still fail fast (longer than the 2 s socket timeout)
SLOW_CALLS_TO_BREAK = 2
READ_TIMEOUT = 0.5  # seconds a call with a fallback waits for Redis (it answers in ~1 ms when well)


class BreakerOpen(RedisConnectionError):
    """Refused by the breaker without asking Redis: not a new failure, so it does not re-arm the breaker."""


def _canonical(record: Record) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class _Store:
    """The client plus the words to use when it fails."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        parts = urlsplit(url)
        self.where = f"Redis at {parts.hostname or parts.path}" + (f":{parts.port}" if parts.port else "")
        self._client: redis.Redis | None = None
        self._down_until = 0.0
        self._probe_due = False  # the next caller after the window is the one that tries Redis
        self._slow_calls = 0  # time-boxed calls in a row that Redis did not answer in READ_TIMEOUT

    @property
    def client(self) -> redis.Redis:
        """The client for requests on a caller's path: fails at once for a moment after a failure,
        so an unreachable host costs one connect timeout per few seconds, not one per request."""
        now = time.monotonic()
        if now < self._down_until:
            raise BreakerOpen("failed moments ago; not retried yet")
        if self._probe_due:  # this caller finds out; the others keep failing fast meanwhile
            self._probe_due = False
            self._down_until = now + PROBE_HOLD
        return self.raw

    @property
    def raw(self) -> redis.Redis:
        """The client without the breaker: probes and the event reader, which must see recovery."""
        if self._client is None:
            # Fail fast: a caller waiting on a dead Redis is worse than a clear refusal.
            self._client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=1.0,
                socket_timeout=2.0,
                retry=Retry(NoBackoff(), 0),
                decode_responses=True,
                health_check_interval=10,
            )
        return self._client

    def mark_up(self) -> None:
        """Redis answered: close the breaker."""
        self._down_until = 0.0
        self._probe_due = False
        self._slow_calls = 0

    def mark_down(self, exc: BaseException) -> None:
        """Redis failed: open the breaker for BREAK seconds from now. Its own refusals don't count, and
        one slow answer doesn't either: a busy event loop can overrun READ_TIMEOUT once (that caller
        still takes its fallback); two in a row is a Redis that hangs."""
        if isinstance(exc, TimeoutError):
            self._slow_calls += 1
            if self._slow_calls < SLOW_CALLS_TO_BREAK:
                return
        if not isinstance(exc, BreakerOpen):
            self._down_until = time.monotonic() + BREAK
            self._probe_due = True

    def unavailable(self, exc: BaseException) -> SharedStateUnavailable:
        self.mark_down(exc)
        return SharedStateUnavailable(
            f"the shared state ({self.where}) cannot be reached ({type(exc).__name__})"
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


class RedisLedger:
    def __init__(self, store: _Store) -> None:
        self._store = store

    def _key(self, key: str) -> str:
        return f"{self._store.prefix}ledger:{key}"

    async def claim(self, key: str, record: Record, ttl: float) -> Record | None:
        try:
            client = self._store.client  # once: a probe's own second command must not meet the breaker
            for _ in range(3):  # the holder's record may expire between SET and GET
                claimed = await client.set(self._key(key), _canonical(record), nx=True, px=int(ttl * 1000))
                self._store.mark_up()
                if claimed:
                    return None
                current = await client.get(self._key(key))
                if current is not None:
                    return json.loads(current)
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        raise self._store.unavailable(RuntimeError("claim did not settle"))

    async def swap(self, key: str, expected: Record, new: Record, ttl: float) -> bool:
        try:
            done = await self._store.client.eval(
                _SWAP, 1, self._key(key), _canonical(expected), _canonical(new), int(ttl * 1000)
            )
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()
        return bool(done)

    async def put(self, key: str, record: Record, ttl: float) -> None:
        try:
            await self._store.client.set(self._key(key), _canonical(record), px=int(ttl * 1000))
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()

    async def drop(self, key: str) -> None:
        try:
            await self._store.client.delete(self._key(key))
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()


class RedisListingCache:
    def __init__(self, store: _Store, ttl: float) -> None:
        self._store = store
        self.ttl = ttl
        self._hash = f"{store.prefix}listings"

    async def get(self, key: str) -> str | None:
        if self.ttl <= 0:
            return None
        try:
            with anyio.fail_after(READ_TIMEOUT):  # a cache: better a miss now than an answer in 2 s
                raw = await self._store.client.hget(self._hash, key)
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()
        if raw is None:
            return None
        entry = json.loads(raw)
        return entry["value"] if entry["expires"] > time.time() else None

    async def put(self, key: str, value: str) -> None:
        if self.ttl <= 0:
            return
        entry = json.dumps({"expires": time.time() + self.ttl, "value": value})
        try:
            with anyio.fail_after(READ_TIMEOUT):
                async with self._store.client.pipeline(transaction=True) as pipe:
                    await (
                        pipe.hset(self._hash, key, entry).pexpire(self._hash, int(self.ttl * 1000)).execute()
                    )
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()

    async def clear(self) -> None:
        try:
            await self._store.client.delete(self._hash)
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()


# KEYS: booked sends (zset), cooldown (ms). ARGV: limit, window ms, max wait ms, member, cooldown cap ms.
# Times are Redis's own (TIME), in ms. Mirrors LocalRateGate.reserve. A cooldown is capped when
# read as when written: anyone who can write to Redis must not hold an endpoint back for a day.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now
local cooldown = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if cooldown > now + tonumber(ARGV[5]) then cooldown = now + tonumber(ARGV[5]) end
if cooldown > at then at = cooldown end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > at then at = tonumber(last[2]) end
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local nth = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
    if tonumber(nth[2]) + window > at then at = tonumber(nth[2]) + window end
  end
end
local wait = at - now
if wait > tonumber(ARGV[3]) then return {0, wait} end
if limit > 0 then
  redis.call('ZADD', KEYS[1], at, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window + wait + 1000)
end
return {1, wait}
"""

_COOL_DOWN = """
local t = redis.call('TIME')
local untl = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], untl, 'PX', ARGV[1])
end
return 1
"""


class RedisRateGate:
    """Cooldowns and budget shared by every replica; this process's own gate while Redis is away."""

    def __init__(self, store: _Store, limits: dict[str, int], window: float) -> None:
        self._store = store
        self.limits = limits
        self.window = window
        self.local = LocalRateGate(limits, window)
        self._warned = 0.0

    async def reserve(self, route: str, max_wait: float) -> tuple[bool, float]:
        keys = (f"{self._store.prefix}sent:{route}", f"{self._store.prefix}cooldown:{route}")
        args = (self.limits.get(route, 0), int(self.window * 1000), int(max_wait * 1000), uuid.uuid4().hex,
                int(COOLDOWN_CAP_SECONDS * 1000))  # fmt: skip
        try:
            with anyio.fail_after(READ_TIMEOUT):  # on every Pylon request: a hung Redis must not stall them
                granted, wait_ms = await self._store.client.eval(_RESERVE, 2, *keys, *args)
        except FAILURES as exc:
            self._store.mark_down(exc)
            self._warn(exc)
            return await self.local.reserve(route, max_wait)
        self._store.mark_up()
        return bool(granted), int(wait_ms) / 1000

    async def cool_down(self, route: str, seconds: float) -> None:
        await self.local.cool_down(route, seconds)
        try:
            with anyio.fail_after(READ_TIMEOUT):
                await self._store.client.eval(
                    _COOL_DOWN, 1, f"{self._store.prefix}cooldown:{route}", max(1, int(seconds * 1000))
                )
        except FAILURES as exc:
            self._store.mark_down(exc)
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        if time.monotonic() - self._warned > 30:  # once per interval, not per request
            self._warned = time.monotonic()
            log.warning(
                "%s; rate limits are counted in this process only until it is back",
                self._store.unavailable(exc),
            )


def _event_to_json(event: ServerEvent) -> str:
    if isinstance(event, ResourceUpdated):
        return json.dumps({"kind": "resource_updated", "uri": event.uri})
    kinds = {ToolsListChanged: "tools", PromptsListChanged: "prompts", ResourcesListChanged: "resources"}
    return json.dumps({"kind": kinds[type(event)]})


def _event_from_json(raw: str) -> ServerEvent | None:
    try:
        body = json.loads(raw)
        kind = body["kind"]
    except (ValueError, KeyError, TypeError):
        return None
    if kind == "resource_updated" and isinstance(body.get("uri"), str):
        return ResourceUpdated(uri=body["uri"])
    return {
        "tools": ToolsListChanged(),
        "prompts": PromptsListChanged(),
        "resources": ResourcesListChanged(),
    }.get(kind)


class RedisSubscriptionBus:
    """The SDK's `SubscriptionBus` over Redis pub/sub."""

    def __init__(self, store: _Store) -> None:
        self._store = store
        self.channel = f"{store.prefix}events"
        self._local = InMemorySubscriptionBus()  # this replica's listeners
        self._reader: asyncio.Task[None] | None = None
        self._listening = anyio.Event()
        self._tried = anyio.Event()  # the first subscribe attempt has finished, either way

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        return self._local.subscribe(listener)

    @property
    def listening(self) -> bool:
        """Subscribed to the channel: events from other replicas reach this one."""
        return self._listening.is_set()

    async def publish(self, event: ServerEvent) -> None:
        if self._listening.is_set():
            try:
                with anyio.fail_after(READ_TIMEOUT):
                    await self._store.client.publish(self.channel, _event_to_json(event))
                self._store.mark_up()
                return  # our own reader delivers it here, once
            except FAILURES as exc:
                self._store.mark_down(exc)
                log.debug("could not publish %s to Redis", event, exc_info=True)
        # Redis is away: at least this replica's listeners hear of it.
        await self._local.publish(event)

    async def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="pylon-mcp redis events")
        with anyio.move_on_after(2.0):  # an outage at start-up must not stop the server starting
            await self._tried.wait()

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, *FAILURES):
                await self._reader
            self._reader = None

    async def _read(self) -> None:
        delay = 0.2
        while True:
            pubsub = self._store.raw.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._listening.set()
                self._tried.set()
                self._store.mark_up()
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") != "message":
                        continue
                    event = _event_from_json(message["data"])
                    if event is not None:
                        await self._local.publish(event)
            except FAILURES as exc:
                if self._listening.is_set():
                    log.warning("%s; change notifications reach this replica only until it is back",
                                self._store.unavailable(exc))  # fmt: skip
                self._listening = anyio.Event()
                self._tried.set()
            finally:
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()
            await anyio.sleep(delay)
            delay = min(delay * 2, 5.0)


class RedisState:
    kind = "redis"

    def __init__(
        self, url: str, *, namespace: str, listing_ttl: float, limits: dict[str, int] | None = None,
        window: float = 60.0,
    ) -> None:  # fmt: skip
        self._store = _Store(url, f"pylon-mcp:{namespace}:")
        self.gate = RedisRateGate(self._store, dict(limits or {}), window)
        self.ledger = RedisLedger(self._store)
        self.listings = RedisListingCache(self._store, listing_ttl)
        self.bus = RedisSubscriptionBus(self._store)
        self.confirmations = RedisConfirmations(self._store)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RedisState:
        # One namespace per Pylon organisation (token and URL), never the token itself.
        digest = hashlib.sha256(
            f"{settings.api_url or ''}\n{settings.api_token.reveal()}".encode()
        ).hexdigest()
        return cls(
            settings.redis_url.reveal(),
            namespace=digest[:16],
            listing_ttl=settings.resource_ttl,
            limits=budget_limits(settings.rate_budget),
            **kwargs,
        )

    @property
    def where(self) -> str:
        return self._store.where

    async def start(self) -> None:
        await self.bus.start()

    async def aclose(self) -> None:
        await self.bus.aclose()
        await self._store.aclose()

    async def problem(self) -> str | None:
        try:
            with anyio.fail_after(2):
                await self._store.raw.ping()
        except (*FAILURES, TimeoutError) as exc:
            return str(self._store.unavailable(exc))
        self._store.mark_up()
        if not self.bus.listening:  # answers, but this replica would not hear other replicas' changes yet
            return f"{self._store.where} answers, but change notifications are not subscribed yet"
        return None
