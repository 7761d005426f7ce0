"""One validated Settings object, from environment variables and CLI flags (flags win).

Every option has one environment variable and one flag; `OPTIONS` is the single
table that the CLI, `--help`, `check` and docs/configuration.md are generated from.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pylon_mcp.pylon.auth import Secret

MISSING_TOKEN = "no Pylon API token: set PYLON_API_TOKEN or run with --demo"  # noqa: S105 - a message
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}
DEFAULT_SCOPES = ("pylon:read", "pylon:write", "pylon:reply")
# Settings that mean nothing without an issuer; setting one alone is a mistake worth naming.
_NEED_ISSUER = ("resource_url", "oauth_audience", "oauth_jwks_url", "oauth_introspection_url",
                "oauth_client_id", "oauth_client_secret")  # fmt: skip


class ConfigError(ValueError):
    """A setting is missing or wrong. The message says exactly what to set."""


@dataclass(frozen=True)
class Option:
    name: str  # Settings attribute
    env: str
    flag: str
    kind: type | str  # bool, int, float, str, "list", "secret", or a tuple of choices
    help: str
    choices: tuple[str, ...] = ()


OPTIONS: tuple[Option, ...] = (
    Option(
        "api_token",
        "PYLON_API_TOKEN",
        "--api-token",
        "secret",
        "Pylon API token (prefer the env var: flags show up in process lists)",
    ),
    Option(
        "api_url",
        "PYLON_API_URL",
        "--api-url",
        str,
        "Pylon base URL (default: from the token's region, https://api.usepylon.com or api.eu)",
    ),
    Option("read_only", "PYLON_READ_ONLY", "--read-only", bool, "offer only read tools; refuse writes"),
    Option(
        "timeout", "PYLON_TIMEOUT", "--timeout", float, "seconds to wait for Pylon per request (default 30)"
    ),
    Option(
        "transport",
        "PYLON_MCP_TRANSPORT",
        "--transport",
        str,
        "stdio (default) or http",
        choices=("stdio", "http"),
    ),
    Option("host", "PYLON_MCP_HOST", "--host", str, "HTTP bind address (default 127.0.0.1)"),
    Option("port", "PYLON_MCP_PORT", "--port", int, "HTTP port (default 8000)"),
    Option(
        "demo", "PYLON_DEMO", "--demo", bool, "run against a built-in sandbox with demo data; no token needed"
    ),
    Option(
        "toolsets",
        "PYLON_TOOLSETS",
        "--toolsets",
        "list",
        "comma-separated toolsets to offer: issues, conversation, directory, or all (default all)",
    ),
    Option("tools", "PYLON_TOOLS", "--tools", "list", "comma-separated allowlist of tool names"),
    Option(
        "exclude_tools", "PYLON_EXCLUDE_TOOLS", "--exclude-tools", "list", "comma-separated tools to hide"
    ),
    Option(
        "enable_delete",
        "PYLON_ENABLE_DELETE",
        "--enable-delete",
        bool,
        "offer delete_issue (permanent; off by default)",
    ),
    Option(
        "allow_customer_replies",
        "PYLON_ALLOW_CUSTOMER_REPLIES",
        "--allow-customer-replies",
        bool,
        "offer send_customer_reply: messages the customer, after a preview and confirmation (off by default)",
    ),
    Option(
        "body_chars",
        "PYLON_BODY_CHARS",
        "--body-chars",
        int,
        "max characters of an issue body per tool result (default 4000)",
    ),
    Option(
        "attachment_max_bytes",
        "PYLON_ATTACHMENT_MAX_BYTES",
        "--attachment-max-bytes",
        int,
        "largest attachment get_attachment downloads, in bytes (default 10485760)",
    ),
    Option(
        "attachment_allowed_hosts",
        "PYLON_ATTACHMENT_ALLOWED_HOSTS",
        "--attachment-allowed-hosts",
        "list",
        "attachment hosts fetched even on private addresses, e.g. files.intranet.example (https only)",
    ),
    Option(
        "auth_token",
        "PYLON_MCP_AUTH_TOKEN",
        "--auth-token",
        "secret",
        "bearer token HTTP clients must send (HTTP mode)",
    ),
    Option(
        "insecure_no_auth",
        "PYLON_MCP_INSECURE_NO_AUTH",
        "--insecure-no-auth",
        bool,
        "allow HTTP on a non-loopback address without an auth token",
    ),
    Option(
        "allowed_hosts",
        "PYLON_MCP_ALLOWED_HOSTS",
        "--allowed-hosts",
        "list",
        "extra Host header values accepted in HTTP mode (e.g. mcp.example.com)",
    ),
    Option(
        "allowed_origins",
        "PYLON_MCP_ALLOWED_ORIGINS",
        "--allowed-origins",
        "list",
        "extra Origin values accepted in HTTP mode (e.g. https://app.example.com)",
    ),
    Option(
        "max_body_bytes",
        "PYLON_MCP_MAX_BODY_BYTES",
        "--max-body-bytes",
        int,
        "largest HTTP request body accepted (default 1048576)",
    ),
    Option(
        "oauth_issuer",
        "PYLON_MCP_OAUTH_ISSUER",
        "--oauth-issuer",
        str,
        "OAuth issuer URL of your identity provider; turns HTTP mode into an OAuth resource server",
    ),
    Option(
        "resource_url",
        "PYLON_MCP_RESOURCE_URL",
        "--resource-url",
        str,
        "this server's public MCP URL, e.g. https://mcp.example.com/mcp (OAuth)",
    ),
    Option(
        "oauth_audience",
        "PYLON_MCP_OAUTH_AUDIENCE",
        "--oauth-audience",
        str,
        "audience (aud) tokens must carry (default: the resource URL)",
    ),
    Option(
        "oauth_jwks_url",
        "PYLON_MCP_OAUTH_JWKS_URL",
        "--oauth-jwks-url",
        str,
        "JWKS URL for token signatures (default: jwks_uri from the issuer's discovery document)",
    ),
    Option(
        "oauth_introspection_url",
        "PYLON_MCP_OAUTH_INTROSPECTION_URL",
        "--oauth-introspection-url",
        str,
        "validate tokens by RFC 7662 introspection at this URL instead of as signed JWTs",
    ),
    Option(
        "oauth_client_id",
        "PYLON_MCP_OAUTH_CLIENT_ID",
        "--oauth-client-id",
        str,
        "client ID this server uses at the introspection endpoint",
    ),
    Option(
        "oauth_client_secret",
        "PYLON_MCP_OAUTH_CLIENT_SECRET",
        "--oauth-client-secret",
        "secret",
        "client secret this server uses at the introspection endpoint",
    ),
    Option(
        "oauth_scopes",
        "PYLON_MCP_OAUTH_SCOPES",
        "--oauth-scopes",
        "list",
        "your identity provider's names for the read,write,reply scopes (default pylon:read,pylon:write,pylon:reply)",
    ),
    Option(
        "oauth_email_claim",
        "PYLON_MCP_OAUTH_EMAIL_CLAIM",
        "--oauth-email-claim",
        str,
        "token claim holding the caller's email, matched to a Pylon user (default email)",
    ),
    Option(
        "oauth_writes_need_user",
        "PYLON_MCP_OAUTH_WRITES_NEED_USER",
        "--oauth-writes-need-user",
        bool,
        "refuse writes from callers with no Pylon user (default true; false: they write as the API token's user)",
    ),
    Option(
        "resource_ttl",
        "PYLON_RESOURCE_TTL",
        "--resource-ttl",
        float,
        "seconds to cache resource listings (default 30)",
    ),
    Option(
        "recent_days",
        "PYLON_RECENT_DAYS",
        "--recent-days",
        int,
        "days covered by pylon://issues/recent (default 7)",
    ),
    Option(
        "redis_url",
        "PYLON_MCP_REDIS_URL",
        "--redis-url",
        "secret",
        "redis://… shared by replicas: idempotency ledger, rate limits, listing cache, change "
        "notifications, reply confirmations (default: in this process)",
    ),
    Option(
        "rate_budget",
        "PYLON_MCP_RATE_BUDGET",
        "--rate-budget",
        float,
        "share of Pylon's published per-minute limits all replicas together may use, e.g. 0.9 "
        "(default 0: no budget; 429s still pause callers)",
    ),
    Option(
        "knowledge_index",
        "PYLON_KNOWLEDGE_INDEX",
        "--knowledge-index",
        str,
        "where search_knowledge keeps its index: file (default, in the user's cache directory), memory, or "
        "off (no knowledge tools)",
        choices=("file", "memory", "off"),
    ),
    Option(
        "knowledge_refresh",
        "PYLON_KNOWLEDGE_REFRESH",
        "--knowledge-refresh",
        float,
        "seconds between refreshes of the knowledge index (default 900)",
    ),
    Option(
        "knowledge_days",
        "PYLON_KNOWLEDGE_DAYS",
        "--knowledge-days",
        int,
        "days of resolved issues the knowledge index holds (default 90)",
    ),
    Option(
        "log_level",
        "PYLON_LOG_LEVEL",
        "--log-level",
        str,
        "stderr log level (default warning)",
        choices=("debug", "info", "warning", "error"),
    ),
)


@dataclass(frozen=True)
class Settings:
    api_token: Secret = field(default_factory=lambda: Secret(""))
    api_url: str | None = None
    read_only: bool = False
    timeout: float = 30.0
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    toolsets: tuple[str, ...] = ("all",)
    tools: tuple[str, ...] = ()
    exclude_tools: tuple[str, ...] = ()
    enable_delete: bool = False
    allow_customer_replies: bool = False
    body_chars: int = 4000
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_allowed_hosts: tuple[str, ...] = ()
    auth_token: Secret = field(default_factory=lambda: Secret(""))
    insecure_no_auth: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    oauth_issuer: str | None = None
    resource_url: str | None = None
    oauth_audience: str | None = None
    oauth_jwks_url: str | None = None
    oauth_introspection_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: Secret = field(default_factory=lambda: Secret(""))
    oauth_scopes: tuple[str, ...] = DEFAULT_SCOPES
    oauth_email_claim: str = "email"
    oauth_writes_need_user: bool = True
    resource_ttl: float = 30.0
    recent_days: int = 7
    redis_url: Secret = field(default_factory=lambda: Secret(""))
    rate_budget: float = 0.0
    knowledge_index: Literal["file", "memory", "off"] = "file"
    knowledge_refresh: float = 900.0
    knowledge_days: int = 90
    log_level: str = "warning"

    @classmethod
    def load(cls, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> Settings:
        """Environment first, then explicit overrides (CLI flags that were given)."""
        values: dict[str, Any] = {}
        typed: set[str] = set()  # options given as flags: their errors name the flag
        for option in OPTIONS:
            raw = environ.get(option.env)
            if raw is not None:
                values[option.name] = _parse(option, raw, option.env)
        for name, value in (overrides or {}).items():
            if value is not None:
                option = _option(name)
                values[name] = _parse(option, value, option.flag) if isinstance(value, str) else value
                typed.add(name)
        settings = cls(**values)
        settings.validate(lambda name: _option(name).flag if name in typed else _option(name).env)
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def validate(self, named: Callable[[str], str] | None = None) -> None:
        """Check the values; errors name each setting as it was given (`named`: flag or env var)."""
        name = named or (lambda option: _option(option).env)
        if self.timeout <= 0:
            raise ConfigError(f"{name('timeout')} must be a positive number of seconds")
        if not 200 <= self.body_chars <= 100_000:
            raise ConfigError(f"{name('body_chars')} must be between 200 and 100000")
        if not 1024 <= self.attachment_max_bytes <= 100 * 1024 * 1024:
            raise ConfigError(f"{name('attachment_max_bytes')} must be between 1024 and 104857600 (100 MB)")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"{name('port')} must be between 0 and 65535 (0 picks a free port)")
        if self.resource_ttl < 0:
            raise ConfigError(f"{name('resource_ttl')} must be 0 or more seconds")
        if not 1 <= self.recent_days <= 365:
            raise ConfigError(f"{name('recent_days')} must be between 1 and 365")
        if self.knowledge_refresh < 1:
            raise ConfigError(f"{name('knowledge_refresh')} must be at least 1 second")
        if not 1 <= self.knowledge_days <= 365:
            raise ConfigError(f"{name('knowledge_days')} must be between 1 and 365")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"{name('max_body_bytes')} must be at least 1024")
        if not 0 <= self.rate_budget <= 1:
            raise ConfigError(f"{name('rate_budget')} must be between 0 and 1 (a share of Pylon's limits)")
        if self.redis_url and not self.redis_url.reveal().startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"{name('redis_url')} must start with redis://, rediss:// or unix://")
        if self.api_url and not (self.api_url.startswith("https://") or _is_loopback_http(self.api_url)):
            raise ConfigError(
                f"{name('api_url')} must start with https:// (plain http:// only for a loopback address such as "
                f"http://127.0.0.1:8765, where the token never leaves the machine; got {self.api_url!r})"
            )
        self._validate_oauth()

    @property
    def oauth(self) -> bool:
        """OAuth resource-server mode: callers bring tokens from the identity provider."""
        return bool(self.oauth_issuer)

    def _validate_oauth(self) -> None:
        if (
            len(self.oauth_scopes) != 3
            or len(set(self.oauth_scopes)) != 3
            or any(" " in scope or '"' in scope for scope in self.oauth_scopes)
        ):
            raise ConfigError(
                "PYLON_MCP_OAUTH_SCOPES takes three different scope names, for read, write and reply, "
                f"e.g. {','.join(DEFAULT_SCOPES)}"
            )
        if not self.oauth:
            needs_issuer = [
                option.env for option in OPTIONS if option.name in _NEED_ISSUER and getattr(self, option.name)
            ]
            if needs_issuer:
                raise ConfigError(
                    f"{', '.join(needs_issuer)} only apply(ies) with PYLON_MCP_OAUTH_ISSUER (the identity "
                    "provider's issuer URL)"
                )
            return
        if self.auth_token:
            raise ConfigError(
                "choose one: PYLON_MCP_AUTH_TOKEN (one shared bearer token) or PYLON_MCP_OAUTH_ISSUER "
                "(each caller signs in); a resource server must not accept tokens its issuer did not make"
            )
        if not self.resource_url:
            raise ConfigError(
                "PYLON_MCP_OAUTH_ISSUER needs PYLON_MCP_RESOURCE_URL: the URL clients use for this server, "
                "e.g. https://mcp.example.com/mcp (tokens must be issued for it)"
            )
        for env, url in (
            ("PYLON_MCP_OAUTH_ISSUER", self.oauth_issuer),
            ("PYLON_MCP_RESOURCE_URL", self.resource_url),
            ("PYLON_MCP_OAUTH_JWKS_URL", self.oauth_jwks_url),
            ("PYLON_MCP_OAUTH_INTROSPECTION_URL", self.oauth_introspection_url),
        ):
            if url and not _secure_url(url):
                raise ConfigError(f"{env} must be an https:// URL (http:// only on loopback); got {url!r}")
        if self.resource_url and "#" in self.resource_url:
            raise ConfigError("PYLON_MCP_RESOURCE_URL must not contain a #fragment (RFC 8707)")
        if self.oauth_introspection_url and not (self.oauth_client_id and self.oauth_client_secret):
            raise ConfigError(
                "PYLON_MCP_OAUTH_INTROSPECTION_URL needs PYLON_MCP_OAUTH_CLIENT_ID and "
                "PYLON_MCP_OAUTH_CLIENT_SECRET (the introspection endpoint authenticates this server)"
            )
        if not self.oauth_email_claim:
            raise ConfigError("PYLON_MCP_OAUTH_EMAIL_CLAIM must name a token claim, e.g. email")
        if self.transport != "http":
            raise ConfigError("PYLON_MCP_OAUTH_ISSUER applies to HTTP mode: add --transport http")

    def require_token(self) -> None:
        """Serving real Pylon needs a token; the demo brings its own."""
        if not self.demo and not self.api_token:
            raise ConfigError(MISSING_TOKEN)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check_http_security(self) -> None:
        if (
            self.transport != "http"
            or self.is_loopback
            or self.auth_token
            or self.oauth
            or self.insecure_no_auth
        ):
            return
        raise ConfigError(
            f"refusing to serve HTTP on {self.host} without authentication: set PYLON_MCP_AUTH_TOKEN "
            "(clients then send 'Authorization: Bearer <token>'), or PYLON_MCP_OAUTH_ISSUER and "
            "PYLON_MCP_RESOURCE_URL (each person signs in), bind to 127.0.0.1, or pass "
            "--insecure-no-auth if something in front of this server authenticates callers"
        )

    def describe(self) -> dict[str, str]:
        """The effective configuration for humans, secrets redacted."""
        out: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Secret):
                shown = _redacted(value)
            elif isinstance(value, tuple):
                shown = ",".join(value) or "(none)"
            elif value is None or value == "":
                shown = "(default)"
            else:
                shown = str(value).lower() if isinstance(value, bool) else str(value)
            out[_option(item.name).env] = shown
        return out


def cache_dir() -> Path:
    """Where pylon-mcp keeps files between runs (tool schemas, the knowledge index):
    PYLON_MCP_CACHE_DIR, else $XDG_CACHE_HOME/pylon-mcp, else ~/.cache/pylon-mcp."""
    explicit = os.environ.get("PYLON_MCP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pylon-mcp"


def _secure_url(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.scheme == "https" and bool(parts.hostname)) or _is_loopback_http(url)


def _is_loopback_http(url: str) -> bool:
    if not url.startswith("http://"):
        return False
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redacted(secret: Secret) -> str:
    value = secret.reveal()
    if not value:
        return "(not set)"
    prefix = "pylon_api_eu_" if value.startswith("pylon_api_eu_") else ""
    return f"{prefix}…{value[-4:]} (redacted, {len(value)} chars)" if len(value) >= 12 else "(set, redacted)"


def _option(name: str) -> Option:
    for option in OPTIONS:
        if option.name == name:
            return option
    raise KeyError(name)


def _parse(option: Option, raw: str, given_as: str) -> Any:
    """`raw` as the option's type; an error names the setting as it was given (`given_as`)."""
    text = raw.strip()
    try:
        if option.kind is bool:
            lowered = text.lower()
            if lowered in TRUE:
                return True
            if lowered in FALSE:
                return False
            raise ValueError
        if option.kind is int:
            return int(text)
        if option.kind is float:
            return float(text)
        if option.kind == "list":
            return tuple(item.strip() for item in text.split(",") if item.strip())
        if option.kind == "secret":
            return Secret(text)
    except ValueError:
        expected = {
            bool: "a yes/no value; use true, yes, on or 1 to turn it on, false, no, off or 0 to turn it off",
            int: "a whole number",
            float: "a number",
        }.get(option.kind, "a value")
        raise ConfigError(f"{given_as} {raw!r} is not {expected}") from None
    if option.choices and text.lower() not in option.choices:
        raise ConfigError(f"{given_as} {raw!r}: use one of {', '.join(option.choices)}")
    return text.lower() if option.choices else text
