"""The files the bot writes: the database, its WAL and its backups are for the bot's user only;
a backup never goes through a symlink; a path that cannot be used is one clear line."""

from __future__ import annotations

import os
import resource
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import Database
from bot.services import Services
from tests.conftest import TOKEN


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    """Files would be 0644 under the usual umask: the bot must not rely on a strict one."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_the_database_and_its_wal_are_for_the_bot_alone(services: Services) -> None:
    await services.people.give_consent(5100, "en")
    database = services.config.database
    wal, shm = (database.with_name(database.name + suffix) for suffix in ("-wal", "-shm"))
    assert wal.exists() and shm.exists()
    assert {path.name: mode(path) for path in (database, wal, shm)} == {
        database.name: 0o600,
        wal.name: 0o600,
        shm.name: 0o600,
    }


async def test_a_database_made_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with Database(path) as db:
        await db.execute("CREATE TABLE t (x)")
    path.chmod(0o644)
    async with Database(path) as db:
        await db.execute("INSERT INTO t VALUES (1)")
    assert mode(path) == 0o600


async def test_a_backup_is_for_the_bot_alone(services: Services, tmp_path: Path) -> None:
    target = tmp_path / "copies" / "monday.sqlite3"
    await services.db.backup(target)
    assert mode(target) == 0o600


@pytest.mark.parametrize("dangling", [False, True])
def test_a_backup_never_writes_through_a_symlink(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    dangling: bool,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BASHKE_DATABASE", str(tmp_path / "bashke.sqlite3"))
    assert main(["migrate"]) == 0
    victim = tmp_path / "someone-elses-file"
    if not dangling:
        victim.write_text("precious")
    link = tmp_path / "backup.sqlite3"
    link.symlink_to(victim)
    capsys.readouterr()

    code = main(["backup", str(link)])

    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "symlink" in err or "exists" in err
    assert link.is_symlink()
    if dangling:
        assert not victim.exists()
    else:
        assert victim.read_text() == "precious"


@pytest.mark.parametrize("where", ["database", "backup"])
def test_a_path_that_cannot_be_used_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    database = tmp_path / "bashke.sqlite3"
    monkeypatch.setenv("BASHKE_DATABASE", str(database))
    assert main(["migrate"]) == 0
    # A file where a folder is needed: no user, root included, can create anything inside it.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    if where == "database":
        monkeypatch.setenv("BASHKE_DATABASE", str(blocker / "bashke.sqlite3"))
        argv = ["migrate"]
    else:
        argv = ["backup", str(blocker / "backup.sqlite3")]
    capsys.readouterr()

    code = main(argv)

    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("database error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert "exists" not in err, err  # the folder is the trouble, not a file in the way


@contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """No file of this process may grow past ``size`` bytes: a disk that fills up. (Python
    ignores SIGXFSZ, so a write beyond it fails with EFBIG instead of killing the process.)"""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_backup_that_runs_out_of_space_is_one_line_and_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    database = tmp_path / "bashke.sqlite3"
    monkeypatch.setenv("BASHKE_DATABASE", str(database))
    assert main(["migrate"]) == 0
    target = tmp_path / "backup.sqlite3"
    # Room for the database's shared-memory file, not for a copy of the database.
    assert database.stat().st_size > 128 * 1024
    capsys.readouterr()

    with file_size_limit(64 * 1024):
        code = main(["backup", str(target)])

    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("database error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    # No half copy left to be taken for a backup, or to make the next try refuse.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == []
