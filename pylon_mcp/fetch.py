"""The guarded door for URLs a customer influenced (attachments): what may be fetched, and how.

A URL in an issue was written by whoever filed it, so fetching it must not let them reach
this server's own network (server-side request forgery), nor exhaust its memory or time:

- only https, except plain http to the sandbox (PYLON_API_URL's host and port, when loopback);
- every address the host resolves to must be public, unless the host is allowed by name
  (PYLON_ATTACHMENT_ALLOWED_HOSTS) or is the sandbox. The check is made on the address that is
  actually connected to: the host is resolved once, checked, and the socket opened to that IP
  (the original host still goes in the Host header and the TLS SNI), so DNS rebinding between
  a check and a connect cannot happen. The hook is httpcore's network backend, which is asked
  for every new connection, redirects included;
- at most MAX_REDIRECTS redirects, each one checked like the first URL;
- a byte cap enforced while streaming, whatever Content-Length says, and one deadline for the
  whole download;
- no cookies and no Pylon token: a separate client with no auth, and a cookie jar that keeps nothing.

The resolver is injectable (`Resolver`): production asks the system (getaddrinfo via the event
loop); tests pass a stub that maps a name to a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from weakref import WeakKeyDictionary

import anyio
import httpx2

from pylon_mcp import __version__

if TYPE_CHECKING:
    import ssl

    from httpcore2 import AsyncNetworkStream

MAX_REDIRECTS = 3
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
CONCURRENT_DOWNLOADS = 4

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses, as the system resolves them (getaddrinfo in the loop's executor)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class FetchError(Exception):
    """A fetch that did not return the whole file. The message says which rule or fault, for the model."""


class Refused(FetchError):
    """Refused by a rule before (or instead of) reading: scheme, address, redirect, size."""


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = 30.0  # the whole download: resolving, connecting, redirects and reading
    allowed_hosts: frozenset[str] = frozenset()  # by name, lower case: any address, https only
    sandbox: tuple[str, int] | None = None  # (host, port) of a loopback PYLON_API_URL: http allowed
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def of(
        cls, api_url: str | None, *, max_bytes: int, timeout: float, allowed_hosts: Iterable[str]
    ) -> FetchPolicy:
        return cls(
            max_bytes=max_bytes,
            timeout=timeout,
            allowed_hosts=frozenset(
                host.strip().lower().rstrip(".") for host in allowed_hosts if host.strip()
            ),
            sandbox=loopback_origin(api_url),
        )

    def exempt(self, host: str, port: int) -> bool:
        """A host whose addresses are not checked: allowed by name, or the sandbox."""
        host = host.lower().rstrip(".")
        return host in self.allowed_hosts or self.sandbox == (host, port)


def loopback_origin(api_url: str | None) -> tuple[str, int] | None:
    """(host, port) of an http:// PYLON_API_URL on a loopback address (the sandbox), else None."""
    if not api_url:
        return None
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or not host:
        return None
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            return None
    return host, parts.port or 80


# --- addresses ---------------------------------------------------------------------------

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64): checked like IPv4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(text: str) -> str | None:
    """Why this address must not be connected to ("loopback", "private"…), or None when it is public."""
    try:
        address: Address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal(str(inner))
            return f"{reason} (IPv4 {inner} inside IPv6)" if reason else None
        if address in _NAT64_LOCAL:
            return "private address"
        if address.teredo is not None:  # a tunnel to wherever its relay decides: never a file host
            return "Teredo tunnel address"
    for reason, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),  # cloud metadata (169.254.169.254) lives here
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    ):
        if hit:
            return f"{reason} address"
    return None


class AddressRefused(Refused):
    pass


class GuardedBackend:
    """httpcore's network backend, with the address check between resolving and connecting."""

    def __init__(self, policy: FetchPolicy, resolver: Resolver, inner: Any = None) -> None:
        from httpcore2._backends.auto import AutoBackend  # the backend httpcore uses by default

        self._policy = policy
        self._resolver = resolver
        self._inner = inner or AutoBackend()  # `inner`: tests record what is connected to
        self.connected: list[tuple[str, str]] = []  # (host, address) per connection, for tests

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        import httpcore2

        bare = host.strip("[]")
        try:
            ipaddress.ip_address(bare.split("%", 1)[0])
            addresses = [bare]
        except ValueError:
            try:
                addresses = await self._resolver(bare, port)
            except OSError as exc:
                raise httpcore2.ConnectError(f"cannot resolve {bare}: {exc}") from exc
        if not addresses:
            raise httpcore2.ConnectError(f"{bare} has no addresses")
        if not self._policy.exempt(bare, port):
            for address in addresses:
                reason = refusal(address)
                if reason is not None:
                    where = f"{bare} is" if address == bare else f"{bare} resolves to {address},"
                    raise AddressRefused(
                        f"{where} a {reason}; attachments are fetched from "
                        "public addresses only (PYLON_ATTACHMENT_ALLOWED_HOSTS can allow a host by name)"
                    )
        error: Exception | None = None
        for address in addresses:  # connect to the checked address itself, never to the name again
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
                continue
            self.connected.append((bare, address))
            return stream
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> AsyncNetworkStream:
        raise Refused("unix sockets are never used for attachments")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds: once per process, not per attachment.
    return httpx2.create_ssl_context(trust_env=False)


class _NoCookies(DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


def guarded_client(policy: FetchPolicy, resolver: Resolver) -> tuple[httpx2.AsyncClient, GuardedBackend]:
    """A client for untrusted URLs: the guarded backend, no proxies from the environment (a proxy
    would be the address connected to), no auth, no cookies, no automatic redirects."""
    import httpcore2

    backend = GuardedBackend(policy, resolver)
    transport = httpx2.AsyncHTTPTransport(trust_env=False, verify=_ssl_context())
    # AsyncHTTPTransport has no network_backend argument; its pool is rebuilt with ours (same settings).
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=_ssl_context(), max_connections=4, network_backend=backend
    )
    client = httpx2.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=policy.timeout,
        headers={"User-Agent": f"pylon-mcp/{__version__} (attachment reader)", "Accept-Encoding": "identity"},
    )
    # The client copies any jar it is given into its own, policy lost: set the policy on its jar.
    client.cookies.jar.set_policy(_NoCookies())
    return client, backend


@dataclass
class Fetched:
    url: str  # after redirects
    content: bytes
    content_type: str | None  # as the host said; for display only, never to decide the type
    redirects: list[str] = field(default_factory=list)


def check_url(url: str, policy: FetchPolicy) -> tuple[str, int]:
    """Scheme and host rules, before any connection. Returns (host, port).

    The address rules are not here but in GuardedBackend, on the host httpx itself parsed and
    connects to: a URL that two parsers read differently cannot slip past them."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"{url[:200]!r} is not a valid URL ({exc})") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http"):
        raise Refused(f"only https URLs are fetched; got {parts.scheme or 'no scheme'}:")
    if not host:
        raise Refused(f"{url[:200]!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("URLs with a user name or password in them are not fetched")
    if parts.scheme == "https":
        return host, port or 443
    if parts.scheme == "http" and policy.sandbox == (host, port or 80):
        return host, port or 80
    raise Refused(
        f"only https URLs are fetched (plain http only from the sandbox at PYLON_API_URL); got {parts.scheme}://"
    )


_downloads: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


def _download_slots() -> asyncio.Semaphore:
    # Each download may hold up to max_bytes in memory: a few at a time per process, the rest wait
    # (within their timeout). One semaphore per event loop, as a semaphore belongs to its loop.
    loop = asyncio.get_running_loop()
    slots = _downloads.get(loop)
    if slots is None:
        slots = _downloads[loop] = asyncio.Semaphore(CONCURRENT_DOWNLOADS)
    return slots


async def fetch(url: str, policy: FetchPolicy, resolver: Resolver = system_resolver) -> Fetched:
    """The whole body of `url`, or a FetchError saying which rule or fault stopped it."""
    client, _ = guarded_client(policy, resolver)
    seen = [url]
    try:
        with anyio.fail_after(policy.timeout):
            async with _download_slots(), client:
                while True:
                    check_url(url, policy)
                    async with client.stream("GET", url) as response:
                        if 300 <= response.status_code < 400:
                            if not response.headers.get("location"):
                                raise FetchError(
                                    f"the file host answered HTTP {response.status_code} with nowhere to go"
                                )
                            target = urljoin(url, response.headers["location"])
                            if target in seen:
                                raise Refused(f"redirect loop: {target[:200]} was already visited")
                            if len(seen) > policy.max_redirects:
                                raise Refused(
                                    f"more than {policy.max_redirects} redirects; stopped at {target[:200]}"
                                )
                            try:
                                check_url(target, policy)
                            except Refused as exc:
                                raise Refused(f"refused redirect to {target[:200]}: {exc}") from None
                            seen.append(target)
                            url = target
                            continue
                        if response.status_code >= 400 or response.status_code < 200:
                            reason = response.reason_phrase or ""
                            raise FetchError(
                                f"the file host answered HTTP {response.status_code} {reason}".rstrip()
                            )
                        content = await _read_capped(response, policy.max_bytes)
                        return Fetched(url, content, response.headers.get("content-type"), seen[1:])
    except TimeoutError:
        raise FetchError(f"the download took longer than {policy.timeout:g} s; nothing was kept") from None
    except AddressRefused as exc:
        raise _after_redirect(exc, seen) from None
    except httpx2.TransportError as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, AddressRefused):  # raised by the backend, wrapped on the way up
            raise _after_redirect(cause, seen) from None
        raise FetchError(f"could not download the file: {type(exc).__name__}: {exc}") from None


def _after_redirect(exc: AddressRefused, seen: list[str]) -> AddressRefused:
    return AddressRefused(f"refused redirect to {seen[-1][:200]}: {exc}") if len(seen) > 1 else exc


async def _read_capped(response: httpx2.Response, cap: int) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").lower()
    if encoding not in ("identity", ""):
        # Asked for identity: a compressed body could inflate past any cap in one chunk.
        raise Refused(f"the file host sent a {encoding}-encoded body although none was asked for")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise Refused(
            f"the file is {int(declared):,} bytes, over the {cap:,}-byte cap (PYLON_ATTACHMENT_MAX_BYTES)"
        )
    body = bytearray()
    async for chunk in response.aiter_raw(CHUNK):
        body += chunk
        if len(body) > cap:  # whatever Content-Length said
            raise Refused(
                f"the file is larger than the {cap:,}-byte cap (PYLON_ATTACHMENT_MAX_BYTES); "
                f"stopped reading after {len(body):,} bytes"
            )
    return bytes(body)
