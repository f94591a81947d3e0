"""The database: pragmas, forward-only migrations, serialised changes, online backup."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.db import MIGRATIONS_DIR, Database, MigrationError, available_migrations


async def test_pragmas_are_set(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        assert (await db.fetchval("PRAGMA journal_mode")) == "wal"
        assert (await db.fetchval("PRAGMA foreign_keys")) == 1
        assert (await db.fetchval("PRAGMA synchronous")) == 1  # NORMAL
        assert (await db.fetchval("PRAGMA busy_timeout")) == 5000
        assert (await db.fetchval("PRAGMA secure_delete")) == 1


async def test_migrations_apply_in_order_once(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        applied = await db.migrate()
        assert applied == [path.name for _, _, path in available_migrations()]
        assert await db.migrate() == []
        rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in rows] == [
            (v, n) for v, n, _ in available_migrations()
        ]


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.migrate()
        await db.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'x')")
        with pytest.raises(MigrationError, match="newer than this code"):
            await db.migrate()


async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for _, _, path in available_migrations(MIGRATIONS_DIR):
        (folder / path.name).write_text(path.read_text())
    (folder / "9000_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    async with Database(tmp_path / "a.sqlite3") as db:
        with pytest.raises(MigrationError, match=r"9000_broken\.sql"):
            await db.migrate(folder)
        assert await db.fetchval("SELECT name FROM sqlite_master WHERE name = 'half_done'") is None
        assert await db.schema_version() == available_migrations()[-1][0]


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("")
    with pytest.raises(MigrationError, match=r"NNNN_what\.sql"):
        available_migrations(tmp_path)


async def test_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.migrate()
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO towns (slug, name, timezone, created_at)"
                    " VALUES ('a', 'A', 'UTC', 'x')"
                )
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT COUNT(*) FROM towns") == 0


async def traced(db: Database) -> list[str]:
    """The statements SQLite runs on ``db``'s connection from now on, in order."""
    sent: list[str] = []
    await db.conn.set_trace_callback(sent.append)
    return sent


async def test_deferred_writes_go_with_the_next_statement(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
        sent = await traced(db)
        async with db.transaction() as tx:
            tx.defer("INSERT INTO t VALUES (1)")
            tx.defer_many("INSERT INTO t VALUES (?)", [(2,), (3,)])
            assert sent == []  # nothing before a statement needs it, not even BEGIN
            # BEGIN, then the three writes, then this read, which sees them.
            assert await tx.fetchval("SELECT COUNT(*) FROM t") == 3
            assert sent == [
                "BEGIN IMMEDIATE",
                *(f"INSERT INTO t VALUES ({n})" for n in (1, 2, 3)),
                "SELECT COUNT(*) FROM t",
            ]
            tx.defer("INSERT INTO t VALUES (4)")
            assert len(sent) == 5
        assert sent[5:] == ["INSERT INTO t VALUES (4)", "COMMIT"]  # with the COMMIT
        assert [r[0] for r in await db.fetchall("SELECT n FROM t ORDER BY n")] == [1, 2, 3, 4]


async def test_a_deferred_write_that_fails_undoes_the_whole_transaction(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
        await db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (2)")
                tx.defer("INSERT INTO t VALUES (1)")  # refused only when the COMMIT goes
                tx.defer("INSERT INTO t VALUES (3)")  # never sent
        assert [r[0] for r in await db.fetchall("SELECT n FROM t")] == [1]
        assert not db.conn.in_transaction
        # The connection is usable again, outside and inside a transaction.
        async with db.transaction() as tx:
            tx.defer("INSERT INTO t VALUES (5)")
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 2


async def test_a_failing_statement_rolls_back_even_if_its_error_is_caught(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
        await db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError, match="rolled back"):
            async with db.transaction() as tx:
                assert await tx.insert("INSERT INTO t VALUES (2)") == 2
                assert await tx.execute("UPDATE t SET n = n + 10 WHERE n = 1") == 1
                with pytest.raises(sqlite3.IntegrityError):
                    await tx.executemany("INSERT INTO t VALUES (?)", [(3,), (2,)])
                assert not db.conn.in_transaction  # undone at once, before the error travels
                with pytest.raises(RuntimeError, match="rolled back"):
                    await tx.execute("INSERT INTO t VALUES (4)")  # never in autocommit
                tx.defer("INSERT INTO t VALUES (5)")
        assert [r[0] for r in await db.fetchall("SELECT n FROM t")] == [1]


async def test_a_transaction_that_never_reached_the_database_sends_nothing(
    tmp_path: Path,
) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        sent = await traced(db)
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                tx.defer("INSERT INTO nowhere VALUES (1)")
                raise RuntimeError("refused before any statement")
        async with db.transaction():
            pass
        assert sent == []


async def test_a_transaction_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: what a transaction reads cannot change under it, even from another
    process, until it ends."""
    path = tmp_path / "a.sqlite3"
    async with Database(path) as db:
        await db.execute("CREATE TABLE t (n INTEGER)")
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            async with db.transaction() as tx:
                assert await tx.fetchval("SELECT COUNT(*) FROM t") == 0
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("INSERT INTO t VALUES (1)")
            other.execute("INSERT INTO t VALUES (1)")
        finally:
            other.close()
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 1


async def test_transactions_do_not_interleave(tmp_path: Path) -> None:
    """Read-then-write from many coroutines at once: each sees the others' committed work."""
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE counter (n INTEGER)")
        await db.execute("INSERT INTO counter VALUES (0)")

        async def bump() -> None:
            async with db.transaction() as tx:
                n = await tx.fetchval("SELECT n FROM counter")
                await asyncio.sleep(0)  # let the others try to get in between
                await tx.execute("UPDATE counter SET n = ?", (n + 1,))

        await asyncio.gather(*(bump() for _ in range(50)))
        assert await db.fetchval("SELECT n FROM counter") == 50


async def test_nobody_sees_or_commits_half_of_a_transaction(tmp_path: Path) -> None:
    """The lock is held from the first statement to the COMMIT: a statement from elsewhere
    (which would share the connection, and so see and commit its uncommitted rows) waits."""
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE t (n INTEGER)")
        seen: list[int] = []

        async def change() -> None:
            with pytest.raises(RuntimeError):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO t VALUES (1)")
                    await tx.execute("INSERT INTO t VALUES (2)")
                    for _ in range(5):
                        await asyncio.sleep(0)
                    tx.defer("INSERT INTO t VALUES (3)")
                    await tx.fetchval("SELECT 1")
                    raise RuntimeError("changed my mind")

        async def look() -> None:
            for _ in range(10):
                seen.append(await db.fetchval("SELECT COUNT(*) FROM t"))
                await asyncio.sleep(0)

        await asyncio.gather(change(), look(), look())
        assert set(seen) == {0}
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 0


async def test_a_cancelled_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    """Cancelled while each of its statements in turn is on the database thread: each
    transaction writes two rows, so a count that is odd would be half of one."""
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.execute("CREATE TABLE t (n INTEGER)")
        loop = asyncio.get_running_loop()
        started, cancel_at = 0, 0
        task: asyncio.Task[None] | None = None

        def on_statement(sql: str) -> None:  # on the database thread, as a statement starts
            nonlocal started
            started += 1
            if started == cancel_at and task is not None:
                loop.call_soon_threadsafe(task.cancel)

        async def pairs() -> None:
            while True:
                async with db.transaction() as tx:
                    n = await tx.fetchval("SELECT COUNT(*) FROM t")
                    await tx.execute("INSERT INTO t VALUES (?)", (n,))
                    tx.defer("INSERT INTO t VALUES (?)", (n + 1,))

        await db.conn.set_trace_callback(on_statement)
        # BEGIN, SELECT, INSERT, INSERT, COMMIT: three transactions' worth of places.
        for place in range(1, 16):
            started, cancel_at = 0, place
            task = asyncio.create_task(pairs())
            with pytest.raises(asyncio.CancelledError):
                await task
            cancel_at = 0
            count = await db.fetchval("SELECT COUNT(*) FROM t")
            assert count % 2 == 0, f"half a transaction left, cancelled at statement {place}"
            assert not db.conn.in_transaction
        assert count > 0  # some transactions did commit
        # And after a few turns of the event loop: sometimes with a statement still queued.
        for turns in range(1, 30):
            task = asyncio.create_task(pairs())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await db.fetchval("SELECT COUNT(*) FROM t") % 2 == 0
            assert not db.conn.in_transaction


async def test_online_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.migrate()
        await db.execute(
            "INSERT INTO towns (slug, name, timezone, created_at) VALUES ('a','A','UTC','x')"
        )
        await db.backup(tmp_path / "copy" / "b.sqlite3")
    copy = sqlite3.connect(tmp_path / "copy" / "b.sqlite3")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT name FROM towns").fetchall() == [("A",)]
    finally:
        copy.close()


async def test_ballots_cast_before_the_counts_existed_are_counted(tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir()
    for version, _, path in available_migrations():
        if version < 6:
            (older / path.name).write_text(path.read_text())
    async with Database(tmp_path / "a.sqlite3") as db:
        await db.migrate(older)
        await db.execute(
            "INSERT INTO rounds (id, title, status, opens_at, closes_at, created_by, created_at)"
            " VALUES (1, 'Vote', 'open', 'a', 'b', 1, 'z')"
        )
        cast = [
            ("k1", "resident", "support"),
            ("k2", "resident", "support"),
            ("k3", "newcomer", "oppose"),
        ]
        for key, group, choice in cast:
            await db.execute(
                "INSERT INTO ballots (round_id, proposal_id, voter_key, voter_group, choice)"
                " VALUES (1, 7, ?, ?, ?)",
                (key, group, choice),
            )
        assert (await db.migrate())[0] == "0006_ballot_counts.sql"
        rows = await db.fetchall(
            "SELECT proposal_id, voter_group, choice, n FROM ballot_counts ORDER BY voter_group"
        )
        assert [tuple(r) for r in rows] == [
            (7, "newcomer", "oppose", 1),
            (7, "resident", "support", 2),
        ]


@pytest.fixture
def secure_delete_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new connection starts with ``secure_delete`` off, as with python.org's and
    macOS's SQLite (Debian's is built with it on): the bot must not rely on its build."""
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


@pytest.mark.usefixtures("secure_delete_off_by_default")
async def test_deleted_text_leaves_no_bytes_in_the_file_after_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "erase.sqlite3"
    secret = "Mirela-Xhaferi-lives-at-Rruga-13"
    async with Database(path) as db:
        await db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        await db.execute("INSERT INTO notes (text) VALUES (?)", (secret * 20,))
        await db.execute("INSERT INTO notes (text) VALUES ('kept')")
        await db.checkpoint()
        await db.execute("DELETE FROM notes WHERE text != 'kept'")
        await db.checkpoint()
        wal = path.with_name(path.name + "-wal")
        on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert secret.encode() not in on_disk
        assert await db.fetchval("SELECT text FROM notes") == "kept"
