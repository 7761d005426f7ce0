"""One function per Pylon endpoint: check the request as the spec states, then act on the store.

Each returns the response `data` (or a `Page`, or `NO_DATA`) and raises
`ApiError` for a 4xx. Field checks follow the spec's wording: required fields,
RFC3339 times, the 30-day window, `limit` 1-999, states, priorities, and IDs
that must exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pylon_mcp.sandbox.records import IssueRecord
from pylon_mcp.sandbox.search import FilterRejected, compile_filter
from pylon_mcp.sandbox.seed import PRIORITIES
from pylon_mcp.sandbox.store import NotFound, Store
from pylon_mcp.sandbox.timeparse import parse_time

MAX_WINDOW_SECONDS = 30 * 86400
DEFAULT_SEARCH_LIMIT = 100
NO_DATA = object()


class ApiError(Exception):
    """A 4xx answer: becomes `{errors: [message], request_id}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.errors = [message]


@dataclass(frozen=True)
class Call:
    """What a handler gets: the store and the parsed request."""

    store: Store
    params: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class Page:
    items: list[dict[str, Any]]
    cursor: str | None


def _api_error(status: int, message: str) -> ApiError:
    return ApiError(status, message)


def _body(call: Call) -> dict[str, Any]:
    if call.body is None:
        return {}
    if not isinstance(call.body, dict):
        raise _api_error(400, "request body must be a JSON object")
    return call.body


def _string(
    body: dict[str, Any], key: str, *, required: bool = False, allow_empty: bool = True
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _api_error(400, f"{key} is required")
        return None
    if not isinstance(value, str):
        raise _api_error(400, f"{key} must be a string")
    if not allow_empty and not value.strip():
        raise _api_error(400, f"{key} must not be empty")
    return value


def _string_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _api_error(400, f"{key} must be an array of strings")
    return value


def _time(value: str, key: str) -> float:
    try:
        return parse_time(value)
    except ValueError:
        raise _api_error(400, f"{key} must be an RFC3339 time, got {value!r}") from None


def _issue(call: Call, *, allow_number: bool = True) -> IssueRecord:
    ref = call.params["id"]
    try:
        return call.store.find(ref, allow_number=allow_number)
    except NotFound:
        raise _api_error(404, f"issue {ref} not found") from None


def _check_user(call: Call, user_id: str, key: str) -> None:
    if user_id not in call.store.directory.users:
        raise _api_error(400, f"{key}: user {user_id} not found")


def _check_team(call: Call, team_id: str, key: str = "team_id") -> None:
    if team_id not in call.store.directory.teams:
        raise _api_error(400, f"{key}: team {team_id} not found")


def _check_account(call: Call, account_id: str) -> None:
    if account_id not in call.store.directory.accounts:
        raise _api_error(400, f"account_id: account {account_id} not found")


def _check_contact(call: Call, contact_id: str, key: str) -> None:
    if contact_id not in call.store.directory.contacts:
        raise _api_error(400, f"{key}: contact {contact_id} not found")


def _custom_fields(call: Call, body: dict[str, Any]) -> dict[str, str | list[str]]:
    raw = body.get("custom_fields")
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise _api_error(400, "custom_fields must be an array")
    defs = call.store.directory.custom_fields
    out: dict[str, str | list[str]] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("slug"), str):
            raise _api_error(400, "each custom field needs a slug")
        definition = defs.get(item["slug"])
        if definition is None:
            raise _api_error(400, f"custom field {item['slug']!r} does not exist")
        values = item.get("values") if definition.kind == "multiselect" else item.get("value")
        if values is None:
            out[definition.slug] = []  # unset
            continue
        chosen = values if isinstance(values, list) else [values]
        if not all(isinstance(v, str) for v in chosen):
            raise _api_error(400, f"custom field {definition.slug!r}: values must be strings")
        if definition.options and any(v not in definition.options for v in chosen):
            raise _api_error(
                400, f"custom field {definition.slug!r}: allowed values are {', '.join(definition.options)}"
            )
        if definition.kind == "number":
            try:
                float(chosen[0])
            except ValueError:
                raise _api_error(400, f"custom field {definition.slug!r} must be a number") from None
        out[definition.slug] = list(chosen) if definition.kind == "multiselect" else chosen[0]
    return out


def _apply_custom_fields(record: IssueRecord, changes: dict[str, str | list[str]]) -> None:
    for slug, value in changes.items():
        if value == []:
            record.custom_fields.pop(slug, None)
        else:
            record.custom_fields[slug] = value


# --- endpoints ------------------------------------------------------------------


def get_me(call: Call) -> dict[str, Any]:
    directory = call.store.directory
    return {"id": directory.org_id, "name": directory.org_name}


def list_issues(call: Call) -> list[dict[str, Any]]:
    start_raw, end_raw = call.query.get("start_time"), call.query.get("end_time")
    if not start_raw or not end_raw:
        raise _api_error(400, "start_time and end_time are required")
    start, end = _time(start_raw, "start_time"), _time(end_raw, "end_time")
    if end < start:
        raise _api_error(400, "end_time must be after start_time")
    if end - start > MAX_WINDOW_SECONDS:
        raise _api_error(
            400, "the duration between start_time and end_time must be less than or equal to 30 days"
        )
    return [call.store.to_json(record) for record in call.store.created_between(start, end)]


def get_issue(call: Call) -> dict[str, Any]:
    return call.store.to_json(_issue(call))


def create_issue(call: Call) -> dict[str, Any]:
    body = _body(call)
    store = call.store
    title = _string(body, "title", required=True, allow_empty=False)
    body_html = _string(body, "body_html", required=True, allow_empty=False)
    account_id = _string(body, "account_id") or None
    requester_id = _string(body, "requester_id") or None
    requester_email = _string(body, "requester_email") or None
    requester_name = _string(body, "requester_name")
    assignee_id = _string(body, "assignee_id") or None
    team_id = _string(body, "team_id") or None
    user_id = _string(body, "user_id") or None
    contact_id = _string(body, "contact_id") or None
    priority = _string(body, "priority")
    tags = _string_list(body, "tags") or []
    attachment_urls = _string_list(body, "attachment_urls") or []
    created_raw = _string(body, "created_at")
    destination = body.get("destination_metadata")

    if not account_id and not requester_id and not requester_email:
        raise _api_error(
            400, "either account_id or requester information (requester_id or requester_email) is required"
        )
    if user_id and contact_id:
        raise _api_error(400, "only one of user_id or contact_id can be provided")
    if contact_id and not isinstance(destination, dict):
        raise _api_error(400, "contact_id requires destination_metadata")
    if isinstance(destination, dict):
        kind = destination.get("destination")
        if kind is not None and kind not in ("slack", "email", "in_app_chat", "internal", "sms", "whatsapp"):
            raise _api_error(400, f"invalid destination {kind!r}")
    if priority is not None and priority not in PRIORITIES:
        raise _api_error(400, f"invalid priority {priority!r}: must be one of urgent, high, medium, low")
    if account_id:
        _check_account(call, account_id)
    if requester_id:
        _check_contact(call, requester_id, "requester_id")
    if assignee_id:
        _check_user(call, assignee_id, "assignee_id")
    if team_id:
        _check_team(call, team_id)
    if user_id:
        _check_user(call, user_id, "user_id")
    if contact_id:
        _check_contact(call, contact_id, "contact_id")
    created_at = _time(created_raw, "created_at") if created_raw else None
    custom = _custom_fields(call, body)
    if priority:
        custom["priority"] = priority

    with store.lock:
        if requester_email and not requester_id:
            if "@" not in requester_email:
                raise _api_error(400, f"requester_email {requester_email!r} is not an email address")
            contact = store.contact_by_email(requester_email) or store.add_contact(
                requester_email, requester_name, account_id
            )
            requester_id = contact.id
        if not account_id and requester_id:
            account_id = store.directory.contacts[requester_id].account_id
        record = store.create(
            title=title,
            body_html=body_html,
            account_id=account_id,
            requester_id=requester_id,
            assignee_id=assignee_id,
            team_id=team_id,
            tags=list(dict.fromkeys(tags)),
            custom_fields={k: v for k, v in custom.items() if v != []},
            attachment_urls=tuple(attachment_urls),
            created_at=created_at,
        )
        return store.to_json(record)


def update_issue(call: Call) -> dict[str, Any]:
    # The spec documents this path parameter as "The ID of the issue" (not the number).
    record = _issue(call, allow_number=False)
    body = _body(call)
    store = call.store
    state = _string(body, "state")
    title = _string(body, "title")
    assignee_id = _string(body, "assignee_id")
    team_id = _string(body, "team_id")
    account_id = _string(body, "account_id")
    requester_id = _string(body, "requester_id") or _string(body, "requestor_id")
    tags = _string_list(body, "tags")
    issue_type = _string(body, "type")
    visible = body.get("customer_portal_visible")

    if state is not None and state not in store.states:
        raise _api_error(
            400,
            f"invalid state {state!r}: must be one of new, waiting_on_you, waiting_on_customer, on_hold, "
            "closed, or a custom status",
        )
    if title is not None and not title.strip():
        raise _api_error(400, "title must not be empty")
    if assignee_id:
        _check_user(call, assignee_id, "assignee_id")
    if team_id:
        _check_team(call, team_id)
    if account_id:
        _check_account(call, account_id)
    if requester_id:
        _check_contact(call, requester_id, "requester_id")
    if issue_type is not None:
        if issue_type not in ("conversation", "ticket"):
            raise _api_error(400, f"invalid type {issue_type!r}: must be conversation or ticket")
        if record.type == "ticket" and issue_type == "conversation":
            raise _api_error(400, "an issue cannot be downgraded from ticket to conversation")
    if visible is not None and not isinstance(visible, bool):
        raise _api_error(400, "customer_portal_visible must be a boolean")
    custom = _custom_fields(call, body)

    with store.lock:
        if state is not None and state != record.state:
            record.state = state
            if state == "closed":
                record.resolution_time = time.time()
            if state != "on_hold":
                record.snoozed_until = None
        if title is not None:
            record.title = title
        if assignee_id is not None:
            record.assignee_id = assignee_id or None  # "" unassigns
        if team_id is not None:
            record.team_id = team_id or None  # "" removes the team
        if account_id:
            record.account_id = account_id
        if requester_id:
            record.requester_id = requester_id
        if tags is not None:
            record.tags = list(dict.fromkeys(tags))  # replaces the whole list
        if issue_type is not None:
            record.type = issue_type
        if visible is not None:
            record.customer_portal_visible = visible
        _apply_custom_fields(record, custom)
        store.touch(record)
        return store.to_json(record)


def delete_issue(call: Call) -> object:
    record = _issue(call, allow_number=False)
    call.store.delete(record)
    return NO_DATA


def search_issues(call: Call) -> Page:
    body = _body(call)
    store = call.store
    if "filter" not in body:
        raise _api_error(400, "filter is required")
    limit = body.get("limit", DEFAULT_SEARCH_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit < 1000:
        raise _api_error(400, "limit must be greater than 0 and less than 1000")
    cursor = body.get("cursor") or None
    if cursor is not None and not isinstance(cursor, str):
        raise _api_error(400, "cursor must be a string")
    try:
        predicate = compile_filter(body["filter"], store.states, store.directory.custom_fields)
    except FilterRejected as exc:
        raise _api_error(400, str(exc)) from None
    try:
        found, next_cursor = store.search(predicate, limit, cursor)
    except ValueError:
        raise _api_error(400, "invalid cursor") from None
    return Page([store.to_json(record) for record in found], next_cursor)


def snooze_issue(call: Call) -> dict[str, Any]:
    record = _issue(call)
    body = _body(call)
    raw = _string(body, "snooze_until", required=True)
    assert raw is not None
    until = _time(raw, "snooze_until")
    if until <= time.time():
        raise _api_error(400, "snooze_until must be in the future")
    with call.store.lock:
        record.state = "on_hold"
        record.snoozed_until = until
        call.store.touch(record)
        return call.store.to_json(record)


def _followers_json(record: IssueRecord) -> list[dict[str, str]]:
    return [{"id": fid, "type": ftype} for ftype, fid in record.followers]


def get_followers(call: Call) -> list[dict[str, str]]:
    return _followers_json(_issue(call))


def update_followers(call: Call) -> list[dict[str, str]]:
    record = _issue(call)
    body = _body(call)
    operation = _string(body, "operation") or "add"
    if operation not in ("add", "remove"):
        raise _api_error(400, f'invalid operation {operation!r}: use "add" or "remove"')
    user_ids = _string_list(body, "user_ids") or []
    contact_ids = _string_list(body, "contact_ids") or []
    for user_id in user_ids:
        _check_user(call, user_id, "user_ids")
    for contact_id in contact_ids:
        _check_contact(call, contact_id, "contact_ids")
    changes = [("user", uid) for uid in user_ids] + [("contact", cid) for cid in contact_ids]
    with call.store.lock:
        current = list(record.followers)
        if operation == "add":
            current += [item for item in changes if item not in current]
        else:
            current = [item for item in current if item not in changes]
        call.store.set_followers(record, current)
        return _followers_json(record)
