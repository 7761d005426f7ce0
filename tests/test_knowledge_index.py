"""The index engine and the sync's pace, below the tools: FTS5 queries, the file, rate limits."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylon_mcp.config import Settings
from pylon_mcp.knowledge.documents import Document
from pylon_mcp.knowledge.index import SqliteIndex
from pylon_mcp.knowledge.query import fts_query
from pylon_mcp.knowledge.service import Knowledge, index_path
from pylon_mcp.knowledge.sync import Pacer, Progress, Syncer
from pylon_mcp.pylon.auth import Secret
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.gate import PUBLISHED_LIMITS
from pylon_mcp.sandbox import Sandbox
from tests.conftest import TOKEN

DOCS = [
    Document(
        "article", "a1", "Fix a sign-in loop", "People are sent back to the login page after SSO changes", {}
    ),
    Document("article", "a2", "Exports", "Scheduled exports for large CSV files", {}),
    Document("macro", "m1", "Thanks", "Thanks for your patience", {"text_type": "reply"}),
]


@pytest.fixture(scope="module")
def index() -> SqliteIndex:
    built = SqliteIndex(None)
    built.upsert(DOCS, 1)
    return built


SYNTAX = ['"', "*", "NEAR", "-", ":", "(", ")", "AND", "OR", "NOT", "^", "{", "}", "+", "login", " "]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200) | st.lists(st.sampled_from(SYNTAX)).map("".join))
def test_no_words_people_type_make_fts5_raise(index: SqliteIndex, query: str) -> None:
    index.search(query, ["article", "macro"], 5)


def test_stemming_and_ranking(index: SqliteIndex) -> None:
    assert [h.document.id for h in index.search("exporting a csv", ["article"], 5)] == ["a2"]
    assert [h.document.id for h in index.search("logins loop", ["article", "macro"], 5)] == ["a1"]
    assert index.search("patience", ["article"], 5) == []  # kinds filter
    assert fts_query("the and of") is None  # only stopwords: nothing to search, no error


def test_a_changed_document_replaces_the_old_text_and_a_sweep_drops_the_unseen() -> None:
    built = SqliteIndex(None)
    built.upsert(DOCS, 1)
    assert built.upsert([Document("article", "a1", "Fix a sign-in loop", "new words here", {})], 2) == [
        "article:a1"
    ]
    assert built.upsert([DOCS[1]], 2) == []  # unchanged: not rewritten, only marked seen
    assert built.search("login", ["article"], 5) == []
    assert built.search("words", ["article"], 5)[0].document.id == "a1"
    assert built.sweep("article", 2) == []
    assert built.sweep("macro", 2) == ["macro:m1"] and built.counts() == {"article": 2}


def test_the_file_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "knowledge-x.sqlite3"
    first = SqliteIndex(path)
    first.upsert(DOCS, 1)
    first.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SqliteIndex(path).counts() == {"article": 2, "macro": 1}


@pytest.mark.parametrize("damage", [b"not a database at all" * 50, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_file_is_rebuilt_never_a_crash(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "knowledge-x.sqlite3"
    path.write_bytes(damage)
    rebuilt = SqliteIndex(path)
    assert rebuilt.where == str(path) and rebuilt.counts() == {}
    rebuilt.upsert(DOCS, 1)
    assert rebuilt.search("csv", ["article"], 5)[0].document.id == "a2"


def test_an_unwritable_place_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    fallback = SqliteIndex(blocker / "knowledge-x.sqlite3")
    assert fallback.where == "memory" and fallback.problem and "kept in memory" in fallback.problem
    fallback.upsert(DOCS, 1)
    assert fallback.counts()["article"] == 2


def test_one_file_per_organisation_in_the_cache_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYLON_MCP_CACHE_DIR", str(tmp_path))
    one = index_path(Settings(api_token=Secret("pylon_api_one_0123456789")))
    other = index_path(Settings(api_token=Secret("pylon_api_two_0123456789")))
    assert one.parent == other.parent == tmp_path and one != other
    assert "0123456789" not in one.name


@pytest.mark.anyio
async def test_the_pacer_keeps_each_endpoint_at_half_its_limit() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    route = "GET /knowledge-bases/{id}/articles"
    for _ in range(25):
        await pacer.slot(route)
    assert PUBLISHED_LIMITS[route] == 20 and pacer.allowance(route) == 10
    assert waits == [60.0, 60.0] and now[0] == 120.0  # 10 now, 10 a minute later, 5 the minute after


@pytest.mark.anyio
async def test_a_429_pauses_the_sync_for_retry_after_then_it_goes_on(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    sandbox.add_fault(endpoint="GET /macros", status=429, retry_after="45", times=1)
    now = [0.0]
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:  # moves the clock the client's rate gate reads
        pauses.append(seconds)
        now[0] += seconds

    index = SqliteIndex(None)
    progress = Progress()
    async with PylonClient(
        TOKEN, base_url=sandbox_url, timeout=5, clock=lambda: now[0], sleep=sleep
    ) as pylon:
        syncer = Syncer(pylon, index, lookback_days=90, pacer=Pacer(clock=lambda: now[0], sleep=sleep),
                        progress=progress, sleep=sleep)  # fmt: skip
        await syncer.cycle()
    assert pauses == [45.0]
    assert len(sandbox.requests("GET /macros")) == 2  # refused once, then asked again after the pause
    assert index.counts()["macro"] == 9 and index.counts()["article"] > 40


@pytest.mark.anyio
async def test_a_full_build_stays_within_half_of_every_limit(sandbox_url: str, sandbox: Sandbox) -> None:
    async with PylonClient(TOKEN, base_url=sandbox_url, timeout=5) as pylon:
        knowledge = Knowledge(
            pylon, Settings(api_token=Secret(TOKEN), api_url=sandbox_url, knowledge_index="memory")
        )
        knowledge.start()
        await knowledge.synced(1)
        await knowledge.aclose()
    for endpoint in {r.endpoint for r in sandbox.requests()}:
        assert endpoint is not None
        assert len(sandbox.requests(endpoint)) <= PUBLISHED_LIMITS[endpoint] // 2, endpoint
    assert knowledge.progress.state == "ready" and knowledge.progress.counts["issue"] > 0
