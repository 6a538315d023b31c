"""SQLite persistence (stdlib ``sqlite3``, WAL) so jobs and their finished tasks survive restarts.

What is stored: base tables by content hash, jobs, each job's MSMs (table hash + scalars), tasks
(range, state, attempts, partial result) and quarantined worker ids. Attempts in flight are not
stored: after a restart every unfinished task is simply pending again.
Writes are small and synchronous (WAL, ``synchronous=NORMAL``); heartbeats never touch the store.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Store", "StoreError", "StoredJob", "StoredMsm", "StoredTask"]


class StoreError(RuntimeError):
    """The job store could not be opened, read or written (disk full, I/O error, read-only
    file, not a database). The coordinator keeps serving: the jobs a failed write touches fail
    with this message."""


class _Guarded:
    """A sqlite3 connection whose errors come out as :class:`StoreError` (one line: what
    failed and sqlite's reason)."""

    def __init__(self, db: sqlite3.Connection, where: str) -> None:
        self.db = db
        self._where = where

    def _fail(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"job store {self._where}: {exc}")

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        try:
            return self.db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def executescript(self, sql: str) -> sqlite3.Cursor:
        try:
            return self.db.executescript(sql)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def close(self) -> None:
        self.db.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS base_tables(
    hash TEXT PRIMARY KEY, curve TEXT NOT NULL, grp TEXT NOT NULL, n INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS jobs(
    id TEXT PRIMARY KEY, label TEXT NOT NULL, state TEXT NOT NULL, created REAL NOT NULL,
    finished REAL, error TEXT);
-- msms.result: where stores made before msm_results kept results (read, no longer written)
CREATE TABLE IF NOT EXISTS msms(
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, table_hash TEXT NOT NULL, n INTEGER NOT NULL,
    scalars BLOB NOT NULL, result BLOB, PRIMARY KEY(job_id, idx));
CREATE TABLE IF NOT EXISTS tasks(
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, msm_idx INTEGER NOT NULL, start INTEGER NOT NULL,
    count INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    result BLOB, worker_id TEXT, compute_seconds REAL, w0 INTEGER NOT NULL DEFAULT 0,
    w1 INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tasks_job ON tasks(job_id);
CREATE TABLE IF NOT EXISTS msm_results(
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, result BLOB NOT NULL, PRIMARY KEY(job_id, idx));
CREATE TABLE IF NOT EXISTS quarantine(worker_id TEXT PRIMARY KEY, reason TEXT, at REAL);
"""


@dataclass
class StoredTask:
    """A task row."""

    id: str
    msm_idx: int
    start: int
    count: int
    state: str
    attempts: int
    result: bytes | None
    worker_id: str | None
    compute_seconds: float | None
    w0: int = 0  # a window task's windows [w0, w1) (0, 0: a range of whole scalars)
    w1: int = 0


@dataclass
class StoredMsm:
    """One MSM of a job."""

    idx: int
    table_hash: str
    n: int
    scalars: bytes
    result: bytes | None


@dataclass
class StoredJob:
    """A job with its MSMs and tasks."""

    id: str
    label: str
    state: str
    created: float
    error: str | None
    msms: list[StoredMsm] = field(default_factory=list)
    tasks: list[StoredTask] = field(default_factory=list)
    watched: bool = False


class Store:
    """The coordinator's database. ``path=None`` or ``":memory:"`` keeps it in memory. Every
    failure is a :class:`StoreError`; one at opening names the file."""

    def __init__(self, path: str | Path | None) -> None:
        target = ":memory:" if path is None else str(path)
        self.persistent = path is not None and str(path) != ":memory:"
        if self.persistent and not Path(target).parent.is_dir():
            raise StoreError(f"job store {target}: no directory {Path(target).parent}")
        try:
            db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"job store {target}: cannot open it: {exc}") from exc
        self._db = _Guarded(db, target)
        try:
            # Exclusive locking before WAL: the WAL index lives in this process's heap, not in
            # a memory-mapped -shm file. Touching a page of such a mapping on a full
            # filesystem is SIGBUS, which would kill the coordinator instead of failing a write.
            # The coordinator is the store's only user while it runs (zkedge prune: stopped).
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
            if "watched" not in columns:  # stores made before jobs could belong to a watcher
                self._db.execute("ALTER TABLE jobs ADD COLUMN watched INTEGER NOT NULL DEFAULT 0")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(tasks)")}
            for col in ("w0", "w1"):  # stores made before MSMs were split by windows
                if col not in columns:
                    self._db.execute(
                        f"ALTER TABLE tasks ADD COLUMN {col} INTEGER NOT NULL DEFAULT 0"
                    )
        except StoreError:
            db.close()
            raise

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by sqlite)."""
        self._db.close()

    # base tables
    def put_table(self, table_hash: str, curve: str, group: str, n: int, data: bytes) -> None:
        """Store a base table unless one with this content hash exists (the scheduler calls it
        only for a persistent store: in memory, its own copy is the only one it needs)."""
        self._db.execute(
            "INSERT OR IGNORE INTO base_tables(hash, curve, grp, n, data) VALUES (?,?,?,?,?)",
            (table_hash, curve, group, n, data),
        )

    def get_table(self, table_hash: str) -> tuple[str, str, int, bytes] | None:
        """(curve, group, n, mont bytes) of a stored table, or None."""
        row = self._db.execute(
            "SELECT curve, grp, n, data FROM base_tables WHERE hash = ?", (table_hash,)
        ).fetchone()
        return None if row is None else (row[0], row[1], int(row[2]), bytes(row[3]))

    # jobs
    def add_job(
        self, job_id: str, label: str, msms: list[tuple[str, int, bytes]], watched: bool = False
    ) -> None:
        """Record a new job and its MSMs ``(table_hash, n, scalars)`` in one transaction
        (``watched``: it belongs to its watchers, see ``zkedge.fleet.coordinator.model.Job``).
        In memory the scalars are not copied: they serve only recovery, which a store that
        ends with its process never does, and the copy holds the event loop before the
        job's first task goes out."""
        if not self.persistent:
            msms = [(h, n, b"") for h, n, _ in msms]
        with self._tx():
            self._db.execute(
                "INSERT INTO jobs(id, label, state, created, watched) VALUES (?,?,?,?,?)",
                (job_id, label, "running", time.time(), int(watched)),
            )
            self._db.executemany(
                "INSERT INTO msms(job_id, idx, table_hash, n, scalars) VALUES (?,?,?,?,?)",
                [(job_id, i, h, n, s) for i, (h, n, s) in enumerate(msms)],
            )

    def finish_job(
        self, job_id: str, state: str, results: list[bytes] | None, error: str | None
    ) -> None:
        """Mark a job done (with per-MSM results) or failed."""
        with self._tx():
            self._db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?",
                (state, time.time(), error, job_id),
            )
            # A table of their own: updating msms.result would rewrite each row's scalars
            # (megabytes per MSM), and reading it walk their overflow pages.
            self._db.executemany(
                "INSERT OR REPLACE INTO msm_results(job_id, idx, result) VALUES (?,?,?)",
                [(job_id, i, r) for i, r in enumerate(results or [])],
            )

    def drop_scalars(self, job_id: str) -> None:
        """Forget a finished job's scalars (its results, tasks and partial sums stay); the freed
        pages are reused, so a long-running coordinator's store stops growing by them."""
        self._db.execute("UPDATE msms SET scalars = x'' WHERE job_id = ?", (job_id,))

    def prune(self, keep_jobs: int, tables: bool = False) -> tuple[int, int]:
        """Delete the finished and failed jobs beyond the ``keep_jobs`` most recently finished,
        with their MSMs, tasks and results; running jobs stay. With ``tables``, also delete the
        base tables that no job left in the store names. Returns (jobs, tables) deleted.

        A coordinator using this store may be running: it reads a job it no longer finds as
        unknown. A table it keeps only in memory (`add_table` with no job yet, or beyond
        ``table_memory``) would be lost from the store, so prune ``tables`` with it stopped."""
        if keep_jobs < 0:
            raise ValueError("keep_jobs must be >= 0")
        with self._tx():
            ids = [
                (r[0],)
                for r in self._db.execute(
                    "SELECT id FROM jobs WHERE state IN ('done', 'failed', 'cancelled')"
                    " ORDER BY finished DESC, created DESC LIMIT -1 OFFSET ?",
                    (keep_jobs,),
                )
            ]
            for sql in (
                "DELETE FROM tasks WHERE job_id = ?",
                "DELETE FROM msm_results WHERE job_id = ?",
                "DELETE FROM msms WHERE job_id = ?",
                "DELETE FROM jobs WHERE id = ?",
            ):
                self._db.executemany(sql, ids)
            n_tables = 0
            if tables:
                cur = self._db.execute(
                    "DELETE FROM base_tables WHERE hash NOT IN (SELECT table_hash FROM msms)"
                )
                n_tables = max(0, cur.rowcount)
        return len(ids), n_tables

    def vacuum(self) -> None:
        """Give freed pages back to the file system (rewrites the file; needs it to itself)."""
        self._db.execute("VACUUM")

    def add_task(
        self,
        task_id: str,
        job_id: str,
        msm_idx: int,
        start: int,
        count: int,
        windows: tuple[int, int] = (0, 0),
    ) -> None:
        """Record a newly carved task (state ``pending``); ``windows``: a window task's
        windows of its MSM's plan. A task of the same id (a window task of before a restart,
        which recovery leaves out) is replaced."""
        self._db.execute(
            "INSERT OR REPLACE INTO tasks(id, job_id, msm_idx, start, count, state, w0, w1)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (task_id, job_id, msm_idx, start, count, "pending", windows[0], windows[1]),
        )

    def task_attempts(self, task_id: str, attempts: int) -> None:
        """Persist the attempt counter (so retry limits hold across restarts)."""
        self._db.execute("UPDATE tasks SET attempts = ? WHERE id = ?", (attempts, task_id))

    def task_done(
        self, task_id: str, result: bytes, worker_id: str, compute_seconds: float
    ) -> None:
        """Persist a task's accepted partial result."""
        self._db.execute(
            "UPDATE tasks SET state = 'done', result = ?, worker_id = ?, compute_seconds = ?"
            " WHERE id = ?",
            (result, worker_id, compute_seconds, task_id),
        )

    def unfinished_jobs(self) -> list[StoredJob]:
        """Jobs still running, with their MSMs and tasks (for recovery after a restart)."""
        jobs = []
        for jid, label, state, created, error, watched in self._db.execute(
            "SELECT id, label, state, created, error, watched FROM jobs WHERE state = 'running'"
            " ORDER BY created"
        ).fetchall():
            job = StoredJob(jid, label, state, created, error, watched=bool(watched))
            for idx, h, n, scalars, result in self._db.execute(
                "SELECT m.idx, m.table_hash, m.n, m.scalars, COALESCE(r.result, m.result)"
                " FROM msms m LEFT JOIN msm_results r ON r.job_id = m.job_id AND r.idx = m.idx"
                " WHERE m.job_id = ? ORDER BY m.idx",
                (jid,),
            ):
                job.msms.append(
                    StoredMsm(idx, h, int(n), bytes(scalars), None if result is None else result)
                )
            for row in self._db.execute(
                "SELECT id, msm_idx, start, count, state, attempts, result, worker_id,"
                " compute_seconds, w0, w1 FROM tasks WHERE job_id = ? ORDER BY msm_idx, start",
                (jid,),
            ):
                job.tasks.append(StoredTask(*row))
            jobs.append(job)
        return jobs

    def job_row(self, job_id: str) -> tuple[str, str | None, list[bytes | None]] | None:
        """(state, error, per-MSM results) of any stored job."""
        row = self._db.execute("SELECT state, error FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        results = [
            r[0]
            for r in self._db.execute(
                "SELECT COALESCE(r.result, m.result) FROM msms m LEFT JOIN msm_results r"
                " ON r.job_id = m.job_id AND r.idx = m.idx WHERE m.job_id = ? ORDER BY m.idx",
                (job_id,),
            )
        ]
        return row[0], row[1], results

    # quarantine
    def quarantine(self, worker_id: str, reason: str) -> None:
        """Remember a quarantined worker id."""
        self._db.execute(
            "INSERT OR REPLACE INTO quarantine(worker_id, reason, at) VALUES (?,?,?)",
            (worker_id, reason, time.time()),
        )

    def unquarantine(self, worker_id: str) -> None:
        """Forget a quarantine."""
        self._db.execute("DELETE FROM quarantine WHERE worker_id = ?", (worker_id,))

    def quarantined(self) -> dict[str, str]:
        """worker id -> reason."""
        return {w: r for w, r in self._db.execute("SELECT worker_id, reason FROM quarantine")}

    def _tx(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    """BEGIN/COMMIT (ROLLBACK on error) around a block, for an autocommit connection."""

    def __init__(self, db: _Guarded) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except StoreError:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self._db.db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except StoreError:
                pass  # the connection reports the error on its next statement
