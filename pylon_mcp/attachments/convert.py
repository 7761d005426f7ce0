"""CPU work on attachments off the event loop, so other clients never wait on it.

Decoding a 6000x4000 PNG or reading a 200-page PDF takes a CPU core for a good fraction of a
second. It runs in the worker processes of pylon_mcp/offload.py (at most offload.WORKERS at once;
the rest queue): in a thread of this process it held the GIL, and the event loop waited for it on
every wake-up. A job over offload.TIME_LIMIT raises offload.JobTimedOut. `fn` is a module-level
function taking and returning plain data (bytes, str, dataclasses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    from pylon_mcp import offload

    return await offload.run(fn, *args)


def decode_text(data: bytes) -> str:
    """Text as UTF-8 (or UTF-16 with a byte-order mark); bytes that are not valid show as U+FFFD."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")
