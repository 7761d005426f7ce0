"""Regenerate `pylon-issues-openapi.json` from Pylon's full OpenAPI document.

    python tests/spec/extract.py ../shared/reference/pylon-openapi.json

Keeps the Issues and /me paths and every schema they reach, so tests can check
our models and filter table against the spec without vendoring all 390 KB.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PATHS = (
    "/issues",
    "/issues/search",
    "/issues/{id}",
    "/issues/{id}/snooze",
    "/issues/{id}/followers",
    "/issues/{id}/messages",
    "/issues/{id}/threads",
    "/issues/{id}/note",
    "/issues/{id}/reply",
    "/issues/{id}/external-issues",
    "/me",
)
# The directory endpoints (issue 12) go to their own extract, so each file stays small.
DIRECTORY_PATHS = (
    "/users",
    "/users/{id}",
    "/users/search",
    "/teams",
    "/teams/{id}",
    "/accounts/{id}",
    "/accounts/search",
    "/contacts/{id}",
    "/contacts/search",
    "/issue-statuses",
    "/tags",
    "/custom-fields",
)

# The knowledge endpoints (issue 21): knowledge bases, articles, macros, feature requests.
KNOWLEDGE_PATHS = (
    "/knowledge-bases",
    "/knowledge-bases/{id}/collections",
    "/knowledge-bases/{id}/articles",
    "/knowledge-bases/{id}/articles/{article_id}",
    "/macros",
    "/macros/{id}",
    "/macro-groups",
    "/feature-requests/search",
    "/feature-requests/{id}",
)


def main(source: str) -> None:
    spec = json.loads(Path(source).read_text())
    extract(spec, PATHS, "pylon-issues-openapi.json")
    extract(spec, DIRECTORY_PATHS, "pylon-directory-openapi.json")
    extract(spec, KNOWLEDGE_PATHS, "pylon-knowledge-openapi.json")


def extract(spec: dict, wanted_paths: tuple[str, ...], filename: str) -> None:
    paths = {p: spec["paths"][p] for p in wanted_paths}
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set()
    pending = re.findall(r"#/components/schemas/(\w+)", json.dumps(paths))
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending += re.findall(r"#/components/schemas/(\w+)", json.dumps(schemas[name]))
    out = {
        "info": spec["info"],
        "servers": spec["servers"],
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }
    target = Path(__file__).with_name(filename)
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} ({len(paths)} paths, {len(wanted)} schemas)")


if __name__ == "__main__":
    main(sys.argv[1])
