"""Connection hygiene for HTTP mode: what uvicorn leaves open by default.

- a deadline for each request's head and body (uvicorn has none: a client sending headers one
  byte at a time, or nothing at all, would hold its connection forever);
- idle keep-alive connections closed after a few seconds, and a cap on open connections;
- the soft `nofile` limit raised to the hard one, so the common 1024 is not the ceiling;
- a connection beyond the cap answered `503` at once by the listening socket itself, so it never
  waits in the kernel's queue behind idle ones, and the descriptors never run out;
- repeated `accept()` failures (out of file descriptors) and clients that leave mid-request
  logged once per interval with a count, not as a traceback each.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import time
from collections import deque
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from pylon_mcp.hosting import metrics

# From connect, or from the previous response, to a complete request head and body.
HEADER_TIMEOUT_SECONDS = 10.0
IDLE_TIMEOUT_SECONDS = 5  # keep-alive connection with no request
# Beyond this, uvicorn answers 503 at once. Idle sockets count too until their head deadline, so it
# sits well above the 1,100 idle sockets that used to stall the server (an idle h11 connection is a
# few kB).
MAX_CONNECTIONS = 4096
FD_RESERVE = 64  # descriptors kept for Pylon's pool, the listening socket and files
REPEATED_LOG_INTERVAL = 60.0
ACCEPT_PAUSE_SECONDS = 0.5  # below asyncio's own 1 s accept retry, which then finds accept() working

log = logging.getLogger("pylon_mcp.http")


# Sent to a connection beyond the cap, before closing it: it fails fast instead of waiting.
_REFUSAL_BODY = (
    b'{"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": "too many open connections"}}'
)
SERVICE_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Retry-After: 1\r\nContent-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)
REFUSALS_PER_ACCEPT = 64  # then the event loop gets a turn; it calls accept() again at once
LINGER_SECONDS = 0.5  # a refused connection stays open this long, so its client reads the 503
MAX_LINGERING = 16  # refused connections kept open at once (from FD_RESERVE); the oldest close first


class ListeningSocket(socket.socket):
    """A listening socket that counts the connections it hands out and refuses those beyond a cap.

    Beyond `capacity` open connections, a new one is answered 503 and closed right here: it
    never sits in the kernel's queue behind idle connections (probes timed out that way), and
    the process never runs out of descriptors. `capacity` is set by `serve`.

    Also, after running out of fds anyway, it answers "nothing to accept" for a moment: asyncio
    (3.11) keeps calling accept() after EMFILE within one wake-up and schedules a retry timer for
    each failure, up to `backlog` timers a second, each failing again. That flood, not the
    exhaustion itself, stopped the server answering. One failure per retry is enough.
    """

    _exhausted_until = 0.0
    capacity: int | None = None
    open_connections = 0
    refused = 0  # connections answered 503 at accept, since start

    def accept(self) -> tuple[socket.socket, Any]:
        if time.monotonic() < self._exhausted_until:
            raise BlockingIOError(errno.EAGAIN, "accept paused after running out of resources")
        for _ in range(REFUSALS_PER_ACCEPT):
            try:
                fd, address = self._accept()  # type: ignore[attr-defined]
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self._exhausted_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
                raise
            if self.capacity is None or self.open_connections < self.capacity:
                conn = CountedConnection(self.family, self.type, self.proto, fileno=fd)
                conn.listener = self
                self.open_connections += 1
                if socket.getdefaulttimeout() is None and self.gettimeout():
                    conn.setblocking(True)
                return conn, address
            self._refuse(socket.socket(self.family, self.type, self.proto, fileno=fd))
        raise BlockingIOError(errno.EAGAIN, "refused connections beyond capacity; more may be waiting")

    def _refuse(self, conn: socket.socket) -> None:
        self.refused += 1
        metrics.connection_refused()
        _lingering.close_expired()
        try:
            conn.setblocking(False)
            with contextlib.suppress(BlockingIOError, InterruptedError):
                conn.recv(65536)  # what already arrived: closing on unread data would reset the connection
            conn.send(SERVICE_UNAVAILABLE)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            conn.close()
            return
        _lingering.add(conn)
        _refusals.report(self.open_connections)


class _Lingering:
    """Refused connections, closed LINGER_SECONDS later (or sooner when too many wait)."""

    def __init__(self) -> None:
        self._conns: deque[tuple[float, socket.socket]] = deque()

    def add(self, conn: socket.socket) -> None:
        self._conns.append((time.monotonic() + LINGER_SECONDS, conn))
        while len(self._conns) > MAX_LINGERING:
            self._conns.popleft()[1].close()
        try:
            import asyncio

            asyncio.get_running_loop().call_later(LINGER_SECONDS, self.close_expired)
        except RuntimeError:  # no loop (a test calling accept directly): the next refusal sweeps
            pass

    def close_expired(self) -> None:
        now = time.monotonic()
        while self._conns and self._conns[0][0] <= now:
            self._conns.popleft()[1].close()


_lingering = _Lingering()


class RepeatedReport:
    """One log line per interval for an event that may come in floods, with how many there were.

    The first occurrence is logged at once; later ones within the interval are counted and
    reported in one line when the interval is over (a timer on the running loop), so a burst
    costs two lines, not one per event.
    """

    def __init__(self, message: str, interval: float = REPEATED_LOG_INTERVAL) -> None:
        self.message = message
        self.interval = interval
        self.total = 0
        self._last = -interval
        self._pending = 0
        self._flush_scheduled = False
        self._args: tuple[Any, ...] = ()

    def report(self, *args: Any) -> None:
        self.total += 1
        self._args = args
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            log.warning(f"{self.message}; repeats are reported once per {self.interval:g}s", *args)
            return
        self._pending += 1
        if not self._flush_scheduled:
            try:
                import asyncio

                asyncio.get_running_loop().call_later(self._last + self.interval - now, self.flush)
                self._flush_scheduled = True
            except RuntimeError:  # no running loop: the next report after the interval carries the count
                pass

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            count, self._pending = self._pending, 0
            self._last = time.monotonic()
            log.warning(f"{self.message} ({count} more times in the last {self.interval:g}s)", *self._args)


_refusals = RepeatedReport(
    "connection refused with 503: %s connections are open, the most this process takes (raise the "
    "open-file limit for more)"
)


class CountedConnection(socket.socket):
    """An accepted connection that gives its slot back to the listening socket when closed."""

    listener: ListeningSocket | None = None

    def _real_close(self, *args: Any) -> None:  # type: ignore[override]
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.open_connections -= 1
        super()._real_close(*args)


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head is overdue."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    _head_deadline: Any = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        # A body still trickling in after the same time is the same attack one step later.
        body_overdue = not waiting_for_head and self.cycle.more_body
        if (waiting_for_head or body_overdue) and not self.transport.is_closing():
            self.transport.close()


def protocol_with_timeout(seconds: float) -> type[HeadDeadlineProtocol]:
    """The protocol class with another head deadline (tests use a short one)."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"header_timeout": seconds})


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        return MAX_CONNECTIONS + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %s: %s", soft, exc)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(fd_limit: int) -> int:
    return max(16, min(MAX_CONNECTIONS, fd_limit - FD_RESERVE))


class OncePerInterval(logging.Filter):
    """Lets one record of each repeating kind through per interval, as one line with a count."""

    REPEATING = ("socket.accept() out of system resource", "Exceeded concurrency limit.")

    def __init__(self, interval: float = REPEATED_LOG_INTERVAL) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        kind = next((k for k in self.REPEATING if message.startswith(k)), None)
        if kind is None:
            return True
        now = time.monotonic()
        if now - self._last.get(kind, -self.interval) < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return False
        self._last[kind] = now
        more = self._suppressed.pop(kind, 0)
        detail = f": {record.exc_info[1]}" if record.exc_info and record.exc_info[1] else ""
        suffix = f" ({more} more since the last report)" if more else ""
        record.msg = f"{kind}{detail}{suffix}; repeats are reported once per {self.interval:g}s"
        record.args, record.exc_info, record.exc_text = None, None, None
        return True


def install_log_limits() -> None:
    limiter = OncePerInterval()
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(limiter)


def server_options(header_timeout: float = HEADER_TIMEOUT_SECONDS) -> dict[str, Any]:
    """uvicorn.Config keyword arguments for the limits above (raises the fd limit as a side effect)."""
    return {
        "http": HeadDeadlineProtocol if header_timeout == HEADER_TIMEOUT_SECONDS
        else protocol_with_timeout(header_timeout),
        "timeout_keep_alive": IDLE_TIMEOUT_SECONDS,
        "limit_concurrency": connection_cap(raise_fd_limit()),
        "h11_max_incomplete_event_size": 64 * 1024,  # a request head larger than this is refused
    }  # fmt: skip
