"""The issuer's metadata document: OpenID Connect Discovery, else RFC 8414 (both as MCP clients try them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx2


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata can live, in the order the MCP authorization spec has clients try."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return [
            f"{origin}/.well-known/oauth-authorization-server",
            f"{origin}/.well-known/openid-configuration",
        ]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


async def issuer_metadata(http: httpx2.AsyncClient, issuer: str) -> dict[str, Any]:
    problems = []
    for url in metadata_urls(issuer):
        try:
            response = await http.get(url, headers={"accept": "application/json"})
        except httpx2.HTTPError as exc:
            problems.append(f"{url}: {exc}")
            continue
        if response.status_code != 200:
            problems.append(f"{url}: HTTP {response.status_code}")
            continue
        try:
            document = response.json()
        except ValueError:
            problems.append(f"{url}: not JSON")
            continue
        found = document.get("issuer") if isinstance(document, dict) else None
        # RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name the issuer we asked about.
        if found != issuer:
            problems.append(f"{url}: issuer is {found!r}, not {issuer!r}")
            continue
        return document
    raise ValueError(f"no usable metadata for issuer {issuer}: {'; '.join(problems)}")
