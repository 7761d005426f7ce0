"""CPU-heavy pure functions in a worker process, so the event loop never waits on the GIL.

Converting a 512 KB customer body, 100 KB of Markdown or a 6000x4000 PNG is pure Python (or holds
the GIL) for up to seconds. In a worker *thread* that work still delays the event loop on every
wake-up (it waits for the GIL), which multiplied other clients' p99 by 2-7x (benchmarks 10, 14, 15).
In a worker process it costs them only a share of a CPU, and a low one: the worker runs at a lower
scheduling priority (nice 10), so the OS runs the event-loop process first.

- The pool is created on the first heavy job, never at start-up (start-up time is a product
  metric, and most sessions never need it); `multiprocessing` is imported then too.
- Workers are started with "spawn" (never plain fork: this process has threads, and a forked
  copy of a held lock deadlocks). Each worker points its stdout at /dev/null: in stdio mode fd 1
  is the JSON-RPC channel, and a child writing there would corrupt it.
- A job over TIME_LIMIT seconds has its worker killed and the pool recreated, and raises
  `JobTimedOut` for the caller to turn into a note, rather than burning a core forever.
- A worker exits on its own within a second of the server's end, however the server ended.
- Where processes cannot be created (restricted sandboxes), jobs run in a worker thread, as
  before, and this is logged once.

Jobs are module-level functions taking and returning picklable values (str, bytes, dataclasses).
A process hop costs about a millisecond: callers keep small inputs inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("pylon_mcp.offload")

WORKERS = 2  # jobs at once; the rest queue (the machine's other clients need the cores more)
TIME_LIMIT = 30.0  # seconds a job may take before its worker is killed
PARENT_CHECK_SECONDS = 1.0  # how often a worker checks that the server is still there
NICE = 10  # how much lower the worker's scheduling priority is than the server's


class JobTimedOut(RuntimeError):
    """A job ran past its time limit; its worker was killed and nothing came of it."""


_pool: Executor | None = None
_lock = threading.Lock()
_exit_hooked = False
_fallback = False  # processes could not be created: run in threads from now on


def _start_worker() -> None:
    """Initializer of each worker process: never write to the parent's stdout, lower priority."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    with contextlib.suppress(AttributeError, OSError):  # Windows has no os.nice; a refusal is not fatal
        os.nice(NICE)
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="pylon-parent-watch", daemon=True
    ).start()


def _exit_with_parent(parent: int) -> None:
    """A server stopped by a signal (or os._exit) never shuts its pool down, and each worker holds
    the job queue open for the others: without this they would wait for jobs forever."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _new_pool() -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(WORKERS, multiprocessing.get_context("spawn"), initializer=_start_worker)
    # At interpreter exit, concurrent.futures waits for running jobs to finish; a server that is
    # stopping should not wait for a half-read PDF. Registered after its own hook, so it runs first.
    global _exit_hooked
    if not _exit_hooked:
        threading._register_atexit(shutdown)  # type: ignore[attr-defined]
        _exit_hooked = True
    return pool


def _get_pool() -> Executor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = _new_pool()
        return _pool


def _discard(pool: Executor, kill: bool) -> None:
    """Forget `pool` (the next job creates a new one); kill its workers if a job overran."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    if kill:
        _kill_workers(pool)
    pool.shutdown(wait=False, cancel_futures=True)


def _kill_workers(pool: Executor) -> None:
    # ProcessPoolExecutor has no public way to stop a running job: its processes are killed.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


async def run(fn: Callable[..., T], *args: Any, time_limit: float | None = None) -> T:
    """`fn(*args)` in a worker process; its result, or its exception re-raised here.

    Raises JobTimedOut after `time_limit` seconds (TIME_LIMIT by default)."""
    from concurrent.futures.process import BrokenProcessPool

    limit = TIME_LIMIT if time_limit is None else time_limit
    for attempt in (1, 2):
        future, pool = _submit(fn, *args)
        if future is None or pool is None:
            return await _in_thread(fn, *args)
        started = time.monotonic()
        waiting = asyncio.wrap_future(future)
        try:
            done, _ = await asyncio.wait({waiting}, timeout=limit)  # never cancels the job itself
        except asyncio.CancelledError:
            # The caller went away (a cancelled request). A job not started yet is dropped; a running
            # one still may not outlive its time limit.
            waiting.add_done_callback(_ignore)
            if not future.cancel():
                left = max(0.0, limit - (time.monotonic() - started))
                asyncio.get_running_loop().call_later(left, _stop_if_running, pool, future)
            raise
        if not done:
            waiting.add_done_callback(_ignore)
            _discard(pool, kill=True)
            log.warning("%s ran over %g s; its worker was stopped", getattr(fn, "__name__", "a job"), limit)
            raise JobTimedOut(f"it ran for over {limit:g} s and was stopped")
        try:
            return waiting.result()
        except BrokenProcessPool:
            # Another job's worker was killed for overrunning (or a worker died): this job never
            # finished, so running it once more on a fresh pool is safe. Jobs are pure functions.
            _discard(pool, kill=False)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _submit(fn: Callable[..., Any], *args: Any) -> tuple[Future[Any] | None, Executor | None]:
    """The job submitted to the pool, or (None, None) if processes cannot be created here."""
    global _fallback
    from concurrent.futures.process import BrokenProcessPool

    for _ in (1, 2):
        if _fallback:
            return None, None
        try:
            pool = _get_pool()
            return pool.submit(fn, *args), pool
        except (BrokenProcessPool, RuntimeError) as exc:
            if pool is not _pool or isinstance(exc, BrokenProcessPool):
                _discard(pool, kill=False)  # shut down or broken since it was handed out: a fresh one
                continue
            _unavailable(exc)
        except (OSError, ImportError, NotImplementedError) as exc:
            _unavailable(exc)
    return None, None


def _unavailable(exc: BaseException) -> None:
    global _fallback
    _fallback = True
    log.warning("worker processes are unavailable (%s); CPU-heavy work runs in threads", exc)


def _ignore(waiting: asyncio.Future[Any]) -> None:
    if not waiting.cancelled():
        waiting.exception()  # retrieved: a job abandoned or killed is not an error to log again


def _stop_if_running(pool: Executor, future: Future[Any]) -> None:
    if not future.done():
        log.warning("an abandoned job ran over its time limit; its worker was stopped")
        _discard(pool, kill=True)


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    import anyio

    return await anyio.to_thread.run_sync(lambda: fn(*args))


def shutdown() -> None:
    """Stop the workers now (at exit), abandoning any running job. A later job starts a new pool."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
        _kill_workers(pool)
