"""PylonClient: every Issues API endpoint over one pooled httpx2.AsyncClient.

Retry rules follow idempotency, not HTTP method names:

* reads (GET, `POST /issues/search`) and idempotent writes (PATCH, snooze,
  followers) are retried on 429/502/503/504, timeouts and connection errors;
* `POST /issues` and `DELETE` are retried only when the connection was never
  established, because a repeat after Pylon may have seen the request could
  create a second issue (or report a spurious 404).

A 429 with a Retry-After also holds back later calls to the same endpoint until
then (Pylon counts limits per organisation and endpoint), so a burst does not
keep hitting a closed window. That state lives behind a `RateGate` (pylon/gate.py):
in this process by default, in Redis when replicas share it.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx2

from pylon_mcp import __version__
from pylon_mcp.hosting import metrics
from pylon_mcp.pylon.auth import BearerAuth, Secret
from pylon_mcp.pylon.customers import CustomerEndpoints
from pylon_mcp.pylon.directory import DirectoryEndpoints
from pylon_mcp.pylon.errors import (
    EU_BASE_URL,
    US_BASE_URL,
    InvalidRequest,
    NotConfigured,
    PylonAPIError,
    PylonAuthError,
    PylonError,
    PylonRateLimited,
    PylonResponseError,
    PylonTimeout,
    PylonTransportError,
    error_class_for,
)
from pylon_mcp.pylon.filters import validate_filter
from pylon_mcp.pylon.gate import LocalRateGate, RateGate
from pylon_mcp.pylon.knowledge import KnowledgeEndpoints
from pylon_mcp.pylon.messages import MessageEndpoints
from pylon_mcp.pylon.models import (
    CreateIssueRequest,
    Filter,
    Follower,
    FollowersRequest,
    Issue,
    Me,
    Pagination,
    SearchIssuesRequest,
    SearchPage,
    SnoozeIssueRequest,
    UpdateIssueRequest,
)
from pylon_mcp.pylon.network import connection_failure
from pylon_mcp.pylon.retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.pylon.transport import Envelope, Retry, issue_ref

log = logging.getLogger("pylon_mcp.pylon")

EU_TOKEN_PREFIX = "pylon_api_eu_"  # noqa: S105 - a prefix, not a secret
DEFAULT_MAX_PAGES = 50


def region_base_url(token: str) -> str:
    """The base URL a token belongs to, from its prefix."""
    return EU_BASE_URL if token.startswith(EU_TOKEN_PREFIX) else US_BASE_URL


def resolve_base_url(token: str, override: str | None) -> str:
    """`PYLON_API_URL` wins; otherwise the region the token prefix implies."""
    return (override or region_base_url(token)).rstrip("/")


Sleep = Callable[[float], Awaitable[None]]


class PylonClient(DirectoryEndpoints, MessageEndpoints, CustomerEndpoints, KnowledgeEndpoints):
    """Async client for Pylon's Issues API. Use as `async with PylonClient(...) as pylon:`."""

    def __init__(
        self,
        token: str | Secret,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        max_connections: int = 20,
        clock: Callable[[], float] = time.monotonic,
        gate: RateGate | None = None,
    ) -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.base_url = resolve_base_url(self._token.reveal(), base_url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep: Sleep = sleep or anyio.sleep
        self._rng = rng or random.Random()
        # 429 cooldowns and budget, per endpoint; `clock` lets tests move time instead of waiting.
        self.gate: RateGate = gate or LocalRateGate(clock=clock)
        self._transport = transport
        self._max_connections = max_connections
        self._pool: httpx2.AsyncClient | None = None

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The one pooled connection client, made on first use.

        Building it loads TLS certificates (about 60 ms), which a desktop client would
        otherwise wait for at every start-up before the first tools/list.
        """
        if self._pool is None:
            limit = self._max_connections
            self._pool = httpx2.AsyncClient(
                base_url=self.base_url,
                auth=BearerAuth(self._token),
                headers={"User-Agent": f"pylon-mcp/{__version__}", "Accept": "application/json"},
                timeout=httpx2.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                limits=httpx2.Limits(max_connections=limit, max_keepalive_connections=limit),
                transport=self._transport,
                trust_env=True,
            )
        return self._pool

    def __repr__(self) -> str:
        return f"PylonClient(base_url={self.base_url!r}, token=[REDACTED])"

    async def __aenter__(self) -> PylonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    # --- endpoints ------------------------------------------------------------

    async def me(self) -> Me:
        """`GET /me`: the organisation the token belongs to. Cheap way to check a token."""
        env = await self._request("GET", "/me", retry=Retry.SAFE)
        return Me.model_validate(env.data or {})

    async def get_issue(self, issue_id: str | int) -> Issue:
        env = await self._request("GET", f"/issues/{issue_ref(issue_id)}", retry=Retry.SAFE)
        return Issue.model_validate(env.data or {})

    async def create_issue(self, body: CreateIssueRequest) -> Issue:
        env = await self._request("POST", "/issues", json=body.to_body(), retry=Retry.UNSENT_ONLY)
        return Issue.model_validate(env.data or {})

    async def update_issue(self, issue_id: str | int, body: UpdateIssueRequest) -> Issue:
        payload = body.to_body()
        if not payload:
            raise InvalidRequest("nothing to update: give at least one field", field="update")
        env = await self._request("PATCH", f"/issues/{issue_ref(issue_id)}", json=payload, retry=Retry.SAFE)
        return Issue.model_validate(env.data or {})

    async def delete_issue(self, issue_id: str | int) -> str | None:
        """Permanently delete. Returns Pylon's request_id."""
        env = await self._request("DELETE", f"/issues/{issue_ref(issue_id)}", retry=Retry.UNSENT_ONLY)
        return env.request_id

    async def snooze_issue(self, issue_id: str | int, snooze_until: datetime | str) -> Issue:
        until = snooze_until if isinstance(snooze_until, str) else format_rfc3339(snooze_until)
        body = SnoozeIssueRequest(snooze_until=until)
        env = await self._request(
            "POST", f"/issues/{issue_ref(issue_id)}/snooze", json=body.to_body(), retry=Retry.SAFE
        )
        return Issue.model_validate(env.data or {})

    async def get_followers(self, issue_id: str | int) -> list[Follower]:
        env = await self._request("GET", f"/issues/{issue_ref(issue_id)}/followers", retry=Retry.SAFE)
        return [Follower.model_validate(item) for item in env.data or []]

    async def update_followers(self, issue_id: str | int, body: FollowersRequest) -> list[Follower]:
        if not body.user_ids and not body.contact_ids:
            raise InvalidRequest("give user_ids and/or contact_ids", field="user_ids")
        env = await self._request(
            "POST", f"/issues/{issue_ref(issue_id)}/followers", json=body.to_body(), retry=Retry.SAFE
        )
        return [Follower.model_validate(item) for item in env.data or []]

    async def search_issues(
        self,
        filter: Filter | Mapping[str, Any],
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of `POST /issues/search`. The filter is validated before sending."""
        checked = validate_filter(filter)
        body = SearchIssuesRequest(filter=checked, limit=limit, cursor=cursor or None)
        env = await self._request("POST", "/issues/search", json=body.to_body(), retry=Retry.SAFE)
        pagination = env.pagination or Pagination()
        return SearchPage(
            issues=[Issue.model_validate(item) for item in env.data or []],
            cursor=pagination.cursor or None,
            has_next_page=bool(pagination.has_next_page and pagination.cursor),
            request_id=env.request_id,
        )

    async def iter_search_pages(
        self,
        filter: Filter | Mapping[str, Any],
        *,
        limit: int | None = None,
        cursor: str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncIterator[SearchPage]:
        """Pages of a search, following cursors, stopping after `max_pages`.

        The last page yielded carries the cursor to resume from when the cap cut it short.
        """
        checked = validate_filter(filter)
        for _ in range(max_pages):
            page = await self.search_issues(checked, limit=limit, cursor=cursor)
            yield page
            if not page.has_next_page:
                return
            cursor = page.cursor

    # --- transport ------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        retry: Retry,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Envelope:
        if not self._token:
            raise NotConfigured("no Pylon API token is configured, so nothing was sent to Pylon")
        route = _route(method, path)
        attempt = 0
        while True:
            attempt += 1
            if attempt == 1:  # a retry has already waited out its own 429
                await self._respect_cooldown(route)
            outcome, reached = await self._attempt(method, path, json=json, params=params)
            if isinstance(outcome, Envelope):
                return outcome
            if isinstance(outcome, PylonRateLimited) and outcome.retry_after:
                # Pylon's limits are per endpoint for the whole organisation: hold back every
                # caller of this endpoint, not just this one, until the window reopens.
                await self.gate.cool_down(route, outcome.retry_after)
            delay = self._retry_delay(outcome, attempt, retry, reached)
            if delay is None:
                raise outcome
            log.info("retrying %s %s in %.2fs after: %s", method, path, delay, outcome)
            await self._sleep(delay)

    async def _respect_cooldown(self, route: str) -> None:
        """Wait for this endpoint's next send slot, or refuse at once if the wait is longer than we allow."""
        granted, wait = await self.gate.reserve(route, self.retry.max_retry_after)
        if not granted:
            metrics.refused(route)
            raise PylonRateLimited(
                f"Pylon rate limit: {route} is at its per-minute limit (a recent HTTP 429, or the shared "
                f"budget), so this request was not sent; the next request to it goes out in "
                f"{math.ceil(wait)}s (at {_wall_clock(wait)})",
                retry_after=math.ceil(wait),
                status=429,
                errors=["rate limited (not sent)"],
                request_id=None,
                method=route.split(" ")[0],
                path=route.split(" ", 1)[1],
                retryable=True,
            )
        if wait > 0:
            await self._sleep(wait)

    async def _attempt(
        self, method: str, path: str, *, json: Any, params: Mapping[str, str] | None
    ) -> tuple[Envelope | PylonError, bool]:
        """One HTTP exchange. Returns the envelope, or the error and whether Pylon may have seen it."""
        is_write = method not in ("GET", "HEAD") and not path.endswith("/search")  # searches change nothing
        started = time.perf_counter()
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx2.TimeoutException as exc:
            reached = not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout)
            self._log(method, path, None, started, None)
            return PylonTimeout(
                f"Pylon did not answer {method} {path} within {self.timeout:g}s"
                + self._applied_note(is_write and reached),
                method=method,
                path=path,
                write_may_have_applied=is_write and reached,
            ), reached
        except httpx2.TransportError as exc:
            reached = not isinstance(exc, httpx2.ConnectError)
            self._log(method, path, None, started, None)
            named = connection_failure(
                exc, self.base_url
            )  # "DNS lookup failed for host …", not "ConnectError"
            reason = self._token.redact(named or type(exc).__name__ + (f": {exc}" if str(exc) else ""))
            where = "talking to Pylon" if reached else f"connecting to {self.base_url}"
            return PylonTransportError(
                f"network error {where} ({method} {path}): {reason}"
                + self._applied_note(is_write and reached),
                method=method,
                path=path,
                write_may_have_applied=is_write and reached,
                unreachable=not reached,
                reason=named,
            ), reached
        body, decode_error = _decode(response)
        request_id = self._upstream(_request_id(body, response))
        self._log(method, path, response.status_code, started, request_id)
        if response.is_success:
            if decode_error is not None or not isinstance(body, dict):
                return PylonResponseError(
                    f"Pylon answered {method} {path} with HTTP {response.status_code} but an unreadable body "
                    f"({decode_error or 'not a JSON object'}; request_id {request_id or 'unknown'})"
                    + self._applied_note(is_write),
                    method=method,
                    path=path,
                    status=response.status_code,
                    request_id=request_id,
                    write_may_have_applied=is_write,
                ), True
            pagination = body.get("pagination")
            return Envelope(
                data=body.get("data"),
                request_id=request_id,
                pagination=Pagination.model_validate(pagination) if isinstance(pagination, dict) else None,
                status=response.status_code,
            ), True
        return self._api_error(method, path, response, body, request_id, is_write), True

    def _api_error(
        self,
        method: str,
        path: str,
        response: httpx2.Response,
        body: Any,
        request_id: str | None,
        is_write: bool,
    ) -> PylonAPIError:
        status = response.status_code
        errors = _error_texts(body)
        if not errors and body is None:
            errors = ["(response body was not JSON)"]
        errors = [self._upstream(text, 500) or "" for text in errors]
        detail = "; ".join(errors) or self._upstream(response.reason_phrase) or "no details"
        where = f"HTTP {status} for {method} {path} (request_id {request_id or 'unknown'})"
        cls = error_class_for(status)
        kwargs: dict[str, Any] = {
            "status": status,
            "errors": errors,
            "request_id": request_id,
            "method": method,
            "path": path,
            "retryable": status in RETRYABLE_STATUSES,
            # 5xx may have committed; 4xx (including 429) means Pylon did not do the work.
            "write_may_have_applied": is_write and status >= 500,
        }
        if cls is PylonRateLimited:
            retry_after = parse_retry_after(response.headers)
            wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            if retry_after is not None and retry_after > self.retry.max_cooldown:
                # A day-long Retry-After must not block this endpoint for a day: probe again sooner.
                asked, retry_after = retry_after, self.retry.max_cooldown
                wait = (
                    f"; Pylon asked to wait {asked:g}s, but this server tries again in {retry_after:g}s "
                    f"(at {_wall_clock(retry_after)})"
                )
            return PylonRateLimited(f"Pylon rate limit: {where}{wait}", retry_after=retry_after, **kwargs)
        if cls is PylonAuthError:
            correct = None
            if any("wrong_region_token" in text for text in errors):
                correct = region_base_url(self._token.reveal())
                if correct == self.base_url:  # the token's own region refused it: say so plainly
                    correct = EU_BASE_URL if correct == US_BASE_URL else US_BASE_URL
                detail = (
                    f"wrong_region_token: this token belongs to {correct}, but requests went to "
                    f"{self.base_url}. Set PYLON_API_URL={correct} (or unset it: the region follows "
                    f"the token prefix, '{EU_TOKEN_PREFIX}' means EU)"
                )
            return PylonAuthError(f"{where}: {detail}", correct_base_url=correct, **kwargs)
        note = self._applied_note(kwargs["write_may_have_applied"])
        return cls(f"{where}: {detail}{note}", **kwargs)

    def _retry_delay(self, error: PylonError, attempt: int, retry: Retry, reached: bool) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise `error`."""
        if not error.retryable or attempt >= self.retry.max_attempts:
            return None
        if retry is Retry.UNSENT_ONLY and reached:
            return None
        if isinstance(error, PylonRateLimited) and error.retry_after is not None:
            if error.retry_after > self.retry.max_retry_after:
                return None  # the message already carries the wait
            return error.retry_after + self._rng.uniform(0, 0.1)
        if isinstance(error, PylonAPIError) and error.status not in RETRYABLE_STATUSES:
            return None
        return self.retry.backoff(attempt, self._rng)

    def _upstream(self, text: str | None, limit: int = 200) -> str | None:
        """Any string Pylon or a proxy sent (request_id, errors, reason): it may echo our token."""
        return self._token.redact(text)[:limit] if text else text

    @staticmethod
    def _applied_note(may_have_applied: bool) -> str:
        if not may_have_applied:
            return ""
        return ". The write may have been applied in Pylon: check before repeating it"

    @staticmethod
    def _log(method: str, path: str, status: int | None, started: float, request_id: str | None) -> None:
        metrics.upstream(_route(method, path), status, time.perf_counter() - started)
        if log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "%s %s %s %.0fms request_id=%s", method, path, status or "ERR", elapsed, request_id or "-"
            )


def _wall_clock(seconds_from_now: float) -> str:
    return format_rfc3339(utcnow().replace(microsecond=0) + timedelta(seconds=round(seconds_from_now)))


_NESTED_IDS = {"articles": "{article_id}", "collections": "{collection_id}"}


def _route(method: str, path: str) -> str:
    """The endpoint a request belongs to, as Pylon counts rate limits: `GET /issues/{id}`, `GET /users/{id}`."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) >= 3 and parts[2] != "search":
        parts[2] = "{id}"
    if len(parts) >= 5 and parts[3] in _NESTED_IDS:  # /knowledge-bases/{id}/articles/{article_id}
        parts[4] = _NESTED_IDS[parts[3]]
    return f"{method} {'/'.join(parts)}"


def _decode(response: httpx2.Response) -> tuple[Any, str | None]:
    try:
        return response.json(), None
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "truncated JSON" if response.content[:1] in (b"{", b"[") else "not JSON"
        return None, f"{kind}: {type(exc).__name__}"


def _request_id(body: Any, response: httpx2.Response) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        return body["request_id"]
    return response.headers.get("x-request-id")


def _error_texts(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors")
    if isinstance(errors, list):
        return [item if isinstance(item, str) else str(item) for item in errors]
    if isinstance(errors, str):
        return [errors]
    return []
