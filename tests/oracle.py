"""A test oracle: evaluates a search filter on Pylon's JSON shape of an issue.

Deliberately naive and independent of the sandbox's record-based evaluator, so
the two can be compared on random filters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _field(issue: dict[str, Any], followers: list[dict[str, str]], field: str) -> Any:
    nested = {
        "account_id": "account",
        "requester_id": "requester",
        "assignee_id": "assignee",
        "team_id": "team",
    }
    if field in nested:
        return (issue.get(nested[field]) or {}).get("id")
    if field == "issue_type":
        return issue.get("type")
    if field == "ticket_form_id":
        return issue.get("ticket_form_id")
    if field in ("state", "title", "body_html"):
        return issue.get(field)
    if field == "tags":
        return issue.get("tags") or []
    if field == "follower_user_id":
        return [f["id"] for f in followers if f["type"] == "user"]
    if field == "follower_contact_id":
        return [f["id"] for f in followers if f["type"] == "contact"]
    times = {
        "created_at": "created_at",
        "updated_at": "updated_at",
        "resolved_at": "resolution_time",
        "latest_message_activity_at": "latest_message_time",
    }
    if field in times:
        return _time(issue.get(times[field]))
    custom = (issue.get("custom_fields") or {}).get(field)
    if custom is None:
        return []
    return custom.get("values") or ([custom["value"]] if custom.get("value") is not None else [])


def matches(issue: dict[str, Any], followers: list[dict[str, str]], f: dict[str, Any]) -> bool:
    op = f["operator"]
    if op == "and":
        return all(matches(issue, followers, s) for s in f["subfilters"])
    if op == "or":
        return any(matches(issue, followers, s) for s in f["subfilters"])
    actual = _field(issue, followers, f["field"])
    value, values = f.get("value"), f.get("values")
    if isinstance(actual, datetime) or (actual is None and op.startswith("time_")):
        if actual is None:
            return False
        if op == "time_is_after":
            return actual > _time(value)  # type: ignore[operator]
        if op == "time_is_before":
            return actual < _time(value)  # type: ignore[operator]
        return _time(values[0]) <= actual <= _time(values[1])  # type: ignore[index,operator]
    many = actual if isinstance(actual, list) else ([] if actual is None else [actual])
    if op in ("equals", "contains"):
        return value in many
    if op in ("not_equals", "does_not_contain"):
        return value not in many
    if op == "in":
        return any(v in many for v in values or [])
    if op == "not_in":
        return not any(v in many for v in values or [])
    if op == "is_set":
        return bool(many)
    if op == "is_unset":
        return not many
    if op == "string_contains":
        return any(value.casefold() in m.casefold() for m in many)  # type: ignore[union-attr]
    if op == "string_does_not_contain":
        return not any(value.casefold() in m.casefold() for m in many)  # type: ignore[union-attr]
    numbers = [float(m) for m in many if m.replace(".", "", 1).lstrip("-").isdigit()]
    target = float(value)  # type: ignore[arg-type]
    compare = {
        "greater_than": lambda n: n > target,
        "less_than": lambda n: n < target,
        "greater_than_or_equals": lambda n: n >= target,
        "less_than_or_equals": lambda n: n <= target,
    }[op]
    return any(compare(n) for n in numbers)
