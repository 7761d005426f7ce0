"""The full-text index behind a small interface: SQLite FTS5 (standard library), BM25, Porter stemming.

Why FTS5: it ships with Python, ranks with BM25, stems English with the `porter`
tokenizer over `unicode61` (diacritics folded), and answers in milliseconds at 60k
documents (benchmarks/knowledge.py). One file per organisation, readable only by the
user (0600), or in memory. A file that is corrupt, from another schema version, or
unwritable is replaced (or the index falls back to memory), never a crash.

Calls block (SQLite is synchronous): async callers run them in a worker thread. One
lock serialises them, so one connection serves every thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pylon_mcp.knowledge.documents import Document
from pylon_mcp.knowledge.query import snippet, terms

log = logging.getLogger("pylon_mcp.knowledge")

SCHEMA_VERSION = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT NOT NULL,
    digest TEXT NOT NULL,
    generation INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_kind ON docs (kind, generation);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, body, kind, content='docs', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2'
);
"""
TITLE_WEIGHT = 2.0  # a match in the title counts twice a match in the body
_ALL_KINDS = ("article", "macro", "issue", "feature_request")
COMMON = 2000  # rows: a word in more is common enough that it alone does not make a row a candidate
_COUNT_SQL = "SELECT count(*) FROM (SELECT 1 FROM fts WHERE fts MATCH ? LIMIT ?)"
T = TypeVar("T")


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float  # higher is better (negated BM25)
    snippet: str


class KnowledgeIndex(Protocol):
    """What the knowledge room needs from an index engine."""

    where: str  # "memory" or the file path, for status lines

    def upsert(self, documents: Iterable[Document], generation: int) -> list[str]:
        """Add or replace documents; returns the keys whose content changed."""
        ...

    def touch(self, keys: Sequence[str], generation: int) -> None:
        """Mark unchanged documents as seen in this generation (so a sweep keeps them)."""
        ...

    def delete(self, keys: Sequence[str]) -> list[str]: ...

    def sweep(self, kind: str, generation: int) -> list[str]:
        """Delete documents of `kind` not seen since `generation`; returns their keys."""
        ...

    def search(self, query: str, kinds: Sequence[str], limit: int) -> list[Hit]: ...

    def get(self, key: str) -> Document | None: ...

    def sources(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> the source digest a document was built from (meta "source"), for those that have one."""
        ...

    def digests(self, kind: str) -> dict[str, str]: ...

    def counts(self) -> dict[str, int]: ...

    def documents(self, keys: Sequence[str]) -> list[Document]: ...

    def older(self, kind: str, field: str, cutoff: str) -> list[str]:
        """Delete documents of `kind` whose meta `field` (an RFC3339 time) is before `cutoff`."""
        ...

    def meta(self, name: str) -> str | None: ...

    def set_meta(self, name: str, value: str) -> None: ...

    def close(self) -> None: ...


class SqliteIndex:
    """FTS5 over an external-content table: the text lives once, in `docs`."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self.problem: str | None = None  # why the file could not be used, for the status line
        self.path = path
        self._db = self._open(path)
        self.where = str(path) if self.path is not None else "memory"

    # --- opening ---------------------------------------------------------------

    def _open(self, path: Path | None) -> sqlite3.Connection:
        if path is None:
            return self._connect(":memory:")
        try:
            return self._open_file(path)
        except (sqlite3.DatabaseError, OSError) as exc:
            # Corrupt, not a database, or from another version: start again from an empty file.
            log.warning("knowledge index %s unusable (%s); rebuilding it", path, exc)
            with contextlib.suppress(OSError):
                self._remove(path)
            try:
                return self._open_file(path)
            except (sqlite3.DatabaseError, OSError) as again:
                self.problem = (
                    f"the index file {path} cannot be written ({type(again).__name__}); kept in memory"
                )
                log.warning("%s", self.problem)
                self.path = None
                return self._connect(":memory:")

    def _open_file(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created 0600 before SQLite opens it: the file holds the organisation's content.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        db = self._connect(str(path))
        try:
            version = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema {version[0] if version else 'missing'}")
            db.execute("SELECT count(*) FROM docs").fetchone()
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
        except sqlite3.DatabaseError as exc:
            fresh = "no such table: meta" in str(exc)
            if not fresh:
                db.close()
                raise
        db.execute("BEGIN IMMEDIATE")  # fails at once on a read-only file, before we rely on it
        db.execute("COMMIT")
        return db

    def _connect(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=10)
        db.executescript(_SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        return db

    @staticmethod
    def _remove(path: Path) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def _run(self, work: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Run `work` under the lock; a database that broke underneath us is rebuilt, empty."""
        with self._lock:
            try:
                return work(self._db)
            except sqlite3.OperationalError as exc:
                if "fts5: syntax error" in str(exc) or "no such column" in str(exc):
                    raise
                self._recover(exc)
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
            return default

    def _recover(self, exc: Exception) -> None:
        log.warning("knowledge index failed (%s); starting an empty one", exc)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self._remove(self.path)
        self._db = self._open(self.path)
        self.where = str(self.path) if self.path is not None else "memory"

    # --- writing ------------------------------------------------------------------

    def upsert(self, documents: Iterable[Document], generation: int) -> list[str]:
        docs = list(documents)

        def work(db: sqlite3.Connection) -> list[str]:
            changed: list[str] = []
            db.execute("BEGIN")
            try:
                for doc in docs:
                    digest = doc.digest()
                    row = db.execute("SELECT rowid, digest FROM docs WHERE key = ?", (doc.key,)).fetchone()
                    if row is not None and row[1] == digest:
                        db.execute("UPDATE docs SET generation = ? WHERE rowid = ?", (generation, row[0]))
                        continue
                    if row is not None:
                        _remove_row(db, row[0])
                    cursor = db.execute(
                        "INSERT INTO docs (key, kind, id, title, body, meta, digest, generation) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (doc.key, doc.kind, doc.id, doc.title, doc.body,
                         json.dumps(doc.meta, ensure_ascii=False), digest, generation),
                    )  # fmt: skip
                    db.execute(
                        "INSERT INTO fts (rowid, title, body, kind) VALUES (?, ?, ?, ?)",
                        (cursor.lastrowid, doc.title, doc.body, doc.kind),
                    )
                    changed.append(doc.key)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return changed

        return self._run(work, [])

    def touch(self, keys: Sequence[str], generation: int) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.executemany("UPDATE docs SET generation = ? WHERE key = ?", [(generation, k) for k in keys])

        self._run(work, None)

    def delete(self, keys: Sequence[str]) -> list[str]:
        def work(db: sqlite3.Connection) -> list[str]:
            gone: list[str] = []
            db.execute("BEGIN")
            for key in keys:
                row = db.execute("SELECT rowid FROM docs WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    _remove_row(db, row[0])
                    gone.append(key)
            db.execute("COMMIT")
            return gone

        return self._run(work, [])

    def sweep(self, kind: str, generation: int) -> list[str]:
        def work(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT key FROM docs WHERE kind = ? AND generation < ?", (kind, generation))
            return [row[0] for row in rows]

        return self.delete(self._run(work, []))

    def older(self, kind: str, field: str, cutoff: str) -> list[str]:
        """Delete documents of `kind` whose meta `field` (an RFC3339 time) is before `cutoff`."""

        def work(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT key FROM docs WHERE kind = ? AND json_extract(meta, ?) < ?",
                (kind, f"$.{field}", cutoff),
            )
            return [row[0] for row in rows]

        return self.delete(self._run(work, []))

    def meta(self, name: str) -> str | None:
        row = self._run(
            lambda db: db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone(), None
        )
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value)), None)

    # --- reading ------------------------------------------------------------------

    def search(self, query: str, kinds: Sequence[str], limit: int) -> list[Hit]:
        words = terms(query)
        if not words or not kinds:
            return []
        kind_filter = ""
        if set(kinds) != set(_ALL_KINDS):
            kind_filter = f" AND kind : ({' OR '.join(_phrase(k) for k in kinds)})"
        rank_sql = (
            "SELECT rowid, bm25(fts, ?, 1.0, 0.0) AS score FROM fts WHERE fts MATCH ? ORDER BY score LIMIT ?"
        )

        def work(db: sqlite3.Connection) -> list[Hit]:
            ranked: list[Any] = []
            for match in _matches(db, words):
                ranked = db.execute(rank_sql, (TITLE_WEIGHT, match + kind_filter, limit)).fetchall()
                if ranked:
                    break
            if not ranked:
                return []
            rows = db.execute(
                "SELECT rowid, kind, id, title, body, meta FROM docs WHERE rowid IN (SELECT value FROM json_each(?))",
                (json.dumps([rowid for rowid, _ in ranked]),),
            ).fetchall()
            by_rowid = {row[0]: row[1:] for row in rows}
            return [
                Hit(_doc(by_rowid[rowid]), -float(score), snippet(by_rowid[rowid][3], words))
                for rowid, score in ranked
                if rowid in by_rowid
            ]

        return self._run(work, [])

    def get(self, key: str) -> Document | None:
        found = self.documents([key])
        return found[0] if found else None

    def documents(self, keys: Sequence[str]) -> list[Document]:
        def work(db: sqlite3.Connection) -> list[Document]:
            out: list[Document] = []
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT kind, id, title, body, meta FROM docs WHERE key IN ({marks})"  # noqa: S608 - ?s only
                rows = db.execute(sql, chunk)
                out.extend(_doc(row) for row in rows)
            return out

        return self._run(work, [])

    def sources(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> the source digest a document was built from (meta "source"), for those that have one."""

        def work(db: sqlite3.Connection) -> dict[str, str]:
            rows = db.execute(
                "SELECT key, json_extract(meta, '$.source') FROM docs WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(list(keys)),),
            )
            return {key: source for key, source in rows if source}

        return self._run(work, {})

    def digests(self, kind: str) -> dict[str, str]:
        return self._run(
            lambda db: dict(db.execute("SELECT key, digest FROM docs WHERE kind = ?", (kind,)).fetchall()), {}
        )

    def counts(self) -> dict[str, int]:
        return self._run(
            lambda db: dict(db.execute("SELECT kind, count(*) FROM docs GROUP BY kind").fetchall()), {}
        )

    def size_bytes(self) -> int:
        """Pages in use, whether on disk or in memory."""

        def work(db: sqlite3.Connection) -> int:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(db.execute("PRAGMA page_size").fetchone()[0])

        return self._run(work, 0)

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()


def _matches(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """MATCH expressions to try in turn, so that ranking stays fast at any size.

    BM25 is computed for every row that matches, and a word found in most documents ("user",
    "account") makes nearly every row match. So candidates come from the rarer words (found in
    fewer than COMMON rows; counting stops there), while every word still counts in the score:
    `{rare OR …} AND {all OR …}`. A query of only common words asks for rows holding its two
    rarest words together, then either of them.
    """
    counts = {}
    for word in words:
        found = db.execute(_COUNT_SQL, (f"{{title body}} : {_phrase(word)}", COMMON)).fetchone()[0]
        if found:
            counts[word] = found
    if not counts:
        return []
    every = f"{{title body}} : ({' OR '.join(_phrase(w) for w in counts)})"
    rare = [w for w, n in counts.items() if n < COMMON]
    if len(rare) == len(counts):
        return [every]
    if rare:
        return [f"{{title body}} : ({' OR '.join(_phrase(w) for w in rare)}) AND {every}"]
    rarest = sorted(counts, key=lambda w: counts[w])[:2]
    both = f"{{title body}} : ({' AND '.join(_phrase(w) for w in rarest)})"
    return [both, f"{{title body}} : ({' OR '.join(_phrase(w) for w in rarest)})"]


def _phrase(word: str) -> str:
    """One FTS5 string: a double quote inside is doubled, so nothing a person types is syntax."""
    return '"' + word.replace('"', '""') + '"'


def _remove_row(db: sqlite3.Connection, rowid: int) -> None:
    # An external-content FTS5 table forgets a row by being told its old values.
    db.execute(
        "INSERT INTO fts (fts, rowid, title, body, kind) SELECT 'delete', rowid, title, body, kind "
        "FROM docs WHERE rowid = ?",
        (rowid,),
    )
    db.execute("DELETE FROM docs WHERE rowid = ?", (rowid,))


def _doc(row: Any) -> Document:
    return Document(kind=row[0], id=row[1], title=row[2], body=row[3], meta=json.loads(row[4]))


def open_index(path: Path | None) -> SqliteIndex:
    return SqliteIndex(path)
