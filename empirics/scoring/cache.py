"""SQLite answer cache: the resumable store and the audit trail of a scoring run.

One row per *completed* call in ``calls``, keyed by (endpoint, model,
template hash, unit, repeat).  A call is completed when it produced a parsed
answer (``status='ok'``) or exhausted its allowed invalid answers
(``status='invalid'``).  Every failed attempt is logged in ``attempts`` with
its ``outcome``: ``connection_refused``, ``connection_error``, ``timeout``,
``http_NNN``, ``malformed_response`` (a 200 body that is not a chat
completion) or ``invalid_answer`` (a completion whose text breaks the rubric).  Each completed call
is committed on its own; with WAL journalling a killed process loses at most
the calls in flight.  API keys are never passed to this module.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import ScoringError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    template TEXT NOT NULL,
    occupation_code TEXT NOT NULL,
    task_index INTEGER,
    status TEXT NOT NULL CHECK (status IN ('ok', 'invalid')),
    label TEXT,
    value REAL,
    rationale TEXT,
    raw_response TEXT,
    error TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    invalid_answers INTEGER NOT NULL,
    latency_s REAL,
    completed_at REAL NOT NULL,
    PRIMARY KEY (endpoint, model, template_hash, unit_id, repeat)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    detail TEXT,
    raw_response TEXT,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL
);
"""

CallKey = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class CallRecord:
    endpoint: str
    model: str
    template_hash: str
    unit_id: str
    repeat: int
    template: str
    occupation_code: str
    task_index: int | None
    status: str
    label: str | None
    value: float | None
    rationale: str | None
    raw_response: str | None
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    attempts: int
    invalid_answers: int
    latency_s: float | None
    completed_at: float

    @property
    def key(self) -> CallKey:
        return (self.endpoint, self.model, self.template_hash, self.unit_id, self.repeat)


_COLS = tuple(CallRecord.__dataclass_fields__)


class Cache:
    """A scoring cache in one SQLite file (WAL mode)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ScoringError(f"{self.path}: not a usable scoring cache: {exc}") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise ScoringError(f"{self.path}: cache schema {row[0]} is not the supported {SCHEMA_VERSION}")
        self._insert_call = (
            f"INSERT OR IGNORE INTO calls ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"
        )
        self._replace_invalid = (
            f"INSERT INTO calls ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"
            " ON CONFLICT (endpoint, model, template_hash, unit_id, repeat) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _COLS if c not in ("endpoint", "model", "template_hash",
                                                                           "unit_id", "repeat"))
            + " WHERE calls.status = 'invalid'"
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------
    def put(self, rec: CallRecord, *, replace_invalid: bool = False) -> bool:
        """Store a completed call in its own transaction; False if the key was already there.

        With ``replace_invalid`` a stored ``invalid`` row of the same key is replaced
        (``--retry-invalid``); an ``ok`` row never is.
        """
        sql = self._replace_invalid if replace_invalid else self._insert_call
        cur = self._db.execute(sql, tuple(getattr(rec, c) for c in _COLS))
        return cur.rowcount == 1

    def log_attempt(
        self,
        key: CallKey,
        attempt: int,
        outcome: str,
        *,
        http_status: int | None = None,
        detail: str | None = None,
        raw_response: str | None = None,
        total_tokens: int = 0,
    ) -> None:
        self._db.execute(
            "INSERT INTO attempts (endpoint, model, template_hash, unit_id, repeat, attempt, outcome, http_status,"
            " detail, raw_response, total_tokens, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (*key, attempt, outcome, http_status, detail, raw_response, total_tokens, time.time()),
        )

    # -- reads ----------------------------------------------------------------
    def completed_keys(
        self, endpoint: str | None = None, template_hash: str | None = None, status: str | None = None
    ) -> set[CallKey]:
        sql = "SELECT endpoint, model, template_hash, unit_id, repeat FROM calls"
        cond, args = [], []
        if status is not None:
            cond.append("status = ?")
            args.append(status)
        if endpoint is not None:
            cond.append("endpoint = ?")
            args.append(endpoint)
        if template_hash is not None:
            cond.append("template_hash = ?")
            args.append(template_hash)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        return {tuple(r) for r in self._db.execute(sql, args)}  # type: ignore[misc]

    def get(self, key: CallKey) -> CallRecord | None:
        row = self._db.execute(
            f"SELECT {', '.join(_COLS)} FROM calls WHERE endpoint=? AND model=? AND template_hash=?"
            " AND unit_id=? AND repeat=?",
            key,
        ).fetchone()
        return CallRecord(*row) if row else None

    def records(self, template_hashes: Iterable[str] | None = None) -> list[CallRecord]:
        sql = f"SELECT {', '.join(_COLS)} FROM calls"
        args: list[str] = []
        if template_hashes is not None:
            hs = list(template_hashes)
            sql += f" WHERE template_hash IN ({', '.join('?' * len(hs))})"
            args = hs
        sql += " ORDER BY endpoint, model, template_hash, unit_id, repeat"
        return [CallRecord(*r) for r in self._db.execute(sql, args)]

    def failed_attempts(self, since: float = 0.0) -> list[tuple[str, str, int | None, int, str | None]]:
        """Failed attempts logged at or after ``since`` (a ``time.time()``), grouped.

        Rows ``(endpoint, outcome, http_status, count, latest detail)``.
        """
        rows = self._db.execute(
            "SELECT endpoint, outcome, http_status, COUNT(*), MAX(id) FROM attempts WHERE at >= ?"
            " GROUP BY endpoint, outcome, http_status ORDER BY endpoint, outcome, http_status",
            (since,),
        ).fetchall()
        out = []
        for ep, outcome, status, n, last in rows:
            detail = self._db.execute("SELECT detail FROM attempts WHERE id = ?", (last,)).fetchone()[0]
            out.append((ep, outcome, status, n, detail))
        return out

    def count(self, table: str = "calls") -> int:
        if table not in ("calls", "attempts"):
            raise ValueError(table)
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def frame(self, table: str = "calls"):
        """The whole ``calls`` or ``attempts`` table as a pandas DataFrame."""
        import pandas as pd

        if table not in ("calls", "attempts"):
            raise ValueError(f"table must be 'calls' or 'attempts', not {table!r}")
        cur = self._db.execute(f"SELECT * FROM {table}")
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)


def export_cache(cache_path: str | Path, out_dir: str | Path, formats: Iterable[str] = ("parquet", "csv")) -> list[Path]:
    """Write the ``calls`` and ``attempts`` tables to ``out_dir`` as Parquet and/or CSV."""
    cache_path = Path(cache_path)
    if not cache_path.is_file():
        raise ScoringError(f"{cache_path}: no such cache file")
    with open(cache_path, "rb") as f:
        head = f.read(16)
    if head != b"SQLite format 3\x00":
        what = "an empty file" if not head else "not an SQLite database"
        raise ScoringError(f"{cache_path}: {what}, so not a scoring cache (a cache is the SQLite file a scoring run writes)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with Cache(cache_path) as cache:
        for table in ("calls", "attempts"):
            df = cache.frame(table)
            for fmt in formats:
                p = out_dir / f"cache_{table}.{fmt}"
                if fmt == "parquet":
                    df.to_parquet(p, index=False)
                elif fmt == "csv":
                    df.to_csv(p, index=False)
                else:
                    raise ScoringError(f"unknown export format {fmt!r}; use parquet or csv")
                written.append(p)
    return written
