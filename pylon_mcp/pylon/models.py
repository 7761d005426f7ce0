"""Pydantic models derived from Pylon's OpenAPI spec (April 2026 snapshot).

Responses tolerate fields the spec does not list (`extra="allow"`): Pylon adds
fields over time and we must not break when it does. Request bodies forbid
unknown fields, because Pylon *silently ignores* them: a misspelled field would
otherwise be dropped without a word. `tests/test_models_spec.py` checks every
model against the vendored spec, field by field.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

BASE_STATES: tuple[str, ...] = ("new", "waiting_on_you", "waiting_on_customer", "on_hold", "closed")
ISSUE_TYPES: tuple[str, ...] = ("conversation", "ticket")
ISSUE_SOURCES: tuple[str, ...] = (
    "slack",
    "microsoft_teams",
    "microsoft_teams_chat",
    "chat_widget",
    "email",
    "manual",
    "form",
    "discord",
    "whatsapp",
    "sms",
    "telegram",
    "phone",
)
DESTINATIONS: tuple[str, ...] = ("slack", "email", "in_app_chat", "internal", "sms", "whatsapp")

Priority = Literal["urgent", "high", "medium", "low"]  # the one list; PRIORITIES and the tools derive from it
PRIORITIES: tuple[str, ...] = get_args(Priority)
IssueType = Literal["conversation", "ticket"]
FollowerOperation = Literal["add", "remove"]


# defer_build: a model's validator is built on its first use, not when the class is defined. The client
# defines ~60 models and a session uses a few; building them all cost ~5 ms of every start-up.


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    def to_body(self) -> dict[str, Any]:
        """Only the fields the caller set: PATCH semantics depend on absent vs empty."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


# --- response objects -------------------------------------------------------


class ExternalID(_Response):
    external_id: str | None = None
    label: str | None = None


class MiniAccount(_Response):
    id: str | None = None
    external_ids: list[ExternalID] | None = None


class MiniUser(_Response):
    id: str | None = None
    email: str | None = None


class MiniContact(_Response):
    id: str | None = None
    email: str | None = None


class MiniTeam(_Response):
    id: str | None = None


class IssueChatWidgetInfo(_Response):
    page_url: str | None = None


class CSATResponse(_Response):
    comment: str | None = None
    score: int | None = None


class CustomFieldValue(_Response):
    slug: str | None = None
    value: str | None = None
    values: list[str] | None = None


class ExternalIssue(_Response):
    external_id: str | None = None
    link: str | None = None
    source: str | None = None


class SlackInfo(_Response):
    channel_id: str | None = None
    message_ts: str | None = None
    workspace_id: str | None = None


class Issue(_Response):
    """Every field of the spec's `Issue` schema; all optional, as in the spec."""

    id: str | None = None
    number: int | None = None
    title: str | None = None
    body_html: str | None = None
    state: str | None = None
    type: str | None = None
    source: str | None = None
    link: str | None = None
    tags: list[str] | None = None
    account: MiniAccount | None = None
    assignee: MiniUser | None = None
    requester: MiniContact | None = None
    team: MiniTeam | None = None
    custom_fields: dict[str, CustomFieldValue] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    latest_message_time: str | None = None
    first_response_time: str | None = None
    first_response_seconds: int | None = None
    business_hours_first_response_seconds: int | None = None
    resolution_time: str | None = None
    resolution_seconds: int | None = None
    business_hours_resolution_seconds: int | None = None
    resolution_breach_time: str | None = None
    snoozed_until_time: str | None = None
    number_of_touches: int | None = None
    customer_portal_visible: bool | None = None
    author_unverified: bool | None = None
    attachment_urls: list[str] | None = None
    csat_responses: list[CSATResponse] | None = None
    external_issues: list[ExternalIssue] | None = None
    chat_widget_info: IssueChatWidgetInfo | None = None
    slack: SlackInfo | None = None
    time_in_status_seconds: dict[str, int] | None = None
    business_hours_time_in_status_seconds: dict[str, int] | None = None

    @property
    def priority(self) -> str | None:
        """The spec takes `priority` on create but its `Issue` lists none (see docs/tools.md, "Priority").

        Known: a top-level `priority`, if Pylon sends one, is the field create wrote. Assumed:
        otherwise it travels as the `priority` custom field (where the sandbox keeps it).
        """
        top = (self.model_extra or {}).get("priority")
        if isinstance(top, str) and top:
            return top
        field = (self.custom_fields or {}).get("priority")
        return field.value if field else None

    def current_values(self) -> dict[str, Any]:
        """What the issue holds now for each field PATCH can set (`UPDATABLE_FIELDS`), in PATCH's terms:
        `assignee_id` is `assignee.id`, "" when unset (as PATCH's "" unsets), tags [] when none."""
        values: dict[str, Any] = {}
        for name in UPDATABLE_FIELDS:
            if name.endswith("_id"):
                ref = getattr(self, name.removesuffix("_id"))
                values[name] = (ref.id if ref is not None else None) or ""
            else:
                values[name] = getattr(self, name)
        values["tags"] = list(self.tags or [])
        return values


class Follower(_Response):
    id: str | None = None
    type: str | None = None


class Me(_Response):
    id: str | None = None
    name: str | None = None


class Pagination(_Response):
    cursor: str | None = None
    has_next_page: bool = False


# --- request bodies -----------------------------------------------------------


class CustomFieldInput(_Request):
    slug: str
    value: str | None = None
    values: list[str] | None = None


class DestinationMetadata(_Request):
    destination: Literal["slack", "email", "in_app_chat", "internal", "sms", "whatsapp"] | None = None
    email: str | None = None
    email_ccs: list[str] | None = None
    email_bccs: list[str] | None = None
    chat_widget_app_id: str | None = None
    from_sms_phone_number_id: str | None = None
    whatsapp_app_id: str | None = None
    whatsapp_message_template_language: str | None = None
    whatsapp_message_template_name: str | None = None


class CreateIssueRequest(_Request):
    title: str
    body_html: str
    account_id: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    priority: Priority | None = None
    tags: list[str] | None = None
    requester_id: str | None = None
    requester_email: str | None = None
    requester_name: str | None = None
    requester_avatar_url: str | None = None
    user_id: str | None = None
    contact_id: str | None = None
    created_at: str | None = None
    attachment_urls: list[str] | None = None
    author_unverified: bool | None = None
    custom_fields: list[CustomFieldInput] | None = None
    destination_metadata: DestinationMetadata | None = None


class UpdateIssueRequest(_Request):
    """PATCH body. No `priority`: the spec has none, and Pylon would drop it silently."""

    state: str | None = None
    title: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    account_id: str | None = None
    requester_id: str | None = None
    tags: list[str] | None = None
    type: IssueType | None = None
    customer_portal_visible: bool | None = None
    custom_fields: list[CustomFieldInput] | None = None
    # `requestor_id` (deprecated alias of requester_id) is deliberately not offered.


# The one list of fields an update can change; tools, no-op checks and change lines derive from it.
UPDATABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in UpdateIssueRequest.model_fields if name != "custom_fields"
)


class SnoozeIssueRequest(_Request):
    snooze_until: str


class FollowersRequest(_Request):
    user_ids: list[str] | None = None
    contact_ids: list[str] | None = None
    operation: FollowerOperation | None = None


class Filter(_Request):
    """The spec's recursive `Filter`. Grammar rules live in `filters.py`."""

    field: str | None = None
    operator: str
    value: str | None = None
    values: list[str] | None = None
    subfilters: list[Filter] | None = None


class SearchIssuesRequest(_Request):
    filter: Filter
    limit: int | None = Field(default=None, ge=1, le=999)
    cursor: str | None = None


class SearchPage(BaseModel):
    """One page of `POST /issues/search`."""

    issues: list[Issue]
    cursor: str | None = None
    has_next_page: bool = False
    request_id: str | None = None
