"""One small exception hierarchy for everything that can go wrong talking to Pylon.

Every error knows whether repeating the request could help (`retryable`) and, for
writes, whether the write may already have been applied (`write_may_have_applied`),
so callers never have to guess from a message.
"""

from __future__ import annotations

EU_BASE_URL = "https://api.eu.usepylon.com"
US_BASE_URL = "https://api.usepylon.com"


class PylonError(Exception):
    """Base class. `str(err)` is safe to show: it never contains the API token."""

    retryable: bool = False
    write_may_have_applied: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(PylonError, ValueError):
    """Rejected locally before any request was sent (bad id, bad filter, bad time)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotConfigured(PylonError):
    """No API token: nothing can be sent. Said once per call, so the person sees it in the chat."""


class PylonTransportError(PylonError):
    """No usable HTTP response: connection refused or reset, timeout, malformed body."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        write_may_have_applied: bool,
        unreachable: bool = False,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.write_may_have_applied = write_may_have_applied
        # No connection at all (DNS failure, nothing listening): a setup problem more often than a blip.
        self.unreachable = unreachable
        self.reason = reason  # what happened, in words ("DNS lookup failed for host …"), when known


class PylonTimeout(PylonTransportError):
    """Pylon did not answer within the configured timeout."""


class PylonResponseError(PylonTransportError):
    """Pylon answered, but the body is not the JSON envelope the API promises."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        request_id: str | None,
        write_may_have_applied: bool,
    ) -> None:
        super().__init__(message, method=method, path=path, write_may_have_applied=write_may_have_applied)
        self.status = status
        self.request_id = request_id


class PylonAPIError(PylonError):
    """Pylon answered with an error status and (usually) its `{errors, request_id}` body."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: list[str],
        request_id: str | None,
        method: str,
        path: str,
        retryable: bool = False,
        write_may_have_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors
        self.request_id = request_id
        self.method = method
        self.path = path
        self.retryable = retryable
        self.write_may_have_applied = write_may_have_applied


class PylonBadRequest(PylonAPIError):
    """400: Pylon refused the request's content."""


class PylonAuthError(PylonAPIError):
    """401/403: missing, wrong or revoked token, or a token for another region."""

    def __init__(self, message: str, *, correct_base_url: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.correct_base_url = correct_base_url

    @property
    def wrong_region(self) -> bool:
        return self.correct_base_url is not None


class PylonNotFound(PylonAPIError):
    """404: no such issue (or endpoint)."""


class PylonRateLimited(PylonAPIError):
    """429: over Pylon's per-minute limit for this endpoint."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class PylonServerError(PylonAPIError):
    """5xx: Pylon failed. 502/503/504 are retried for safe requests."""


def error_class_for(status: int) -> type[PylonAPIError]:
    if status == 400:
        return PylonBadRequest
    if status in (401, 403):
        return PylonAuthError
    if status == 404:
        return PylonNotFound
    if status == 429:
        return PylonRateLimited
    if status >= 500:
        return PylonServerError
    return PylonAPIError
