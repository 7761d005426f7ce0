"""What the sandbox knows about its customers beyond their names: the account and contact cards' data.

Accounts get a type, tags, an owner (already seeded), custom fields (plan tier, ARR, renewal
date, health), channels, external IDs, a creation time and the latest customer activity;
contacts get a portal role and custom fields. Everything comes from its own random stream,
seeded from the organisation's seed, so the issues and directory seeded before stay exactly
as they were (golden files and tests pin them).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from pylon_mcp.sandbox.records import CustomFieldDef, IssueRecord
from pylon_mcp.sandbox.seed import DAY, PLAN_TIERS, Directory, new_id

STREAM = 0xACC7  # mixed into the seed: this module's own random numbers

ACCOUNT_TYPES = ("customer", "customer", "customer", "customer", "prospect", "partner")
ACCOUNT_TAGS = ("strategic", "design-partner", "eu-data-residency", "self-serve", "reseller")
HEALTH = ("healthy", "needs_attention", "at_risk")
LANGUAGES = ("en", "de", "fr", "ja")
JOB_TITLES = ("Head of IT", "Engineering Manager", "Support Lead", "CTO", "Operations Analyst", "Developer")
DISABLED_ACCOUNT = "Bluth Company"  # one disabled account, so the card's "disabled" shows somewhere
# Short external IDs (HubSpot-like) that do not look like Pylon IDs: found through the account search.
SHORT_EXTERNAL_LABEL = "hubspot"

# Definitions by object type, as GET /custom-fields?object_type=... lists them.
ACCOUNT_FIELDS: tuple[CustomFieldDef, ...] = (
    CustomFieldDef("plan_tier", "select", PLAN_TIERS, "Plan tier", ("Free", "Pro", "Enterprise"), "cf-acc-1"),
    CustomFieldDef("arr", "number", (), "ARR", (), "cf-acc-2"),
    CustomFieldDef("renewal_date", "date", (), "Renewal date", (), "cf-acc-3"),
    CustomFieldDef("health", "select", HEALTH, "Health", ("Healthy", "Needs attention", "At risk"), "cf-acc-4"),
    CustomFieldDef("regions", "multiselect", ("us", "eu", "apac"), "Regions", ("US", "EU", "APAC"), "cf-acc-5"),
)  # fmt: skip
CONTACT_FIELDS: tuple[CustomFieldDef, ...] = (
    CustomFieldDef("job_title", "text", (), "Job title", (), "cf-con-1"),
    CustomFieldDef("language", "select", LANGUAGES, "Language", ("English", "German", "French", "Japanese"),
                   "cf-con-2"),
)  # fmt: skip


def customer_field_defs(object_type: str) -> tuple[CustomFieldDef, ...]:
    return {"account": ACCOUNT_FIELDS, "contact": CONTACT_FIELDS}.get(object_type, ())


def _arr(rng: random.Random, tier: str) -> str:
    low, high = {"free": (0, 0), "pro": (6, 60), "enterprise": (80, 900)}[tier]
    return str(rng.randint(low, high) * 1000)


def enrich(directory: Directory, issues: Iterable[IssueRecord], *, seed: int, anchor: float) -> None:
    """Fill in the card data of every seeded account and contact."""
    rng = random.Random(seed ^ STREAM)
    tiers: dict[str, str] = {}
    latest: dict[str, float] = {}
    for record in issues:  # an account's issues carry its plan tier; its latest message is its activity
        if record.account_id is None:
            continue
        tier = record.custom_fields.get("plan_tier")
        if isinstance(tier, str):
            tiers.setdefault(record.account_id, tier)
        moment = record.latest_message_time or record.updated_at
        latest[record.account_id] = max(latest.get(record.account_id, 0.0), moment)
    for n, account in enumerate(directory.accounts.values()):
        tier = tiers.get(account.id) or rng.choice(PLAN_TIERS)
        account.type = rng.choice(ACCOUNT_TYPES)
        account.tags = tuple(sorted(rng.sample(ACCOUNT_TAGS, rng.choice((0, 1, 1, 2)))))
        renewal = anchor + rng.uniform(5, 360) * DAY
        account.custom_fields = {
            "plan_tier": tier,
            "arr": _arr(rng, tier),
            "renewal_date": _date(renewal),
            "health": rng.choices(HEALTH, (6, 3, 1))[0],
        }
        if rng.random() < 0.4:
            account.custom_fields["regions"] = sorted(rng.sample(["us", "eu", "apac"], rng.randint(1, 2)))
        # Salesforce-style IDs (18 characters) pass as IDs; every third account also has a short one.
        account.external_ids = (("salesforce", f"001{rng.getrandbits(60):015X}"),)
        if n % 3 == 0:
            account.external_ids += ((SHORT_EXTERNAL_LABEL, f"HS-{rng.randint(10000, 99999)}"),)
        channels: list[tuple[str, str, bool]] = []
        if rng.random() < 0.7:
            channels.append(("slack", f"C0{rng.getrandbits(40):010X}", True))
        if rng.random() < 0.2:
            channels.append(("microsoft_teams", f"{new_id(rng)}|19:{rng.getrandbits(48):012x}", not channels))
        account.channels = tuple(channels)
        account.created_at = round(anchor - rng.uniform(200, 1500) * DAY)
        account.latest_activity = latest.get(account.id)
        account.is_disabled = account.name == DISABLED_ACCOUNT
    first_of: set[str] = set()
    for contact in directory.contacts.values():
        first = contact.account_id not in first_of
        first_of.add(contact.account_id or "")
        contact.portal_role = "admin" if first else rng.choice(("member", "member", "no_access"))
        contact.custom_fields = {"job_title": rng.choice(JOB_TITLES), "language": rng.choice(LANGUAGES)}


def _date(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
