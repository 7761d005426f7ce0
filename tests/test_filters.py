"""The client's filter grammar: clear errors locally, and agreement with the sandbox."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.filters import ALL_OPERATORS, FIELD_OPERATORS, combine_and, validate_filter
from pylon_mcp.pylon.models import Filter
from tests.conftest import TOKEN


def error(raw: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        validate_filter(raw)
    return str(caught.value)


def test_invented_operator_lists_the_allowed_ones() -> None:
    message = error({"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"})
    assert message.startswith("filter.operator: 'gte' is not an operator")
    assert "time_is_after" in message


def test_operator_not_allowed_for_field_lists_the_fields_operators() -> None:
    message = error({"field": "created_at", "operator": "equals", "value": "2026-01-01T00:00:00Z"})
    assert message == (
        "filter.operator: 'equals' is not allowed for field 'created_at'. "
        "Allowed: time_is_after, time_is_before, time_range"
    )


def test_errors_name_the_nested_path() -> None:
    message = error(
        {
            "operator": "and",
            "subfilters": [
                {"field": "state", "operator": "equals", "value": "new"},
                {"field": "tags", "operator": "equals", "value": "x"},
            ],
        }
    )
    assert message.startswith("filter.subfilters[1].operator:")
    assert "contains, does_not_contain, in, not_in" in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"field": "state", "operator": "in", "value": "new"}, "takes 'values'"),
        ({"field": "state", "operator": "equals", "values": ["new"]}, "single 'value'"),
        ({"field": "state", "operator": "equals", "value": "Bad State!"}, "not a valid state"),
        ({"field": "issue_type", "operator": "equals", "value": "incident"}, "conversation, ticket"),
        ({"field": "assignee_id", "operator": "is_set", "value": "x"}, "neither value nor values"),
        (
            {"field": "created_at", "operator": "time_range", "values": ["2026-01-01T00:00:00Z"]},
            "exactly two",
        ),
        ({"field": "created_at", "operator": "time_is_after", "value": "2026-01-01"}, "RFC3339"),
        (
            {
                "field": "created_at",
                "operator": "time_range",
                "values": ["2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"],
            },
            "before its start",
        ),
        ({"field": "seats", "operator": "greater_than", "value": "many"}, "not a number"),
        ({"field": "Bad Field", "operator": "equals", "value": "x"}, "not a filterable field"),
        ({"operator": "and", "subfilters": []}, "non-empty list"),
        (
            {
                "field": "state",
                "operator": "or",
                "subfilters": [{"field": "state", "operator": "equals", "value": "new"}],
            },
            "takes no field",
        ),
        ({"field": "state", "operator": "equals", "value": "new", "op": "x"}, "unknown key"),
        ({"operator": "equals", "value": "new"}, "required"),
        ("state=new", "must be an object"),
        ({"field": "tags", "operator": "in", "values": ["ok", ""]}, "non-empty string"),
    ],
)
def test_grammar_errors(raw: Any, fragment: str) -> None:
    assert fragment in error(raw)


def nest(depth: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"field": "state", "operator": "equals", "value": "new"}
    for _ in range(depth - 1):
        tree = {"operator": "or", "subfilters": [tree]}
    return tree


def test_depth_limit() -> None:
    assert validate_filter(nest(3))
    assert "at most 3 levels" in error(nest(4))


def test_custom_status_slugs_and_custom_fields_pass() -> None:
    assert (
        validate_filter({"field": "state", "operator": "equals", "value": "escalated"}).value == "escalated"
    )
    assert validate_filter({"field": "priority", "operator": "in", "values": ["high"]}).values == ["high"]


def test_times_are_sent_in_canonical_utc() -> None:
    checked = validate_filter(
        {"field": "created_at", "operator": "time_is_after", "value": "2026-05-01t12:00:00+02:00"}
    )
    assert checked.value == "2026-05-01T10:00:00Z"


def test_combine_and_flattens_and_respects_depth() -> None:
    leaf = Filter(field="state", operator="equals", value="new")
    combined = combine_and([Filter(operator="and", subfilters=[leaf, leaf]), leaf])
    assert combined.operator == "and" and len(combined.subfilters or []) == 3
    assert combine_and([leaf]) is leaf
    deep = validate_filter(nest(3))
    with pytest.raises(InvalidRequest, match="nests 4 levels"):
        combine_and([deep, leaf])


# --- property: whatever the client accepts, Pylon (the sandbox) accepts -------------

FIELDS = [*FIELD_OPERATORS, "priority", "seats", "affected_regions", "Bad Field", ""]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["new", "closed", "escalated", "bug", "2026-05-01T00:00:00Z", "50", "x", "", "ticket"]),
    st.text(max_size=8),
    st.integers(),
)
VALUE_LISTS = st.one_of(st.none(), st.lists(VALUES, max_size=3), st.just([]), st.text(max_size=3))


@st.composite
def filters(draw: st.DrawFn, depth: int = 1) -> Any:
    if depth <= 4 and draw(st.integers(0, 3)) == 0:
        return {
            "operator": draw(st.sampled_from(["and", "or", "equals"])),
            "subfilters": draw(st.lists(filters(depth + 1), max_size=3)),
        }
    field = draw(st.sampled_from(FIELDS))
    if draw(st.integers(0, 9)) < 7:  # mostly plausible leaves, so acceptance is well exercised
        operator = draw(st.sampled_from(FIELD_OPERATORS.get(field, ALL_OPERATORS[:6])))
        raw: dict[str, Any] = {"field": field, "operator": operator}
        text = st.sampled_from(
            ["new", "closed", "escalated", "x", "bug", "2026-05-01T00:00:00Z", "50", "ticket"]
        )
        if operator in ("in", "not_in", "time_range"):
            raw["values"] = draw(st.lists(text, min_size=1, max_size=3))
        elif operator not in ("is_set", "is_unset"):
            raw["value"] = draw(text)
        return raw
    raw = {"field": field, "operator": draw(st.sampled_from([*ALL_OPERATORS, "gte", "eq", "after"]))}
    if draw(st.booleans()):
        raw["value"] = draw(VALUES)
    if draw(st.booleans()):
        raw["values"] = draw(VALUE_LISTS)
    return raw


ACCEPTED: list[int] = []
TRIED: list[int] = []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=filters())
def test_client_accepts_only_what_pylon_accepts(sandbox_url: str, raw: Any) -> None:
    """Whatever passes local validation, Pylon accepts, except what only Pylon can know:
    which custom status slugs and custom field slugs exist in the organisation."""
    TRIED.append(1)
    try:
        checked = validate_filter(raw)
    except InvalidRequest as exc:
        assert str(exc).startswith("filter")  # noqa: PT017
        return
    response = httpx2.post(
        f"{sandbox_url}/issues/search",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"filter": checked.to_body(), "limit": 1},
    )
    if response.status_code == 400:
        reason = response.json()["errors"][0]
        assert reason.startswith(("invalid state", 'field "')), (checked.to_body(), reason)
        return
    assert response.status_code == 200, (checked.to_body(), response.text)
    ACCEPTED.append(1)


def test_the_property_above_saw_accepted_filters() -> None:
    """Runs after it (file order) and guards against a vacuous property."""
    if not TRIED:
        pytest.skip("the property test was not selected")
    assert len(ACCEPTED) > 50
