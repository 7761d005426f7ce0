"""Jobs for tests/test_offload.py: module-level, so a worker process can import them."""

from __future__ import annotations

import os
import sys
import time


def pid_and_priority() -> tuple[int, int]:
    return os.getpid(), os.nice(0) if hasattr(os, "nice") else 0


def stdout_is_devnull() -> bool:
    """Whether fd 1 (and sys.stdout) of this process go to /dev/null; writes there too, to be sure."""
    print("a worker printing", flush=True)
    os.write(1, b"a worker writing to fd 1\n")
    devnull = os.stat(os.devnull)
    return os.path.samestat(os.fstat(1), devnull) and os.path.samestat(os.fstat(sys.stdout.fileno()), devnull)


def spin(seconds: float) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


def napping(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def refuse(message: str) -> None:
    raise ValueError(message)
