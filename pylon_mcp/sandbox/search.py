"""Filter validation and evaluation for `POST /issues/search`, as Pylon does it server-side.

Shares only the spec's operator table with the client; the checks and the
evaluation are written here independently, so the sandbox can catch a client
that sends what Pylon would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pylon_mcp.pylon.filters import ALL_OPERATORS, FIELD_OPERATORS
from pylon_mcp.sandbox.records import CustomFieldDef, IssueRecord
from pylon_mcp.sandbox.timeparse import parse_time

Predicate = Callable[[IssueRecord], bool]

MAX_DEPTH = 3
_CUSTOM_OPERATORS = tuple(op for op in ALL_OPERATORS if op not in ("and", "or"))
_TIME_FIELDS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "resolved_at": "resolution_time",
    "latest_message_activity_at": "latest_message_time",
}
_ID_FIELDS = {
    "account_id": "account_id",
    "ticket_form_id": "ticket_form_id",
    "requester_id": "requester_id",
    "assignee_id": "assignee_id",
    "team_id": "team_id",
    "issue_type": "type",
    "state": "state",
}


class FilterRejected(Exception):
    """Becomes a 400 with this message."""


def compile_filter(
    raw: Any, states: frozenset[str], custom_fields: dict[str, CustomFieldDef], depth: int = 1
) -> Predicate:
    if not isinstance(raw, dict):
        raise FilterRejected("filter must be an object")
    if depth > MAX_DEPTH:
        raise FilterRejected(f"filter exceeds the maximum depth of {MAX_DEPTH}")
    operator = raw.get("operator")
    if operator not in ALL_OPERATORS:
        raise FilterRejected(f'invalid filter operator "{operator}"')
    if operator in ("and", "or"):
        subfilters = raw.get("subfilters")
        if not isinstance(subfilters, list) or not subfilters:
            raise FilterRejected(f'operator "{operator}" requires subfilters')
        children = [compile_filter(sub, states, custom_fields, depth + 1) for sub in subfilters]
        if operator == "and":
            return lambda issue: all(child(issue) for child in children)
        return lambda issue: any(child(issue) for child in children)

    field = raw.get("field")
    if not isinstance(field, str) or not field:
        raise FilterRejected(f'operator "{operator}" requires a field')
    if field in FIELD_OPERATORS:
        allowed = FIELD_OPERATORS[field]
    elif field in custom_fields:
        allowed = _CUSTOM_OPERATORS
    else:
        raise FilterRejected(f'field "{field}" is not filterable')
    if operator not in allowed:
        raise FilterRejected(
            f'invalid operator "{operator}" for field "{field}": allowed operators are {", ".join(allowed)}'
        )
    value, values = raw.get("value"), raw.get("values")
    if value is not None and not isinstance(value, str):
        raise FilterRejected("filter value must be a string")
    if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
        raise FilterRejected("filter values must be an array of strings")

    if field in _TIME_FIELDS:
        return _time_predicate(_TIME_FIELDS[field], operator, value, values)
    if field == "state":
        for item in [value] if operator == "equals" else values or []:
            if item is not None and item not in states:
                raise FilterRejected(f'invalid state "{item}"')
    if field in _ID_FIELDS:
        return _scalar_predicate(_ID_FIELDS[field], operator, value, values)
    if field in ("follower_user_id", "follower_contact_id"):
        kind = "user" if field == "follower_user_id" else "contact"
        return _follower_predicate(kind, operator, value, values)
    if field == "tags":
        return _tags_predicate(operator, value, values)
    if field in ("title", "body_html"):
        return _text_predicate(field, operator, value)
    return _custom_predicate(custom_fields[field], operator, value, values)


def _need_value(operator: str, value: str | None) -> str:
    if value is None or value == "":
        raise FilterRejected(f'operator "{operator}" requires value')
    return value


def _need_values(operator: str, values: list[str] | None) -> list[str]:
    if not values:
        raise FilterRejected(f'operator "{operator}" requires values')
    return values


def _time(text: str) -> float:
    try:
        return parse_time(text)
    except ValueError:
        raise FilterRejected(f'invalid time "{text}": must be RFC3339') from None


def _time_predicate(attr: str, operator: str, value: str | None, values: list[str] | None) -> Predicate:
    if operator == "time_range":
        bounds = _need_values(operator, values)
        if len(bounds) != 2:
            raise FilterRejected("time_range requires exactly two values")
        start, end = _time(bounds[0]), _time(bounds[1])

        def in_range(issue: IssueRecord) -> bool:
            moment = getattr(issue, attr)
            return moment is not None and start <= moment <= end

        return in_range
    moment_limit = _time(_need_value(operator, value))
    if operator == "time_is_after":
        return lambda issue: (m := getattr(issue, attr)) is not None and m > moment_limit
    return lambda issue: (m := getattr(issue, attr)) is not None and m < moment_limit


def _scalar_predicate(attr: str, operator: str, value: str | None, values: list[str] | None) -> Predicate:
    if operator == "equals":
        wanted = _need_value(operator, value)
        return lambda issue: getattr(issue, attr) == wanted
    if operator in ("in", "not_in"):
        options = frozenset(_need_values(operator, values))
        if operator == "in":
            return lambda issue: getattr(issue, attr) in options
        return lambda issue: getattr(issue, attr) not in options
    if operator == "is_set":
        return lambda issue: bool(getattr(issue, attr))
    return lambda issue: not getattr(issue, attr)  # is_unset


def _follower_predicate(kind: str, operator: str, value: str | None, values: list[str] | None) -> Predicate:
    options = frozenset(
        [_need_value(operator, value)] if operator == "equals" else _need_values(operator, values)
    )

    def matches(issue: IssueRecord) -> bool:
        return any(ftype == kind and fid in options for ftype, fid in issue.followers)

    if operator == "not_in":
        return lambda issue: not matches(issue)
    return matches


def _tags_predicate(operator: str, value: str | None, values: list[str] | None) -> Predicate:
    if operator in ("contains", "does_not_contain"):
        tag = _need_value(operator, value)
        if operator == "contains":
            return lambda issue: tag in issue.tags
        return lambda issue: tag not in issue.tags
    options = frozenset(_need_values(operator, values))
    if operator == "in":
        return lambda issue: not options.isdisjoint(issue.tags)
    return lambda issue: options.isdisjoint(issue.tags)


def _text_predicate(attr: str, operator: str, value: str | None) -> Predicate:
    needle = _need_value(operator, value).casefold()
    attr = "signed_body_html" if attr == "body_html" else attr  # the body as served, sign-off included
    if operator == "string_contains":
        return lambda issue: needle in getattr(issue, attr).casefold()
    return lambda issue: needle not in getattr(issue, attr).casefold()


def _custom_predicate(
    definition: CustomFieldDef, operator: str, value: str | None, values: list[str] | None
) -> Predicate:
    slug = definition.slug

    def current(issue: IssueRecord) -> list[str]:
        raw = issue.custom_fields.get(slug)
        if raw is None:
            return []
        return list(raw) if isinstance(raw, list) else [raw]

    if operator in ("is_set", "is_unset"):
        wanted_set = operator == "is_set"
        return lambda issue: bool(current(issue)) == wanted_set
    if operator in ("in", "not_in"):
        options = frozenset(_need_values(operator, values))
        if operator == "in":
            return lambda issue: not options.isdisjoint(current(issue))
        return lambda issue: options.isdisjoint(current(issue))
    if operator == "time_range":
        raise FilterRejected(f'operator "time_range" is not supported for custom field "{slug}"')
    target = _need_value(operator, value)
    if operator in ("equals", "contains"):
        return lambda issue: target in current(issue)
    if operator in ("not_equals", "does_not_contain"):
        return lambda issue: target not in current(issue)
    if operator in ("string_contains", "string_does_not_contain"):
        needle = target.casefold()
        hit = operator == "string_contains"
        return lambda issue: any(needle in v.casefold() for v in current(issue)) == hit
    if operator in ("time_is_after", "time_is_before"):
        limit = _time(target)
        after = operator == "time_is_after"

        def compare_time(issue: IssueRecord) -> bool:
            for item in current(issue):
                try:
                    moment = parse_time(item)
                except ValueError:
                    continue
                if (moment > limit) if after else (moment < limit):
                    return True
            return False

        return compare_time
    try:
        number = float(target)
    except ValueError:
        raise FilterRejected(f'operator "{operator}" requires a numeric value') from None
    compare: dict[str, Callable[[float], bool]] = {
        "greater_than": lambda v: v > number,
        "less_than": lambda v: v < number,
        "greater_than_or_equals": lambda v: v >= number,
        "less_than_or_equals": lambda v: v <= number,
    }
    check = compare[operator]

    def numeric(issue: IssueRecord) -> bool:
        for item in current(issue):
            try:
                if check(float(item)):
                    return True
            except ValueError:
                continue
        return False

    return numeric
