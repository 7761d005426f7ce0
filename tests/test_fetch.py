"""The guarded door for untrusted URLs (pylon_mcp/fetch.py), against the sandbox's own file host.

DNS is the one thing stubbed: `Resolver` is injectable, and a stub maps test names to the
addresses a hostile DNS would give (production resolves with getaddrinfo via the event loop).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import httpcore2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pylon_mcp.fetch import (
    AddressRefused,
    FetchError,
    FetchPolicy,
    GuardedBackend,
    Refused,
    fetch,
    refusal,
)
from pylon_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

REFUSED = [
    "127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1",
    "192.0.2.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.1.1", "64:ff9b::a00:1", "64:ff9b:1::1",
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2001:db8::1", "2001::7f00:1",
]  # fmt: skip
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_ipv4_address_passes_only_when_globally_routable(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    public = address.is_global and not address.is_multicast
    assert (refusal(str(address)) is None) == public
    # The same address inside IPv6 (mapped, or NAT64) gets the same answer.
    assert (refusal(f"::ffff:{address}") is None) == public
    assert (refusal(str(ipaddress.IPv6Address((0x64FF9B << 96) | value))) is None) == public


def policy(sandbox_url: str | None = None, **changes: Any) -> FetchPolicy:
    values = {"max_bytes": 10 * 1024 * 1024, "timeout": 5.0, "allowed_hosts": (), **changes}
    return FetchPolicy.of(sandbox_url, **values)


def stub(answers: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in answers:
            raise OSError(f"stub DNS: no such name {host}")
        return answers[host]

    return resolve


async def test_the_sandbox_serves_its_files_over_plain_http(sandbox_url: str) -> None:
    got = await fetch(f"{sandbox_url}/_files/export.csv", policy(sandbox_url))
    assert got.content.startswith(b"date,account,seats")


async def test_plain_http_is_refused_anywhere_but_the_sandbox(sandbox_url: str) -> None:
    with pytest.raises(Refused, match="only https"):
        await fetch(f"{sandbox_url}/_files/export.csv", policy(None))
    for url in ("ftp://files.example/a", "file:///etc/passwd", "gopher://x/", "http://files.example/a"):
        with pytest.raises(Refused, match="only https"):
            await fetch(url, policy(sandbox_url))


async def test_a_name_that_resolves_to_a_private_address_is_refused_before_connecting() -> None:
    calls: list[str] = []
    for address in ("10.0.0.7", "169.254.169.254", "::1", "::ffff:192.168.0.1"):
        resolver = stub({"files.customer.example": [address]}, calls)
        with pytest.raises(AddressRefused, match=re.escape(f"files.customer.example resolves to {address}")):
            await fetch("https://files.customer.example/a.png", policy(), resolver)


async def test_every_address_must_be_public_not_just_the_first() -> None:
    resolver = stub({"mixed.example": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(AddressRefused, match=r"127\.0\.0\.1, a loopback"):
        await fetch("https://mixed.example/a.png", policy(), resolver)


async def test_ip_literals_are_checked_too() -> None:
    for url in ("https://127.0.0.1/x", "https://[::1]/x", "https://169.254.169.254/latest/meta-data/",
                "https://[::ffff:7f00:1]/x", "https://0.0.0.0/x", "https://2130706433/x"):  # fmt: skip
        with pytest.raises(AddressRefused):
            await fetch(url, policy(), stub({"2130706433": ["127.0.0.1"]}))


class RecordingNetwork:
    """Stands in for the socket layer: records what it is asked to connect to, connects nowhere."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def connect_tcp(self, host: str, port: int, **_: Any) -> Any:
        self.asked.append(host)
        raise httpcore2.ConnectError("recorded, not connected")


async def test_the_checked_address_is_the_one_connected_to_so_dns_rebinding_fails() -> None:
    """A rebinding DNS answers a public address first and a private one after: the name is resolved
    once per connection, and the socket is opened to that checked IP, never to the name."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    network = RecordingNetwork()
    backend = GuardedBackend(policy(), rebinding, inner=network)
    with pytest.raises(httpcore2.ConnectError):
        await backend.connect_tcp("rebind.example", 443)
    assert calls == ["rebind.example"] and network.asked == ["93.184.216.34"]
    with pytest.raises(AddressRefused):  # the next connection resolves again, and is checked again
        await backend.connect_tcp("rebind.example", 443)
    assert network.asked == ["93.184.216.34"]


async def test_an_allowed_host_skips_the_address_check_but_keeps_https(sandbox_server: Any) -> None:
    resolver = stub({"files.intranet.example": ["127.0.0.1"]})
    url = f"https://files.intranet.example:{sandbox_server.port}/_files/export.csv"
    with pytest.raises(AddressRefused):
        await fetch(url, policy(), resolver)
    allowed = policy(allowed_hosts=["Files.Intranet.Example"])
    # Past the address check: the sandbox speaks plain HTTP, so the TLS handshake is what fails.
    with pytest.raises(FetchError, match="could not download") as caught:
        await fetch(url, allowed, resolver)
    assert not isinstance(caught.value, Refused)
    with pytest.raises(Refused, match="only https"):
        await fetch(url.replace("https://", "http://"), allowed, resolver)


async def test_redirects_are_followed_and_each_is_checked(sandbox_url: str, sandbox: Sandbox) -> None:
    got = await fetch(f"{sandbox_url}/_files/moved.png", policy(sandbox_url))
    assert got.url.endswith("/_files/screenshot.png") and got.content.startswith(b"\x89PNG")
    with pytest.raises(AddressRefused, match="localhost resolves to"):
        await fetch(f"{sandbox_url}/_files/admin-link.png", policy(sandbox_url))
    with pytest.raises(AddressRefused, match=r"169\.254\.169\.254 is a link-local"):
        await fetch(f"{sandbox_url}/_files/metadata.png", policy(sandbox_url))
    with pytest.raises(Refused, match="redirect loop"):
        await fetch(f"{sandbox_url}/_files/loop.png", policy(sandbox_url))
    with pytest.raises(Refused, match="more than 3 redirects"):
        await fetch(f"{sandbox_url}/_files/chain-0.png", policy(sandbox_url))
    assert not sandbox.requests("POST /_sandbox/reset")  # the admin path was never reached
    served = [entry.path for entry in sandbox.requests("GET /_files/{name}")]
    assert served.count("/_files/chain-0.png") == 1 and "/_files/chain-4.png" not in served


async def test_no_cookie_and_no_token_reach_a_file_host(sandbox_url: str, sandbox: Sandbox) -> None:
    await fetch(f"{sandbox_url}/_files/moved.png", policy(sandbox_url))  # the redirect sets a cookie
    files = sandbox.requests("GET /_files/{name}")
    assert [entry.path for entry in files] == ["/_files/moved.png", "/_files/screenshot.png"]
    for entry in files:
        assert "cookie" not in entry.headers and "authorization" not in entry.headers


async def test_the_byte_cap_holds_whatever_content_length_says(sandbox_url: str) -> None:
    with pytest.raises(Refused, match="larger than the 1,048,576-byte cap"):  # chunked: counted while read
        await fetch(f"{sandbox_url}/_files/huge.bin", policy(sandbox_url, max_bytes=1024 * 1024))
    with pytest.raises(Refused, match="38,226 bytes, over the 5,000-byte cap"):  # declared: refused unread
        await fetch(f"{sandbox_url}/_files/server.log", policy(sandbox_url, max_bytes=5000))


async def test_one_timeout_covers_the_whole_download(sandbox_url: str) -> None:
    with pytest.raises(FetchError, match=r"took longer than 0\.5 s"):
        await fetch(f"{sandbox_url}/_files/slow.log", policy(sandbox_url, timeout=0.5))


async def test_an_http_error_is_named(sandbox_url: str) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetch(f"{sandbox_url}/_files/missing.png", policy(sandbox_url))
