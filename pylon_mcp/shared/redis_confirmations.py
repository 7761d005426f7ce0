"""Confirmation tokens in Redis (pylon_mcp/confirmations.py): a token previewed on one replica can be
confirmed on another, and only once across all of them.

One key per token holds what it was issued for; redeeming checks and marks it used in one Lua
script, so two replicas given the same token at once cannot both send. Expiry is judged on
Redis's clock (replicas' clocks may differ); the key lives one extra TTL so a late repeat is
told "used" or "expired" rather than "unknown".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylon_mcp.confirmations import TOKEN_TTL, Redeem, new_token

if TYPE_CHECKING:
    from pylon_mcp.shared.redis_backend import _Store

_ISSUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local entry = {digest = ARGV[1], owner = ARGV[2], expires = now + tonumber(ARGV[3]), used = false}
redis.call('SET', KEYS[1], cjson.encode(entry), 'PX', 2 * tonumber(ARGV[3]))
return 1
"""

# ARGV: digest, owner. Returns a Redeem value.
_REDEEM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 'unknown' end
local entry = cjson.decode(raw)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if entry.owner ~= ARGV[2] then return 'other_caller' end
if entry.expires <= now then return 'expired' end
if entry.used then return 'used' end
if entry.digest ~= ARGV[1] then return 'mismatch' end
entry.used = true
redis.call('SET', KEYS[1], cjson.encode(entry), 'KEEPTTL')
return 'ok'
"""

_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local entry = cjson.decode(raw)
entry.used = false
redis.call('SET', KEYS[1], cjson.encode(entry), 'KEEPTTL')
return 1
"""


class RedisConfirmations:
    def __init__(self, store: _Store, ttl: float = TOKEN_TTL) -> None:
        self._store = store
        self.ttl = ttl

    def _key(self, token: str) -> str:
        return f"{self._store.prefix}confirm:{token}"

    async def _run(self, script: str, token: str, *args: str | int) -> str:
        from pylon_mcp.shared.redis_backend import FAILURES

        try:
            answer = await self._store.client.eval(script, 1, self._key(token), *args)
        except FAILURES as exc:
            raise self._store.unavailable(exc) from exc
        self._store.mark_up()
        return str(answer)

    async def issue(self, digest: str, owner: str) -> str:
        token = new_token()
        await self._run(_ISSUE, token, digest, owner, int(self.ttl * 1000))
        return token

    async def redeem(self, token: str, digest: str, owner: str) -> Redeem:
        return Redeem(await self._run(_REDEEM, token, digest, owner))

    async def release(self, token: str) -> None:
        await self._run(_RELEASE, token)
