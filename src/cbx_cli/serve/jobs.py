"""Queued jobs (`/v2`, and the hosted APIs' queues): kept in SQLite (WAL) in the server's data folder with their
outputs, so nothing is lost.

A job is QUEUED, then PROCESSING, then COMPLETED or FAILED; a QUEUED or PROCESSING one can be CANCELLED (a running
one stops at its next batch boundary). Worker threads take the oldest queued job; every take goes into the take cache
as its batch finishes, so a server killed mid-job and started again puts the job back in the queue and renders only
the chunks still missing, giving the same bytes. On shutdown the workers stop after the batch they are running and
leave their jobs queued. Each change of a job's status is reported to ``on_change`` (the server queues the job's
webhooks there, `serve/webhooks.py`); a worker never waits for a receiver.

A database that cannot be opened, that went missing or lost its table (a marker file beside it says the folder had
one), or that was deleted or replaced while the server ran takes no new job: `StorageError`, which the server
answers with a 503.

sqlite3 from the standard library: one small table needs nothing more.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbx_cli.errors import CbxError

log = logging.getLogger(__name__)

ID_RE = re.compile(r"[0-9a-f]{32}")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
LIVE = ("QUEUED", "PROCESSING")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, key_id TEXT NOT NULL, status TEXT NOT NULL, request TEXT NOT NULL, reference TEXT,
    created REAL NOT NULL, started REAL, finished REAL, chunks_total INTEGER NOT NULL DEFAULT 0,
    chunks_done INTEGER NOT NULL DEFAULT 0, error TEXT, output TEXT, metrics TEXT, webhook TEXT,
    webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created);
"""
ADDED_COLUMNS = {
    "api": "TEXT NOT NULL DEFAULT 'cbx'",
    "webhook_mode": "TEXT",
    "base_url": "TEXT",
    "internal": "INTEGER NOT NULL DEFAULT 0",
}
"""Columns later versions added: the API a job came in by (its answers' shape), how its webhook is called, the
server's address as the client saw it (for absolute URLs in webhooks), whether it failed on the server's side."""


class StorageError(CbxError):
    """The data folder or its job database cannot take new work (missing, unwritable, unreadable); the server answers
    503 until it can."""


class Stopping(Exception):
    """Raised from a job's progress report when the server shuts down: the job goes back to the queue."""


class Cancelled(Exception):
    """Raised from a job's progress report when the job was cancelled: the worker leaves it."""


class JobStore:
    """The jobs table. One connection, used under a lock by the routes' and the workers' threads.

    ``problem`` says why it takes no new job (None: it does); `add` raises `StorageError` with it."""

    def __init__(self, path: Path):
        self.path = path
        self.marker = path.with_suffix(".created")
        """Written beside a database once it exists: a folder with the marker and no database lost its jobs."""
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self.problem: str | None = None
        try:
            self._open()
        except StorageError as exc:
            self.problem = exc.message
            log.error("%s", exc.message)

    def _open(self) -> None:
        if not self.path.exists() and self.marker.exists():
            raise StorageError(f"The job database '{self.path}' is missing, though this data folder had one: its jobs "
                               f"are lost unless it is restored. Restore it, or delete {self.marker.name} beside it "
                               "to start an empty one; new jobs are refused until then.")
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            if self.marker.exists() and not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone():
                db.close()
                raise StorageError(f"The job database '{self.path}' holds no jobs table, though this data folder had "
                                   "one (emptied or replaced): its jobs are lost unless it is restored. Restore it, "
                                   f"or delete it and {self.marker.name} beside it to start an empty one; new jobs "
                                   "are refused until then.")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for name, kind in ADDED_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
        except sqlite3.Error as exc:
            raise StorageError(f"The job database '{self.path}' cannot be opened ({exc}): new jobs are refused. Check "
                               "that the data folder and the database are writable, then restart.") from None
        self._db = db
        self._file = _identity(self.path)
        if not self.marker.exists():
            from cbx_cli.files import write_bytes_atomic

            try:
                write_bytes_atomic(self.marker, MARKER_TEXT.encode())
            except (OSError, CbxError) as exc:
                log.warning("cannot write %s: %s", self.marker, getattr(exc, "message", exc))

    def check(self) -> None:
        """`StorageError` unless the database takes new jobs: opened, and still the file at its path."""
        if self.problem is None and _identity(self.path) != self._file:
            self.problem = (f"The job database '{self.path}' was deleted or replaced while the server ran: new jobs "
                            "are refused (they would be lost at the next start). Restore it and restart the server.")
            log.error("%s", self.problem)
        if self.problem is not None:
            raise StorageError(self.problem)

    def _run(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._execute(sql, args).fetchall()

    def _execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        """``sql`` on the database (the caller holds the lock); `StorageError` when it has none or it fails."""
        if self._db is None:
            raise StorageError(self.problem or "The job database is not open.")
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StorageError(f"The job database '{self.path}' failed ({exc}). Check that the data folder and the "
                               "database are writable.") from None

    def add(self, key_id: str, request: dict, reference: str | None, webhook: str | None, *, api: str = "cbx",
            webhook_mode: str | None = None, base_url: str | None = None, chunks: int = 0) -> str:
        self.check()
        job_id = uuid.uuid4().hex
        self._run("INSERT INTO jobs (id, key_id, status, request, reference, created, webhook, api, webhook_mode, "
                  "base_url, chunks_total) VALUES (?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?, ?)",
                  (job_id, key_id, json.dumps(request), reference, time.time(), webhook, api, webhook_mode, base_url,
                   chunks))
        return job_id

    def get(self, job_id: str) -> sqlite3.Row | None:
        if not ID_RE.fullmatch(job_id):
            return None
        rows = self._run("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return rows[0] if rows else None

    def claim(self) -> sqlite3.Row | None:
        """The oldest queued job, now PROCESSING; None if none is queued (or there is no database)."""
        if self._db is None:
            return None
        with self._lock:
            row = self._execute("SELECT id FROM jobs WHERE status = 'QUEUED' ORDER BY created LIMIT 1").fetchone()
            if row is None:
                return None
            self._execute("UPDATE jobs SET status = 'PROCESSING', started = ? WHERE id = ?", (time.time(), row[0]))
            return self._execute("SELECT * FROM jobs WHERE id = ?", (row[0],)).fetchone()

    def update(self, job_id: str, **values: Any) -> None:
        names = ", ".join(f"{name} = ?" for name in values)
        self._run(f"UPDATE jobs SET {names} WHERE id = ?", (*values.values(), job_id))

    def leave(self, job_id: str, **values: Any) -> bool:
        """Set ``values`` on a PROCESSING job (its worker is done with it); False when it is PROCESSING no more (it
        was cancelled meanwhile), and then nothing changes."""
        names = ", ".join(f"{name} = ?" for name in values)
        with self._lock:
            cursor = self._execute(f"UPDATE jobs SET {names} WHERE id = ? AND status = 'PROCESSING'",
                                   (*values.values(), job_id))
            return cursor.rowcount > 0

    def state(self, job_id: str) -> str | None:
        rows = self._run("SELECT status FROM jobs WHERE id = ?", (job_id,))
        return rows[0][0] if rows else None

    def cancel(self, job_id: str) -> bool:
        """Mark a QUEUED or PROCESSING job CANCELLED (a worker running it stops at its next batch boundary); False
        when it had ended."""
        with self._lock:
            cursor = self._execute("UPDATE jobs SET status = 'CANCELLED', finished = ? WHERE id = ? AND status IN "
                                   "('QUEUED', 'PROCESSING')", (time.time(), job_id))
            return cursor.rowcount > 0

    def requeue_running(self) -> list[str]:
        """Jobs a stopped server left PROCESSING go back to the queue (their finished takes are in the cache); their
        ids."""
        if self._db is None:
            return []
        with self._lock:
            ids = [r[0] for r in self._execute("SELECT id FROM jobs WHERE status = 'PROCESSING'")]
            self._execute("UPDATE jobs SET status = 'QUEUED' WHERE status = 'PROCESSING'")
            return ids

    def undelivered(self, attempts: int) -> list[sqlite3.Row]:
        """Ended jobs whose webhook was neither delivered nor tried ``attempts`` times (a server stopped first)."""
        if self._db is None:
            return []
        return self._run("SELECT * FROM jobs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND webhook IS NOT "
                         "NULL AND webhook_delivered = 0 AND webhook_attempts < ?", (attempts,))

    def count(self, status: str, key_id: str | None = None) -> int:
        if key_id is None:
            return self._run("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,))[0][0]
        return self._run("SELECT COUNT(*) FROM jobs WHERE status = ? AND key_id = ?", (status, key_id))[0][0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()


MARKER_TEXT = ("This data folder's job database (jobs.sqlite3) exists. If it goes missing, cbx serve refuses new jobs "
               "rather than start an empty one; delete this file to start with an empty queue.\n")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def status(row: sqlite3.Row, base_url: str = "") -> dict[str, Any]:
    """What `GET /v2/requests/{id}` answers."""
    done = row["status"] == "COMPLETED"
    body: dict[str, Any] = {
        "request_id": row["id"],
        "status": row["status"],
        "progress": {"chunks_done": row["chunks_done"], "chunks_total": row["chunks_total"]},
        "output_url": f"{base_url}/v2/requests/{row['id']}/audio" if done else None,
        "metrics": json.loads(row["metrics"]) if row["metrics"] else None,
        "error": row["error"],
        "created_at": row["created"],
    }
    if row["webhook"]:
        body["webhook"] = {"attempts": row["webhook_attempts"], "delivered": bool(row["webhook_delivered"])}
    return body


def webhook_secret(data_dir: Path) -> bytes:
    """The secret webhooks and media addresses are signed with: kept in the data folder (readable by the server's
    user only), made on first start. A folder that cannot keep it gets one for this run only (one log line)."""
    path = data_dir / "webhook-secret"
    try:
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32) + "\n")
        return path.read_text(encoding="utf-8").strip().encode()
    except (OSError, UnicodeDecodeError) as exc:
        log.error("cannot keep the webhook secret in %s (%s): this run signs with one of its own",
                  path, getattr(exc, "strerror", None) or exc)
        return secrets.token_hex(32).encode()


@dataclass
class Outcome:
    """What running one job gave: the output's file name and the job's metrics."""

    output: str
    metrics: dict[str, Any]


Runner = Callable[[sqlite3.Row, Callable[[int, int], None]], Outcome]
"""Narrates one claimed job, reporting (chunks done, chunks total) as batches finish."""


Changed = Callable[[str], None]
"""Told the id of a job whose status just changed (the server sends its webhooks)."""


class Workers:
    """Threads that take queued jobs one at a time each, run them, record the outcome and report every change."""

    def __init__(self, store: JobStore, run: Runner, count: int, on_change: Changed | None = None,
                 discard: Callable[[str], None] | None = None):
        self.store = store
        self.run = run
        self.count = count
        self.on_change = on_change
        self.discard = discard
        """Deletes the output a job cancelled at its very end had written."""
        self.stopping = False
        self._told: str | None = None
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.running = 0

    def start(self) -> None:
        try:
            requeued = self.store.requeue_running()
        except StorageError as exc:
            log.error("%s", exc.message)
            requeued = []
        if requeued:
            log.warning("%d job(s) left running by the last server are queued again", len(requeued))
        for job_id in requeued:
            self._changed(job_id)
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"cbx-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 300.0) -> None:
        """Let running jobs finish their current batch, then go back to the queue; queued ones stay queued."""
        self.stopping = True
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping:
            try:
                row = self.store.claim()
            except StorageError as exc:  # the queue waits for the database; told once
                row = None
                if exc.message != self._told:
                    log.error("the job workers wait: %s", exc.message)
                    self._told = exc.message
            if row is None:
                with self._wake:
                    self._wake.wait(timeout=1.0)
                continue
            self.running += 1
            try:
                self._changed(row["id"])
                self._work(row)
            except StorageError as exc:
                log.error("job %s: %s", row["id"], exc.message)
            finally:
                self.running -= 1

    def _work(self, row: sqlite3.Row) -> None:
        job_id = row["id"]

        def progress(done: int, total: int) -> None:
            self.store.update(job_id, chunks_done=done, chunks_total=total)
            if self.stopping:
                raise Stopping
            if self.store.state(job_id) == "CANCELLED":
                raise Cancelled

        try:
            outcome = self.run(row, progress)
        except Stopping:
            self.store.leave(job_id, status="QUEUED")
            return
        except Cancelled:
            log.info("job %s cancelled; its finished takes stay in the cache", job_id)
            return
        except StorageError as exc:  # the server's side failed, not the request
            log.error("job %s failed: %s", job_id, exc.message)
            ended = self.store.leave(job_id, status="FAILED", error=exc.message, finished=time.time(), internal=1)
        except CbxError as exc:
            ended = self.store.leave(job_id, status="FAILED", error=exc.message, finished=time.time())
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the worker goes on
            log.error("job %s failed: %s: %s", job_id, type(exc).__name__, exc)
            ended = self.store.leave(job_id, status="FAILED", error=f"Internal error ({type(exc).__name__}); see the "
                                     "server log.", finished=time.time(), internal=1)
        else:
            ended = self.store.leave(job_id, status="COMPLETED", output=outcome.output, finished=time.time(),
                                     metrics=json.dumps(outcome.metrics), chunks_done=outcome.metrics["chunks"],
                                     chunks_total=outcome.metrics["chunks"])
            if not ended and self.discard:  # cancelled while its output was written
                self.discard(outcome.output)
        if ended:
            self._changed(job_id)

    def _changed(self, job_id: str) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(job_id)
        except Exception as exc:  # noqa: BLE001 - a report that fails must not fail the job
            log.error("job %s: reporting its status failed: %s: %s", job_id, type(exc).__name__, exc)
