"""CPU work on attachments off the event loop, a few at a time, so other clients never wait on it.

Decoding a 6000x4000 PNG or reading a 200-page PDF takes a CPU core for a good fraction of a
second. It runs in a small pool of its own (not the shared worker threads that convert issue
bodies), at most CONCURRENT at once; the rest queue. (Lowering those threads' priority was
tried and made things worse: a low-priority thread holding the GIL delays the event loop more.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

T = TypeVar("T")
CONCURRENT = 2  # conversions at once per process; the rest queue

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(CONCURRENT, "pylon-attachment")
        return _pool


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool(), partial(fn, *args))


def decode_text(data: bytes) -> str:
    """Text as UTF-8 (or UTF-16 with a byte-order mark); bytes that are not valid show as U+FFFD."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")
