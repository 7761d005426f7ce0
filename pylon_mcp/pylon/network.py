"""What went wrong on the way to Pylon, in words: a failed DNS lookup, a refused connection, a
TLS failure or a timeout, rather than an exception's class name ("ConnectError: All connection
attempts failed" says none of these)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def connection_failure(exc: BaseException, base_url: str) -> str | None:
    """One phrase for why no answer came from `base_url`, or None when it is none of the known kinds."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for error in _chain(exc):
        if isinstance(error, socket.gaierror):
            return f"DNS lookup failed for host {host}"
        if isinstance(error, ssl.SSLCertVerificationError):
            return f"TLS failed: the certificate of {host} could not be verified ({error.verify_message})"
        if isinstance(error, ssl.SSLError):
            return f"TLS failed: the handshake with {host}:{port} did not complete ({error.reason or error})"
        if isinstance(error, ConnectionRefusedError):
            return f"connection refused by {host}:{port} (nothing listens there)"
        if isinstance(error, TimeoutError | socket.timeout):
            return f"timed out connecting to {host}:{port}"
    return None
