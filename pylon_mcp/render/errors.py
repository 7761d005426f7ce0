"""Pylon failures as text a model can act on: what happened, the HTTP status, request_id, what to do.

Shared by tools and resources (both show Pylon failures), so it lives below both.
"""

from __future__ import annotations

from pylon_mcp.pylon.errors import (
    InvalidRequest,
    NotConfigured,
    PylonAPIError,
    PylonAuthError,
    PylonBadRequest,
    PylonError,
    PylonNotFound,
    PylonRateLimited,
    PylonTransportError,
)
from pylon_mcp.pylon.models import BASE_STATES

STATES_TEXT = ", ".join(BASE_STATES) + ", or a custom status (slug or label)"


SETUP_HINT = (
    "pylon-mcp has no Pylon API token. Tell the user: put PYLON_API_TOKEN in the env block of this "
    "server's entry in the MCP client's config (for Claude Desktop: the extension settings or "
    "claude_desktop_config.json), then restart the client."
)


def describe(error: PylonError) -> str:
    if isinstance(error, NotConfigured):
        return SETUP_HINT
    if isinstance(error, InvalidRequest):
        return f"invalid argument {str(error).rstrip('.')}. Nothing was sent to Pylon."
    if isinstance(error, PylonNotFound):
        hint = "Check the issue ID or number (search_issues finds issues by title, state or requester)."
    elif isinstance(error, PylonAuthError):
        hint = (
            "The server's Pylon token was refused. This needs the user, not a retry: check PYLON_API_TOKEN "
            "and its region (EU tokens start with pylon_api_eu_ and use https://api.eu.usepylon.com)."
        )
    elif isinstance(error, PylonRateLimited):
        wait = f"{error.retry_after:g} s" if error.retry_after is not None else "about a minute"
        hint = f"Pylon's per-minute limit for this endpoint is used up. Retry after {wait}."
    elif isinstance(error, PylonBadRequest):
        hint = "Pylon refused a value in this request; correct it and try again."
        if any("state" in text for text in error.errors):
            hint += f" States: {STATES_TEXT}."
    elif isinstance(error, PylonAPIError) and error.status >= 500:
        hint = "Pylon failed." + (
            " Retrying later may work." if error.retryable and not error.write_may_have_applied else ""
        )
    elif isinstance(error, PylonTransportError) and error.unreachable:
        hint = (
            "No connection could be made, so retrying will not help: this needs the user to check "
            "PYLON_API_URL (or unset it), DNS and the network."
        )
    elif isinstance(error, PylonTransportError):
        hint = "Pylon did not answer in time or answered garbage." + (
            "" if error.write_may_have_applied else " Retrying later may work."
        )
    else:
        hint = ""
    return f"{error} — {hint}".strip(" —") if hint else str(error)
