"""Pylon's directory endpoints: users, teams, accounts, contacts, issue statuses, tags, custom fields.

Models follow the spec's `User`, `Team`, `Account`, `Contact`, `IssueStatus`,
`Tag` and `CustomFieldDefinition` schemas (responses tolerate extra fields).
`DirectoryEndpoints` is mixed into `PylonClient`, so these share its transport
(retries, cooldown, redaction) without knowing its rules. Every endpoint here is
a read: repeating it is always safe. Search filters are checked against each
endpoint's own operator table (the spec's description of each search) before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, Field

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import CustomFieldValue, ExternalID, Filter, MiniAccount, MiniUser, _Response
from pylon_mcp.pylon.transport import Envelope, Retry

T = TypeVar("T", bound=BaseModel)

# --- models (from the spec's component schemas) ------------------------------------------


class User(_Response):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    emails: list[str] | None = None
    avatar_url: str | None = None
    role_id: str | None = None
    status: str | None = None


class Team(_Response):
    id: str | None = None
    name: str | None = None
    users: list[MiniUser] | None = None


class MirrorChannel(_Response):
    channel_id: str | None = None
    source: str | None = None


class Channel(_Response):
    channel_id: str | None = None
    source: str | None = None
    is_primary: bool | None = None
    is_internal: bool | None = None
    mirror_to: MirrorChannel | None = None


class IntegrationUserID(_Response):
    id: str | None = None
    source: str | None = None


class Account(_Response):
    id: str | None = None
    name: str | None = None
    domain: str | None = None
    domains: list[str] | None = None
    primary_domain: str | None = None
    owner: MiniUser | None = None
    tags: list[str] | None = None
    type: str | None = None
    is_disabled: bool | None = None
    external_ids: list[ExternalID] | None = None
    custom_fields: dict[str, CustomFieldValue] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    latest_customer_activity_time: str | None = None
    channels: list[Channel] | None = None


class Contact(_Response):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    emails: list[str] | None = None
    account: MiniAccount | None = None
    avatar_url: str | None = None
    phone_numbers: list[str] | None = None
    primary_phone_number: str | None = None
    portal_role: str | None = None
    portal_role_id: str | None = None
    integration_user_ids: list[IntegrationUserID] | None = None
    external_ids: list[ExternalID] | None = None
    custom_fields: dict[str, CustomFieldValue] | None = None


class IssueStatus(_Response):
    slug: str | None = None
    label: str | None = None
    category: str | None = None
    is_default_status: bool | None = None
    is_archived: bool | None = None


class Tag(_Response):
    id: str | None = None
    value: str | None = None
    object_type: str | None = None
    hex_color: str | None = None


class SelectOption(_Response):
    slug: str | None = None
    label: str | None = None


class SelectMetadata(_Response):
    options: list[SelectOption] | None = None


class CustomFieldDefinition(_Response):
    id: str | None = None
    slug: str | None = None
    label: str | None = None
    type: str | None = None
    object_type: str | None = None
    description: str | None = None
    is_read_only: bool | None = None
    select_metadata: SelectMetadata | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    cursor: str | None = None
    has_next_page: bool = False


class _SearchBody(BaseModel):
    filter: Filter
    limit: int | None = Field(default=None, ge=1, le=999)
    cursor: str | None = None


# --- search filter tables (each endpoint's description in the spec) ------------------------

_ID = ("equals", "in", "not_in")
_ID_SETTABLE = ("equals", "in", "not_in", "is_set", "is_unset")
_LIST = ("contains", "does_not_contain", "in", "not_in")
SEARCH_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"email": _ID},
    "accounts": {
        "id": _ID,
        "domains": _LIST,
        "tags": _LIST,
        "name": ("equals", "in", "not_in", "string_contains"),
        "external_ids": _ID_SETTABLE,
        "owner_id": _ID_SETTABLE,
    },
    "contacts": {
        "id": _ID,
        "email": ("equals", "in", "not_in", "string_contains"),
        "account_id": _ID,
    },
}
# Accounts and contacts also filter on custom-field slugs (no operator set given in the spec).
_CUSTOM_SLUG_OK = {"accounts", "contacts"}
_VALUES_OPS = frozenset({"in", "not_in"})
_NO_OPERAND = frozenset({"is_set", "is_unset"})
MAX_DEPTH = 3


def validate_search_filter(endpoint: str, raw: Filter | Mapping[str, Any], *, path: str = "filter",
                           _depth: int = 1) -> Filter:  # fmt: skip
    """Check a `/{endpoint}/search` filter against that endpoint's operator table."""
    data = raw.model_dump(exclude_none=True) if isinstance(raw, Filter) else dict(raw)
    table = SEARCH_FIELDS[endpoint]
    if _depth > MAX_DEPTH:
        raise InvalidRequest(f"{path}: filters nest at most {MAX_DEPTH} levels deep", field=path)
    operator = data.get("operator")
    if operator in ("and", "or"):
        subs = data.get("subfilters")
        if not isinstance(subs, list) or not subs:
            raise InvalidRequest(f"{path}.subfilters: '{operator}' needs subfilters", field=path)
        children = [
            validate_search_filter(endpoint, sub, path=f"{path}.subfilters[{i}]", _depth=_depth + 1)
            for i, sub in enumerate(subs)
        ]
        return Filter(operator=operator, subfilters=children)
    field = data.get("field")
    if not isinstance(field, str) or not field:
        raise InvalidRequest(
            f"{path}.field: required. {endpoint} filter fields: {', '.join(table)}", field=path
        )
    allowed = table.get(field)
    if allowed is None:
        if endpoint not in _CUSTOM_SLUG_OK:
            raise InvalidRequest(
                f"{path}.field: {field!r} is not filterable on {endpoint}. Fields: {', '.join(table)}",
                field=path,
            )
        allowed = ("equals", "in", "not_in", "is_set", "is_unset", "string_contains")
    if operator not in allowed:
        raise InvalidRequest(
            f"{path}.operator: {operator!r} is not allowed for {endpoint}.{field}. Allowed: {', '.join(allowed)}",
            field=path,
        )
    value, values = data.get("value"), data.get("values")
    if operator in _NO_OPERAND:
        return Filter(field=field, operator=operator)
    if operator in _VALUES_OPS:
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidRequest(f"{path}.values: '{operator}' needs a non-empty list of strings", field=path)
        return Filter(field=field, operator=operator, values=list(values))
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{path}.value: '{operator}' needs a non-empty string value", field=path)
    return Filter(field=field, operator=operator, value=value)


# --- endpoints ----------------------------------------------------------------------------


def _safe() -> Retry:
    return Retry.SAFE


def _path_id(value: str) -> str:
    ref = str(value).strip()
    if not ref or len(ref) > 200 or "/" in ref:
        raise InvalidRequest(f"{ref[:80]!r} is not an ID", field="id")
    return quote(ref, safe="")


class DirectoryEndpoints:
    """The directory endpoints, mixed into `PylonClient` (which supplies `_request`)."""

    if TYPE_CHECKING:

        async def _request(self, method: str, path: str, *, retry: Any, json: Any = None,
                           params: Mapping[str, str] | None = None) -> Envelope: ...  # fmt: skip

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Envelope:
        return await self._request("GET", path, retry=_safe(), params=params)

    async def _list(self, model: type[T], path: str, params: Mapping[str, str] | None = None) -> list[T]:
        env = await self._get(path, params)
        return [model.model_validate(item) for item in env.data or []]

    async def _search(self, endpoint: str, model: type[T], filter: Filter | Mapping[str, Any], *,
                      limit: int | None, cursor: str | None) -> Page[T]:  # fmt: skip
        checked = validate_search_filter(endpoint, filter)
        body = _SearchBody(filter=checked, limit=limit, cursor=cursor or None)
        env = await self._request(
            "POST", f"/{endpoint}/search", retry=_safe(), json=body.model_dump(mode="json", exclude_none=True)
        )
        pagination = env.pagination
        return Page[model](  # type: ignore[valid-type]
            items=[model.model_validate(item) for item in env.data or []],
            cursor=(pagination.cursor or None) if pagination else None,
            has_next_page=bool(pagination and pagination.has_next_page and pagination.cursor),
        )

    async def list_users(self) -> list[User]:
        return await self._list(User, "/users")

    async def get_user(self, user_id: str) -> User:
        return User.model_validate((await self._get(f"/users/{_path_id(user_id)}")).data or {})

    async def search_users(self, filter: Filter | Mapping[str, Any], *, limit: int | None = None,
                           cursor: str | None = None) -> Page[User]:  # fmt: skip
        return await self._search("users", User, filter, limit=limit, cursor=cursor)

    async def list_teams(self) -> list[Team]:
        return await self._list(Team, "/teams")

    async def get_team(self, team_id: str) -> Team:
        return Team.model_validate((await self._get(f"/teams/{_path_id(team_id)}")).data or {})

    async def get_account(self, account_id: str) -> Account:
        return Account.model_validate((await self._get(f"/accounts/{_path_id(account_id)}")).data or {})

    async def search_accounts(self, filter: Filter | Mapping[str, Any], *, limit: int | None = None,
                              cursor: str | None = None) -> Page[Account]:  # fmt: skip
        return await self._search("accounts", Account, filter, limit=limit, cursor=cursor)

    async def get_contact(self, contact_id: str) -> Contact:
        # The spec lists a required `limit` query parameter here (copied from a list endpoint).
        env = await self._get(f"/contacts/{_path_id(contact_id)}", {"limit": "1"})
        return Contact.model_validate(env.data or {})

    async def search_contacts(self, filter: Filter | Mapping[str, Any], *, limit: int | None = None,
                              cursor: str | None = None) -> Page[Contact]:  # fmt: skip
        return await self._search("contacts", Contact, filter, limit=limit, cursor=cursor)

    async def list_issue_statuses(self) -> list[IssueStatus]:
        return await self._list(IssueStatus, "/issue-statuses")

    async def list_tags(self) -> list[Tag]:
        return await self._list(Tag, "/tags")

    async def list_custom_fields(self, object_type: str = "issue") -> list[CustomFieldDefinition]:
        return await self._list(CustomFieldDefinition, "/custom-fields", {"object_type": object_type})
