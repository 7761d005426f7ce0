"""Our models and filter table against Pylon's OpenAPI spec (vendored extract in tests/spec/)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pylon_mcp.pylon import filters, models
from pylon_mcp.pylon.customers import EXTERNAL_SOURCES, LinkExternalIssueRequest

SPEC = json.loads((Path(__file__).parent / "spec" / "pylon-issues-openapi.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
KNOWLEDGE = json.loads((Path(__file__).parent / "spec" / "pylon-knowledge-openapi.json").read_text())


def spec_fields(name: str) -> set[str]:
    return set(SCHEMAS[name]["properties"])


@pytest.mark.parametrize(
    ("model", "schema", "left_out"),
    [
        (models.Issue, "Issue", set()),
        (models.MiniAccount, "MiniAccount", set()),
        (models.MiniUser, "MiniUser", set()),
        (models.MiniContact, "MiniContact", set()),
        (models.MiniTeam, "MiniTeam", set()),
        (models.CustomFieldValue, "CustomFieldValue", set()),
        (models.ExternalIssue, "ExternalIssue", set()),
        (models.SlackInfo, "SlackInfo", set()),
        (models.CSATResponse, "CSATResponse", set()),
        (models.Follower, "Follower", set()),
        (models.Me, "Me", set()),
        (models.Pagination, "Pagination", set()),
        (models.CreateIssueRequest, "CreateIssueRequest", set()),
        (models.DestinationMetadata, "DestinationMetadata", set()),
        # requestor_id is the spec's deprecated alias of requester_id.
        (models.UpdateIssueRequest, "UpdateIssueRequestBody", {"requestor_id"}),
        (models.SnoozeIssueRequest, "SnoozeIssueRequestBody", set()),
        (models.FollowersRequest, "AddIssueFollowersRequestBody", set()),
        (models.Filter, "Filter", set()),
        (models.SearchIssuesRequest, "SearchIssuesRequest", set()),
        (LinkExternalIssueRequest, "LinkExternalIssueRequestBody", set()),
    ],
)
def test_model_fields_equal_the_spec(model: type[BaseModel], schema: str, left_out: set[str]) -> None:
    assert set(model.model_fields) == spec_fields(schema) - left_out


def test_required_request_fields_match() -> None:
    for model, schema in [
        (models.CreateIssueRequest, "CreateIssueRequest"),
        (models.SnoozeIssueRequest, "SnoozeIssueRequestBody"),
        (models.SearchIssuesRequest, "SearchIssuesRequest"),
        (LinkExternalIssueRequest, "LinkExternalIssueRequestBody"),
    ]:
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert required == set(SCHEMAS[schema].get("required", [])), model


def test_enums_match() -> None:
    assert set(models.ISSUE_SOURCES) == set(SCHEMAS["Issue"]["properties"]["source"]["enum"])
    assert set(models.ISSUE_TYPES) == set(SCHEMAS["Issue"]["properties"]["type"]["enum"])
    assert set(models.DESTINATIONS) == set(
        SCHEMAS["DestinationMetadata"]["properties"]["destination"]["enum"]
    )
    assert list(filters.ALL_OPERATORS) == SCHEMAS["Filter"]["properties"]["operator"]["enum"]
    priority_doc = SCHEMAS["CreateIssueRequest"]["properties"]["priority"]["description"]
    assert all(p in priority_doc for p in models.PRIORITIES)
    state_doc = SCHEMAS["UpdateIssueRequestBody"]["properties"]["state"]["description"]
    assert all(s in state_doc for s in models.BASE_STATES)


def test_external_issue_sources_are_the_specs_list() -> None:
    doc = SCHEMAS["LinkExternalIssueRequestBody"]["properties"]["source"]["description"]
    listed = re.search(r"\(e\.g\., (.*)\)", doc)
    assert listed and tuple(re.findall(r'"(\w+)"', listed.group(1))) == EXTERNAL_SOURCES
    operation = SCHEMAS["LinkExternalIssueRequestBody"]["properties"]["operation"]["description"]
    assert '"link"' in operation and '"unlink"' in operation


def test_filter_table_equals_the_search_description() -> None:
    description = SPEC["paths"]["/issues/search"]["post"]["description"]
    table: dict[str, tuple[str, ...]] = {}
    for line in description.splitlines():
        match = re.match(r"\* (\w+)\b.*Allowed operators: (.*)$", line)
        if match:
            table[match.group(1)] = tuple(re.findall(r"`(\w+)`", match.group(2)))
    assert table == filters.FIELD_OPERATORS
    assert "custom fields (pass in the slug of the custom field)" in description
    assert (
        f"maximum allowed depth for a tree of filters is {filters.MAX_DEPTH}"
        in (SCHEMAS["Filter"]["properties"]["subfilters"]["description"])
    )


def test_search_limit_bounds_match() -> None:
    doc = SCHEMAS["SearchIssuesRequest"]["properties"]["limit"]["description"]
    assert "greater than 0 and less than 1000" in doc
    limit = models.SearchIssuesRequest.model_fields["limit"]
    bounds = {type(m).__name__: m for m in limit.metadata}
    assert bounds["Ge"].ge == 1 and bounds["Le"].le == 999


@pytest.mark.parametrize("table", ["sandbox", "client"])
def test_spec_rate_limits_table_matches_descriptions(table: str) -> None:
    # Two tables on purpose: the sandbox stands in for Pylon on its own terms, and the client's
    # shared budget (pylon/gate.py) must cover every endpoint it calls. Both must agree with the spec.
    from pylon_mcp.pylon.gate import PUBLISHED_LIMITS
    from pylon_mcp.sandbox.faults import SPEC_RATE_LIMITS

    limits = SPEC_RATE_LIMITS if table == "sandbox" else PUBLISHED_LIMITS
    if table == "client":
        assert set(PUBLISHED_LIMITS) == set(SPEC_RATE_LIMITS), "the client budget must cover every endpoint"
    directory = json.loads((Path(__file__).parent / "spec" / "pylon-directory-openapi.json").read_text())
    # The directory and knowledge endpoints have their own extracts.
    paths = {**SPEC["paths"], **directory["paths"], **KNOWLEDGE["paths"]}
    for key, per_minute in limits.items():
        method, path = key.split(" ")
        description = paths[path][method.lower()]["description"]
        assert f"**Rate limit:** {per_minute} requests per minute" in description, key


@pytest.mark.parametrize(
    ("model", "schema", "left_out"),
    [
        ("KnowledgeBase", "KnowledgeBase", set()),
        ("Collection", "Collection", set()),
        ("Article", "Article", set()),
        ("VisibilityConfig", "VisibilityConfig", set()),
        ("Macro", "Macro", set()),
        ("MacroAction", "MacroAction", set()),
        ("Visibility", "Visibility", set()),
        ("MacroGroup", "MacroGroup", set()),
        ("FeatureRequestEvidence", "FeatureRequestEvidence", set()),
        ("SearchFeatureRequestsRequest", "SearchFeatureRequestsRequest", set()),
    ],
)
def test_knowledge_models_equal_the_spec(model: str, schema: str, left_out: set[str]) -> None:
    from pylon_mcp.pylon import knowledge_models

    fields = set(getattr(knowledge_models, model).model_fields)
    assert fields == set(KNOWLEDGE["components"]["schemas"][schema]["properties"]) - left_out


def test_feature_request_model_covers_the_record_and_the_search_result() -> None:
    from pylon_mcp.pylon.knowledge_models import FeatureRequest

    schemas = KNOWLEDGE["components"]["schemas"]
    both = set(schemas["FeatureRequest"]["properties"]) | set(
        schemas["FeatureRequestSearchResult"]["properties"]
    )
    assert set(FeatureRequest.model_fields) == both


def test_article_page_size_is_the_specs_default() -> None:
    from pylon_mcp.pylon.knowledge import ARTICLE_PAGE_SIZE

    limit = KNOWLEDGE["paths"]["/knowledge-bases/{id}/articles"]["get"]["parameters"]
    doc = next(p for p in limit if p["name"] == "limit")["description"]
    assert f"Defaults to {ARTICLE_PAGE_SIZE}" in doc
