"""CPU work on attachments off the event loop, a few at a time, so other clients never wait on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TypeVar
from weakref import WeakKeyDictionary

import anyio

T = TypeVar("T")
CONCURRENT = 2  # conversions at once per process: the rest queue, the event loop stays free

_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()


def _limiter() -> anyio.CapacityLimiter:
    # One per event loop: a limiter belongs to the loop it was made on (tests run many loops).
    loop = asyncio.get_running_loop()
    found = _limiters.get(loop)
    if found is None:
        found = _limiters[loop] = anyio.CapacityLimiter(CONCURRENT)
    return found


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args), limiter=_limiter())


def decode_text(data: bytes) -> str:
    """Text as UTF-8 (or UTF-16 with a byte-order mark); bytes that are not valid show as U+FFFD."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")
