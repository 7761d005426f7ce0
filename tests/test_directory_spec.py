"""Directory models, search-filter tables and sandbox rate limits against Pylon's spec (tests/spec extract)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pylon_mcp.pylon import directory
from pylon_mcp.sandbox.directory_handlers import RATE_LIMITS, ROUTES

SPEC = json.loads((Path(__file__).parent / "spec" / "pylon-directory-openapi.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


@pytest.mark.parametrize(
    ("model", "schema", "left_out"),
    [
        (directory.User, "User", set()),
        (directory.Team, "Team", set()),
        # CRM settings: the account card shows custom fields and external IDs instead.
        (directory.Account, "Account", {"crm_settings"}),
        (directory.Contact, "Contact", set()),
        (directory.Channel, "Channel", set()),
        (directory.MirrorChannel, "MirrorChannel", set()),
        (directory.IntegrationUserID, "IntegrationUserID", set()),
        (directory.IssueStatus, "IssueStatus", set()),
        (directory.Tag, "Tag", set()),
        (directory.SelectOption, "CustomFieldDefinitionSelectOption", set()),
        (directory.SelectMetadata, "SelectMetadata", set()),
        (
            directory.CustomFieldDefinition,
            "CustomFieldDefinition",
            {"created_at", "updated_at", "default_value", "default_values", "number_metadata", "source"},
        ),
    ],
)
def test_model_fields_equal_the_spec(model: type[BaseModel], schema: str, left_out: set[str]) -> None:
    assert set(model.model_fields) == set(SCHEMAS[schema]["properties"]) - left_out


@pytest.mark.parametrize("endpoint", ["users", "accounts", "contacts"])
def test_search_tables_equal_each_endpoints_description(endpoint: str) -> None:
    description = SPEC["paths"][f"/{endpoint}/search"]["post"]["description"]
    table = {
        match.group(1): tuple(re.findall(r"`(\w+)`", match.group(2)))
        for line in description.splitlines()
        if (match := re.match(r"\* (\w+)\. Allowed operators: (.*)$", line))
    }
    assert table == directory.SEARCH_FIELDS[endpoint]


def test_sandbox_rate_limits_and_routes_follow_the_spec() -> None:
    for method, _, key, _ in ROUTES:
        verb, path = key.split(" ", 1)
        operation = SPEC["paths"][path][verb.lower()]
        stated = re.search(r"Rate limit:\*\* (\d+) requests per minute", operation["description"])
        assert stated and RATE_LIMITS[key] == int(stated.group(1)), key
        assert method == verb
    assert set(RATE_LIMITS) == {key for _, _, key, _ in ROUTES}
