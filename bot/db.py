"""The database: one aiosqlite connection, forward-only migrations, serialised changes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
BUSY_TIMEOUT_MS = 5000
MIN_SQLITE = (3, 35)
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


class MigrationError(Exception):
    """The database cannot be brought to this code's schema."""


class DatabaseFileError(MigrationError):
    """A database or backup file cannot be opened or written (told in one line, no traceback)."""


# The database, its WAL and SHM (SQLite gives them the database's mode) and backups hold
# everything about everyone: for the bot's user only, whatever the umask.
PRIVATE = 0o600


def _private_file(path: Path) -> None:
    """Make sure ``path`` exists and is readable by its owner only, before SQLite opens it."""
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
        try:
            if os.fstat(descriptor).st_mode & 0o077:
                os.fchmod(descriptor, PRIVATE)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise DatabaseFileError(f"cannot open {path}: {exc.strerror or exc}") from None
    for suffix in ("-wal", "-shm"):
        # Left by an older version, or by a copy made under another umask.
        leftover = path.with_name(path.name + suffix)
        if leftover.exists() and leftover.stat().st_mode & 0o077:
            leftover.chmod(PRIVATE)


def _new_private_file(target: Path) -> None:
    """Create ``target`` for its owner only; never through a symlink, never over a file."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DatabaseFileError(
            f"cannot back up to {target}: {target.parent} is not a folder"
        ) from None
    except OSError as exc:
        raise DatabaseFileError(f"cannot back up to {target}: {exc.strerror or exc}") from None
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        os.close(os.open(target, flags, PRIVATE))
    except FileExistsError:
        what = "a symlink" if target.is_symlink() else "a file that exists already"
        raise DatabaseFileError(f"cannot back up to {target}: it is {what}") from None
    except OSError as exc:
        raise DatabaseFileError(f"cannot back up to {target}: {exc.strerror or exc}") from None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def now_text() -> str:
    return to_db_time(utcnow())


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    found: list[tuple[int, str, Path]] = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_what.sql")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


class Database:
    """The one connection of the process.

    Every statement goes through the same lock: a multi-statement change (``transaction``) must
    never interleave with another coroutine's statements on the shared connection, or two taps on
    the last seat could both win, and a reader could see half of a change that is rolled back.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise MigrationError(
                f"SQLite {'.'.join(map(str, MIN_SQLITE))} or newer is needed (for RETURNING);"
                f" this Python has {sqlite3.sqlite_version}"
            )
        _private_file(self.path)
        conn = await aiosqlite.connect(self.path, isolation_level=None, iter_chunk_size=64)
        conn.row_factory = sqlite3.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # Deleted rows are overwritten with zeros: an erasure leaves no bytes behind.
            await conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            await conn.close()
            raise DatabaseFileError(f"cannot use {self.path}: {exc}") from None
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("the database is not open")
        return self._conn

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # One trip to aiosqlite's thread instead of three (execute, fetch, close).
        async with self._lock:
            return list(await self.conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement on its own; returns the number of rows it changed."""
        async with self._lock:
            return await _rowcount(self.conn, sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A multi-statement change: all of it or nothing, and nobody else in between.

        BEGIN IMMEDIATE goes just before the first statement (a transaction that sends none
        costs nothing), and deferred writes wait for the next statement or the COMMIT.
        """
        async with self._lock:
            tx = Transaction(self.conn)
            try:
                yield tx
            except BaseException:
                await tx._roll_back()
                raise
            else:
                await tx._commit()

    async def checkpoint(self) -> None:
        """Move the WAL into the database file and empty it: after an erasure, the old pages
        stay nowhere (with ``secure_delete``, the file holds zeros where the rows were)."""
        await self.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def backup(self, target: Path) -> None:
        """An online, consistent copy through SQLite's backup API, safe while the bot runs.

        The target is a new file for the bot's user only; an existing file or a symlink (even
        one pointing nowhere) is refused, so a backup cannot be made to overwrite another file.
        """
        _new_private_file(target)
        try:
            destination = sqlite3.connect(target, check_same_thread=False)
            try:
                async with self._lock:
                    await self.conn.backup(destination)
            finally:
                destination.close()
        except BaseException as exc:
            # A full disk, or an interrupted copy: no half copy to be taken for a backup later
            # (and in the way of the next try, which never writes over a file).
            for leftover in (target, target.with_name(target.name + "-journal")):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error):
                raise DatabaseFileError(f"cannot back up to {target}: {exc}") from None
            raise

    async def schema_version(self) -> int:
        exists = await self.fetchval(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        if not exists:
            return 0
        return int(await self.fetchval("SELECT IFNULL(MAX(version), 0) FROM schema_migrations"))

    async def migrate(self, directory: Path = MIGRATIONS_DIR) -> list[str]:
        """Apply the missing migrations in order, each in a transaction; return their names."""
        migrations = available_migrations(directory)
        latest = migrations[-1][0] if migrations else 0
        current = await self.schema_version()
        if current > latest:
            raise MigrationError(
                f"the database is at schema version {current}, newer than this code "
                f"(which knows up to {latest}); upgrade the code, do not downgrade the data"
            )
        applied: list[str] = []
        async with self._lock:
            await self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for version, name, path in migrations:
                if version <= current:
                    continue
                script = path.read_text(encoding="utf-8")
                try:
                    await self.conn.executescript(
                        "BEGIN IMMEDIATE;\n"
                        + script
                        + f"\nINSERT INTO schema_migrations VALUES ({version}, '{name}', "
                        f"'{now_text()}');\nCOMMIT;"
                    )
                except sqlite3.Error as exc:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise MigrationError(f"{path.name}: {exc}") from exc
                applied.append(path.name)
        return applied


class Transaction:
    """The statements of one ``Database.transaction``; the lock is already held.

    ``execute``, ``insert`` and the reads answer at once; ``defer`` and ``defer_many`` queue a
    write whose answer nobody needs, sent just before the next statement or the COMMIT (one
    ``executemany`` for consecutive writes of the same SQL). A statement that fails rolls the
    whole transaction back before its error travels on; the transaction then takes no more.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._deferred: list[tuple[str, list[Params]]] = []
        self._rolled_back = False
        self.begun = False  # BEGIN has been sent

    def defer(self, sql: str, params: Params = ()) -> None:
        self._queue(sql, [params])

    def defer_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._queue(sql, list(rows))

    def _queue(self, sql: str, rows: list[Params]) -> None:
        if self._rolled_back:
            raise RuntimeError("the transaction was rolled back")
        if self._deferred and self._deferred[-1][0] == sql:
            self._deferred[-1][1].extend(rows)
        elif rows:
            self._deferred.append((sql, rows))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement; returns the number of rows it changed."""
        await self._flush()
        cursor = await self._guarded(self._conn.execute(sql, params))
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """One INSERT; returns the new row's id."""
        await self._flush()
        cursor = await self._guarded(self._conn.execute(sql, params))
        return cursor.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """One statement for many rows in one trip; returns the number of rows it changed."""
        rows = list(rows)
        await self._flush()
        cursor = await self._guarded(self._conn.executemany(sql, rows))
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        await self._flush()
        return list(await self._guarded(self._conn.execute_fetchall(sql, params)))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def _commit(self) -> None:
        """Send what is deferred, then COMMIT (nothing at all if nothing was asked)."""
        if self.begun or self._deferred:
            await self._flush()
            await self._guarded(self._conn.execute("COMMIT"))

    async def _roll_back(self) -> None:
        """Undo whatever was sent (deferred writes are dropped unsent)."""
        self._deferred.clear()
        if not self.begun or self._rolled_back:
            return
        self._rolled_back = True
        # Queued behind any statement still on the database thread (one whose caller was
        # cancelled), so it undoes that one too; "no transaction is active" if BEGIN failed.
        with contextlib.suppress(sqlite3.OperationalError):
            await self._conn.execute("ROLLBACK")

    async def _flush(self) -> None:
        """BEGIN IMMEDIATE if not sent yet, then the deferred writes, in order."""
        if self._rolled_back:
            raise RuntimeError("the transaction was rolled back")
        if not self.begun:
            self.begun = True
            await self._guarded(self._conn.execute("BEGIN IMMEDIATE"))
        while self._deferred:
            sql, rows = self._deferred.pop(0)
            if len(rows) == 1:
                await self._guarded(self._conn.execute(sql, rows[0]))
            else:
                await self._guarded(self._conn.executemany(sql, rows))

    async def _guarded(self, statement: Awaitable[T]) -> T:
        """Await one statement; if it fails, roll the whole transaction back, then raise."""
        try:
            return await statement
        except BaseException:
            await self._roll_back()
            raise


async def _rowcount(conn: aiosqlite.Connection, sql: str, params: Params) -> int:
    # One trip to aiosqlite's thread: the finished cursor is left to the garbage collector
    # instead of costing a second trip to close it.
    cursor = await conn.execute(sql, params)
    return cursor.rowcount
