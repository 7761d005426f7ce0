"""The sandbox's directory endpoints: users, teams, accounts, contacts, issue statuses, tags, custom fields.

Shapes follow the spec's `User`, `Team`, `Account`, `Contact`, `IssueStatus`,
`Tag` and `CustomFieldDefinition`. Searches check each endpoint's operator table
(spec data shared with the client) and evaluate filters here, on their own terms:
emails compare case-insensitively, `string_contains` ignores case, other
operators compare exactly.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pylon_mcp.pylon.directory import SEARCH_FIELDS
from pylon_mcp.sandbox.account_seed import customer_field_defs
from pylon_mcp.sandbox.handlers import DEFAULT_SEARCH_LIMIT, ApiError, Call, Page
from pylon_mcp.sandbox.records import Account, Person, Team, rfc3339

Values = Callable[[Any], list[str]]
MAX_DEPTH = 3


def _user_json(user: Person) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email, "emails": [user.email], "status": "active",
            "role_id": "role_member"}  # fmt: skip


def _team_json(call: Call, team: Team) -> dict[str, Any]:
    users = call.store.directory.users
    return {"id": team.id, "name": team.name,
            "users": [{"id": uid, "email": users[uid].email} for uid in team.member_ids if uid in users]}  # fmt: skip


def _account_json(call: Call, account: Account) -> dict[str, Any]:
    out: dict[str, Any] = {"id": account.id, "name": account.name, "domain": account.domain,
                           "domains": [account.domain], "primary_domain": account.domain, "type": account.type,
                           "is_disabled": account.is_disabled, "tags": list(account.tags)}  # fmt: skip
    owner = call.store.directory.users.get(account.owner_id or "")
    if owner is not None:
        out["owner"] = {"id": owner.id, "email": owner.email}
    if account.external_ids:
        out["external_ids"] = [
            {"label": label, "external_id": value} for label, value in account.external_ids
        ]
    if account.custom_fields:
        out["custom_fields"] = _custom_values(account.custom_fields)
    if account.channels:
        out["channels"] = [{"source": source, "channel_id": channel, "is_primary": primary, "is_internal": False}
                           for source, channel, primary in account.channels]  # fmt: skip
    for key, epoch in (
        ("created_at", account.created_at),
        ("latest_customer_activity_time", account.latest_activity),
    ):
        if epoch is not None:
            out[key] = rfc3339(epoch)
    return out


def _custom_values(values: dict[str, str | list[str]]) -> dict[str, Any]:
    return {slug: {"slug": slug, "values": list(v)} if isinstance(v, list) else {"slug": slug, "value": v}
            for slug, v in values.items()}  # fmt: skip


def _contact_json(contact: Person) -> dict[str, Any]:
    out: dict[str, Any] = {"id": contact.id, "name": contact.name, "email": contact.email,
                           "emails": [contact.email], "portal_role": contact.portal_role or "member"}  # fmt: skip
    if contact.account_id:
        out["account"] = {"id": contact.account_id}
    if contact.custom_fields:
        out["custom_fields"] = _custom_values(contact.custom_fields)
    return out


# --- GET endpoints -------------------------------------------------------------------------


def list_users(call: Call) -> list[dict[str, Any]]:
    return [_user_json(user) for user in call.store.directory.users.values()]


def get_user(call: Call) -> dict[str, Any]:
    user = call.store.directory.users.get(call.params["id"])
    if user is None:
        raise ApiError(404, f"user {call.params['id']} not found")
    return _user_json(user)


def list_teams(call: Call) -> list[dict[str, Any]]:
    return [_team_json(call, team) for team in call.store.directory.teams.values()]


def get_team(call: Call) -> dict[str, Any]:
    team = call.store.directory.teams.get(call.params["id"])
    if team is None:
        raise ApiError(404, f"team {call.params['id']} not found")
    return _team_json(call, team)


def get_account(call: Call) -> dict[str, Any]:
    ref = call.params["id"]
    account = call.store.directory.accounts.get(ref) or next(  # "by ID or external ID", as the spec says
        (a for a in call.store.directory.accounts.values() if any(ref == e for _, e in a.external_ids)), None
    )
    if account is None:
        raise ApiError(404, f"account {call.params['id']} not found")
    return _account_json(call, account)


def get_contact(call: Call) -> dict[str, Any]:
    contact = call.store.directory.contacts.get(call.params["id"])
    if contact is None:
        raise ApiError(404, f"contact {call.params['id']} not found")
    return _contact_json(contact)


def list_issue_statuses(call: Call) -> list[dict[str, Any]]:
    return [
        {
            "slug": s.slug,
            "label": s.label,
            "category": s.category,
            "is_default_status": s.is_default,
            "is_archived": False,
        }
        for s in call.store.directory.statuses
    ]


def list_tags(call: Call) -> list[dict[str, Any]]:
    return [{"id": t.id, "value": t.value, "object_type": "issue", "hex_color": t.hex_color}
            for t in call.store.directory.tags]  # fmt: skip


def list_custom_fields(call: Call) -> list[dict[str, Any]]:
    object_type = call.query.get("object_type")
    if not object_type:
        raise ApiError(400, "object_type is required")
    if object_type not in ("account", "issue", "contact", "task", "project", "call_recording"):
        raise ApiError(400, f"invalid object_type {object_type!r}")
    defs = (
        call.store.directory.custom_fields.values()
        if object_type == "issue"
        else customer_field_defs(object_type)
    )
    out = []
    for d in defs:
        kind = {"select": "select", "multiselect": "multiselect", "number": "number", "date": "date"}.get(
            d.kind, "text"
        )
        item: dict[str, Any] = {"id": d.id, "slug": d.slug, "label": d.label or d.slug, "type": kind,
                                "object_type": object_type, "is_read_only": False, "source": "pylon"}  # fmt: skip
        if d.options:
            labels = d.option_labels or d.options
            item["select_metadata"] = {
                "options": [
                    {"slug": slug, "label": label} for slug, label in zip(d.options, labels, strict=True)
                ]
            }
        out.append(item)
    return out


# --- searches --------------------------------------------------------------------------------

_FIELDS: dict[str, dict[str, Values]] = {
    "users": {"email": lambda u: [u.email]},
    "accounts": {
        "id": lambda a: [a.id],
        "domains": lambda a: [a.domain],
        "tags": lambda a: list(a.tags),
        "name": lambda a: [a.name],
        "external_ids": lambda a: [value for _, value in a.external_ids],
        "owner_id": lambda a: [a.owner_id] if a.owner_id else [],
    },
    "contacts": {
        "id": lambda c: [c.id],
        "email": lambda c: [c.email],
        "account_id": lambda c: [c.account_id] if c.account_id else [],
    },
}
_CASELESS = {"email", "domains"}


def _compile(endpoint: str, raw: Any, depth: int = 1) -> Callable[[Any], bool]:
    if not isinstance(raw, dict):
        raise ApiError(400, "filter must be an object")
    if depth > MAX_DEPTH:
        raise ApiError(400, f"filter exceeds the maximum depth of {MAX_DEPTH}")
    operator = raw.get("operator")
    if operator in ("and", "or"):
        subs = raw.get("subfilters")
        if not isinstance(subs, list) or not subs:
            raise ApiError(400, f'operator "{operator}" requires subfilters')
        children = [_compile(endpoint, sub, depth + 1) for sub in subs]
        if operator == "and":
            return lambda item: all(child(item) for child in children)
        return lambda item: any(child(item) for child in children)
    field = raw.get("field")
    allowed = SEARCH_FIELDS[endpoint].get(field or "")
    if allowed is None:
        raise ApiError(400, f'field "{field}" is not filterable for {endpoint}')
    if operator not in allowed:
        raise ApiError(400, f'operator "{operator}" is not allowed for field "{field}"')
    get = _FIELDS[endpoint][field]
    fold: Callable[[str], str] = str.casefold if field in _CASELESS else (lambda v: v)
    if operator in ("is_set", "is_unset"):
        wanted = operator == "is_set"
        return lambda item: bool(get(item)) == wanted
    if operator in ("in", "not_in"):
        values = raw.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ApiError(400, f'operator "{operator}" requires values')
        options = {fold(v) for v in values}
        hit = operator == "in"
        return lambda item: any(fold(v) in options for v in get(item)) == hit
    value = raw.get("value")
    if not isinstance(value, str) or not value:
        raise ApiError(400, f'operator "{operator}" requires a value')
    if operator == "string_contains":
        needle = value.casefold()
        return lambda item: any(needle in v.casefold() for v in get(item))
    target = fold(value)
    hit = operator in ("equals", "contains")
    return lambda item: any(fold(v) == target for v in get(item)) == hit


def _search(call: Call, endpoint: str, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Page:
    body = call.body if isinstance(call.body, dict) else None
    if body is None or "filter" not in body:
        raise ApiError(400, "filter is required")
    limit = body.get("limit", DEFAULT_SEARCH_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit < 1000:
        raise ApiError(400, "limit must be greater than 0 and less than 1000")
    start = 0
    if body.get("cursor"):
        try:
            start = int(base64.urlsafe_b64decode(str(body["cursor"]).encode()).decode())
        except ValueError:
            raise ApiError(400, "invalid cursor") from None
    matches = [item for item in items if _compile(endpoint, body["filter"])(item)]
    page = matches[start : start + limit]
    end = start + len(page)
    cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(matches) else None
    return Page([render(item) for item in page], cursor)


def search_users(call: Call) -> Page:
    return _search(call, "users", list(call.store.directory.users.values()), _user_json)


def search_accounts(call: Call) -> Page:
    return _search(call, "accounts", list(call.store.directory.accounts.values()),
                   lambda a: _account_json(call, a))  # fmt: skip


def search_contacts(call: Call) -> Page:
    return _search(call, "contacts", list(call.store.directory.contacts.values()), _contact_json)


ROUTES: list[tuple[str, str, str, Callable[[Call], Any]]] = [
    ("GET", r"^/users$", "GET /users", list_users),
    ("POST", r"^/users/search$", "POST /users/search", search_users),
    ("GET", r"^/users/(?P<id>[^/]+)$", "GET /users/{id}", get_user),
    ("GET", r"^/teams$", "GET /teams", list_teams),
    ("GET", r"^/teams/(?P<id>[^/]+)$", "GET /teams/{id}", get_team),
    ("POST", r"^/accounts/search$", "POST /accounts/search", search_accounts),
    ("GET", r"^/accounts/(?P<id>[^/]+)$", "GET /accounts/{id}", get_account),
    ("POST", r"^/contacts/search$", "POST /contacts/search", search_contacts),
    ("GET", r"^/contacts/(?P<id>[^/]+)$", "GET /contacts/{id}", get_contact),
    ("GET", r"^/issue-statuses$", "GET /issue-statuses", list_issue_statuses),
    ("GET", r"^/tags$", "GET /tags", list_tags),
    ("GET", r"^/custom-fields$", "GET /custom-fields", list_custom_fields),
]

# Requests per minute, from the spec's description of each endpoint.
RATE_LIMITS: dict[str, int] = {
    "GET /users": 60, "GET /users/{id}": 60, "POST /users/search": 20, "GET /teams": 60, "GET /teams/{id}": 60,
    "GET /accounts/{id}": 60, "POST /accounts/search": 20, "GET /contacts/{id}": 60, "POST /contacts/search": 20,
    "GET /issue-statuses": 10, "GET /tags": 60, "GET /custom-fields": 60,
}  # fmt: skip
