"""The sandbox's data: issues and the directory they refer to (accounts, people, teams).

Records are compact (slots, epoch floats, shared body strings) so 100k issues fit
comfortably in memory for benchmarks; `issue_json` builds Pylon's wire shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(slots=True)
class Account:
    id: str
    name: str
    domain: str
    owner_id: str | None = None
    tags: tuple[str, ...] = ()
    # The account card's data (sandbox/account_seed.py fills these from its own random stream).
    type: str = "customer"
    external_ids: tuple[tuple[str, str], ...] = ()  # (label, external_id)
    custom_fields: dict[str, str | list[str]] = field(default_factory=dict)
    channels: tuple[tuple[str, str, bool], ...] = ()  # (source, channel_id, is_primary)
    created_at: float | None = None
    latest_activity: float | None = None
    is_disabled: bool = False


@dataclass(slots=True)
class Person:
    """A user (agent in the Pylon org) or a contact (customer)."""

    id: str
    name: str
    email: str
    account_id: str | None = None
    portal_role: str | None = None  # contacts: no_access | member | admin
    custom_fields: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Team:
    id: str
    name: str
    member_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Status:
    slug: str
    label: str
    category: str
    is_default: bool


@dataclass(slots=True)
class TagDef:
    id: str
    value: str
    hex_color: str


@dataclass(slots=True)
class CustomFieldDef:
    slug: str
    kind: str  # "select" | "multiselect" | "text" | "number"
    options: tuple[str, ...] = ()
    label: str = ""
    option_labels: tuple[str, ...] = ()  # parallel to options
    id: str = ""


@dataclass(slots=True)
class IssueRecord:
    id: str
    number: int
    title: str
    body_html: str
    state: str
    type: str
    source: str
    created_at: float
    updated_at: float
    account_id: str | None = None
    requester_id: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    ticket_form_id: str | None = None
    tags: list[str] = field(default_factory=list)
    # slug -> a string (single-valued) or a list of strings (multiselect)
    custom_fields: dict[str, str | list[str]] = field(default_factory=dict)
    followers: list[tuple[str, str]] = field(default_factory=list)  # (type, id)
    latest_message_time: float | None = None
    first_response_time: float | None = None
    resolution_time: float | None = None
    snoozed_until: float | None = None
    number_of_touches: int = 0
    customer_portal_visible: bool = False
    csat: tuple[tuple[int, str], ...] = ()
    external_issues: tuple[tuple[str, str, str], ...] = ()  # (source, external_id, link)
    attachment_urls: tuple[str, ...] = ()
    # The requester's sign-off, appended to the shared body when served (bodies stay pooled).
    signer: str | None = None

    @property
    def signed_body_html(self) -> str:
        """The body as Pylon serves it and as the conversation's first message: signed by the requester."""
        return self.body_html + (f"<p>Thanks,<br>{self.signer}</p>" if self.signer else "")

    @property
    def sort_key(self) -> tuple[float, int]:
        """Search order is newest first; this ascends in that order."""
        return (-self.created_at, -self.number)


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def issue_link(number: int) -> str:
    return f"https://app.usepylon.com/issues/views/all-issues?issueNumber={number}"


def issue_json(
    record: IssueRecord,
    users: dict[str, Person],
    contacts: dict[str, Person],
    custom_defs: dict[str, CustomFieldDef],
) -> dict[str, object]:
    """The spec's `Issue` object. Absent values are omitted, as Go's omitempty does."""
    out: dict[str, object] = {
        "id": record.id,
        "number": record.number,
        "title": record.title,
        "body_html": record.signed_body_html,
        "state": record.state,
        "type": record.type,
        "source": record.source,
        "link": issue_link(record.number),
        "tags": list(record.tags),
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
        "number_of_touches": record.number_of_touches,
        "customer_portal_visible": record.customer_portal_visible,
        "author_unverified": False,
    }
    if record.account_id:
        out["account"] = {"id": record.account_id}
    if record.requester_id and record.requester_id in contacts:
        out["requester"] = {"id": record.requester_id, "email": contacts[record.requester_id].email}
    if record.assignee_id and record.assignee_id in users:
        out["assignee"] = {"id": record.assignee_id, "email": users[record.assignee_id].email}
    if record.team_id:
        out["team"] = {"id": record.team_id}
    if record.custom_fields:
        fields: dict[str, object] = {}
        for slug, value in record.custom_fields.items():
            definition = custom_defs.get(slug)
            if isinstance(value, list) or (definition and definition.kind == "multiselect"):
                fields[slug] = {"slug": slug, "values": list(value) if isinstance(value, list) else [value]}
            else:
                fields[slug] = {"slug": slug, "value": value}
        out["custom_fields"] = fields
    for key, epoch in (
        ("latest_message_time", record.latest_message_time),
        ("first_response_time", record.first_response_time),
        ("resolution_time", record.resolution_time),
        ("snoozed_until_time", record.snoozed_until),
    ):
        if epoch is not None:
            out[key] = rfc3339(epoch)
    if record.first_response_time is not None:
        seconds = int(record.first_response_time - record.created_at)
        out["first_response_seconds"] = seconds
        out["business_hours_first_response_seconds"] = seconds // 3
    if record.resolution_time is not None:
        seconds = int(record.resolution_time - record.created_at)
        out["resolution_seconds"] = seconds
        out["business_hours_resolution_seconds"] = seconds // 3
    if record.csat:
        out["csat_responses"] = [{"score": score, "comment": comment} for score, comment in record.csat]
    if record.external_issues:
        out["external_issues"] = [
            {"source": source, "external_id": external_id, "link": link}
            for source, external_id, link in record.external_issues
        ]
    if record.attachment_urls:
        out["attachment_urls"] = list(record.attachment_urls)
    if record.source == "slack":
        out["slack"] = {"channel_id": "C0SANDBOX", "message_ts": f"{record.created_at:.6f}"}
    if record.source == "chat_widget":
        out["chat_widget_info"] = {"page_url": "https://app.example.com/settings"}
    return out
