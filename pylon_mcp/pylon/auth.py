"""The API token: kept out of reprs, logs, exception text and client default headers."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable

import httpx2

from pylon_mcp.pylon.redaction import ShortTokenRedactor, TokenRedactor, redactor


class Secret:
    """A string that refuses to show itself. Call `reveal()` at the one place it is needed."""

    __slots__ = ("_redactor", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._redactor: TokenRedactor | ShortTokenRedactor | None = None

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Remove the secret from text that came from elsewhere (e.g. an upstream error body): also
        altered copies (any case, any run of 12+ of its characters, base64, URL-encoded)."""
        if not self._value or not text:
            return text
        if self._redactor is None:
            self._redactor = redactor(self._value)  # built once per secret, on first use
        return self._redactor.redact(text)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('[REDACTED]')" if self._value else "Secret('')"

    __str__ = __repr__

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("Secret is not picklable")


class BearerAuth(httpx2.Auth):
    """Adds the Authorization header per request, so the token is never in `client.headers`."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth([REDACTED])"


class RedactingFilter(logging.Filter):
    """Cuts secrets out of every record a handler emits, whichever library logged it.

    Libraries log what upstream sent (httpcore's debug trace prints response headers), and
    Pylon or a proxy may echo the Authorization header back.
    """

    def __init__(self, secrets: Iterable[Secret]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = secret.redact(redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
