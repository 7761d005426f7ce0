"""Account and contact cards as resources: `pylon://accounts/{account}` and `pylon://contacts/{contact}`.

The same cards as get_account and get_contact (pylon_mcp/customers.py), for clients that
attach context by resource. `{account}` takes what the tool takes (ID, external ID, name or
domain) and `{contact}` an ID or email, percent-encoded where a URI needs it ("Acme%20Rockets").
An ambiguous or unknown one is "not found" with the candidates, and nothing else is fetched.
The cards and their rendering are imported on the first read: start-up only registers the templates.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from pylon_mcp.directory import NotResolved
from pylon_mcp.pylon.errors import InvalidRequest, PylonError
from pylon_mcp.render.errors import describe
from pylon_mcp.render.text import line_breaking_character
from pylon_mcp.state import AppState

ACCOUNT_TEMPLATE = "pylon://accounts/{account}"
CONTACT_TEMPLATE = "pylon://contacts/{contact}"


def _value(uri: str, raw: str) -> str:
    value = unquote(raw).strip()
    if not value or len(value) > 320 or line_breaking_character(value) is not None:
        raise ResourceNotFoundError(f"Resource not found: {uri} (give an ID, a name, a domain or an email)")
    return value


async def _card(uri: str, value: str, ctx: Context, kind: str) -> str:
    """The account or contact card at `uri`, with a missing one as not found (the reason named)."""
    from pylon_mcp.customers import CustomerNotFound, account_card, contact_card, not_resolved_text
    from pylon_mcp.render.customers import account_text, contact_text

    fetch, text = (account_card, account_text) if kind == "account" else (contact_card, contact_text)
    state: AppState = ctx.request_context.lifespan_context
    try:
        return text(await fetch(state, _value(uri, value)))  # type: ignore[arg-type]
    except (NotResolved, CustomerNotFound, InvalidRequest) as exc:
        raise ResourceNotFoundError(f"Resource not found: {uri} ({not_resolved_text(exc)})") from exc
    except PylonError as exc:
        raise ResourceError(describe(exc)) from exc


def register_customer_resources(server: MCPServer[Any]) -> None:
    @server.resource(ACCOUNT_TEMPLATE, name="account", title="Account card", mime_type="text/markdown",
                     description="An account by ID, external ID, name or domain: owner, type, custom fields, "
                     "tags, channels, activity and open issues, like get_account.")  # fmt: skip
    async def account(account: str, ctx: Context) -> str:
        return await _card(ACCOUNT_TEMPLATE.format(account=account), account, ctx, "account")

    @server.resource(CONTACT_TEMPLATE, name="contact", title="Contact card", mime_type="text/markdown",
                     description="A contact by ID or email: account, portal role, custom fields and recent "
                     "issues, like get_contact.")  # fmt: skip
    async def contact(contact: str, ctx: Context) -> str:
        return await _card(CONTACT_TEMPLATE.format(contact=contact), contact, ctx, "contact")
