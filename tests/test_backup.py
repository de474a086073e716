"""Backups and restores: a restored ledger gives the same report bytes, the same chain and the same
keys; a backup taken while writers append holds exactly the head it names; bad files and
non-empty databases are refused with nothing created or written."""

import asyncio
import stat
import uuid
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from coverage_ledger.app import UploadSettings
from coverage_ledger.cli import app as cli_app
from coverage_ledger.database import backup as backup_module
from coverage_ledger.database.backup import BackupError, back_up
from coverage_ledger.database.engine import SCHEMA_REVISION, libpq_url
from coverage_ledger.database.migrate import (
    MIGRATION_LOCK_KEY,
    alembic_config,
    migrate_schema,
    upgrade_database,
)
from coverage_ledger.database.restore import read_archive, restore
from tests.claims_support import append, approved, filed, paid
from tests.databases import create_database, drop_database
from tests.live_app import served_app
from tests.rosters import Uploader, many_officers, roster_csv
from tests.support import Keys, nik, registered

KNOWN = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
REPORTS = ("coverage-roster", "payouts", "coverage-ratios", "uploads", "overdue-claims")


@pytest.fixture
def empty_database(server_url: str) -> tuple[str, str]:
    """A new database holding nothing (no migrations): where a backup is restored. (url, name)"""
    name = f"ledger_restored_{uuid.uuid4().hex[:8]}"
    return create_database(server_url, name), name


async def _reports(client_up: Uploader, auditor: str, tx: int) -> dict[tuple[str, str], tuple[bytes, str]]:
    """Every report in every format pinned at tx: its bytes and its manifest's sha256."""
    pulled = {}
    params = {"valid_at": "2024-02-14", "known_at": f"tx:{tx}"}
    for name in REPORTS:
        for fmt in ("json", "csv", "xlsx"):
            query = params | {"format": fmt} | ({"region": "16.71"} if name == "coverage-ratios" else {})
            body = await client_up.client.get(
                f"/v1/reports/{name}", params=query, headers=Keys.header(auditor)
            )
            assert body.status_code == 200, (name, body.text)
            manifest = await client_up.client.get(
                f"/v1/reports/{name}/manifest", params=query, headers=Keys.header(auditor)
            )
            assert manifest.status_code == 200, manifest.text
            pulled[(name, fmt)] = (body.content, manifest.json()["sha256"])
    return pulled


async def test_a_restored_backup_gives_the_same_reports_chain_and_keys(
    uploader: Uploader, fresh_database: str, server_url: str, empty_database: tuple[str, str], tmp_path: Path
) -> None:
    up = uploader
    rows = many_officers(5)
    assert (await up.run(roster_csv(rows)))["status"] == "succeeded"
    await append(
        up.client,
        up.keys.office,
        filed("B-1", rows[0][0], incident="2024-02-10", filed_on="2024-02-12"),
        approved("B-1", "2024-02-13"),
        paid("B-1", 42_000_000, "2024-02-14"),
    )
    backed_up_head = await up.head()
    before = await _reports(up, up.keys.auditor, backed_up_head)
    # an upload still queued when the backup is taken, its file in this deployment's folder
    queued_file = tmp_path / "old-uploads" / "queued.upload"
    queued_file.parent.mkdir()
    queued_file.write_bytes(roster_csv(many_officers(2, district="167102", region="16.71.02")))
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        conn.execute(
            "INSERT INTO upload (upload_id, kind, committee, key_name, dry_run, policy, mode, "
            "filename, file_format, file_sha256, size_bytes, stored_path, status, rows_total, "
            "rows_done, rows_accepted, rows_rejected, rows_duplicate, outcome, phase_seconds, "
            "submitted_at) VALUES (%s, 'officer_roster', 'KPU-16.71', 'test-committee', false, "
            "'all_or_nothing', 'append', 'queued.csv', 'csv', 'x', 1, %s, 'queued', 0, 0, 0, 0, 0, "
            "'{}', '{}', now())",
            (uuid.UUID(int=7), str(queued_file)),
        )

    target = tmp_path / "ledger.backup"
    written = await asyncio.to_thread(back_up, fresh_database, target=target)
    assert written.head.tx_seq == backed_up_head and written.head.schema_revision in KNOWN
    head = (await up.client.get("/v1/ledger/head", headers=Keys.header(up.keys.auditor))).json()
    assert written.head.hash == head["hash"]
    # the person vault is in it: readable by the service's user alone, and no leftover partial file
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("ledger.backup")] == ["ledger.backup"]
    # what is appended after the backup is not in it
    await append(up.client, up.keys.office, registered(nik(serial=77)))

    restored_url, restored_name = empty_database
    try:
        archived = read_archive(target, known_revisions=KNOWN)  # read from the file alone
        assert (archived.head_tx_seq, archived.head_hash) == (backed_up_head, written.head.hash)
        await asyncio.to_thread(restore, restored_url, source=target, archived=archived)
        settings = UploadSettings(tmp_path / "restored-uploads", max_bytes=1 << 20)
        async with served_app(restored_url, uploads=settings) as (app, client):
            restored = Uploader(app, client, up.keys)  # the keys of the original ledger still open it
            verified = (await client.get("/v1/ledger/verify", headers=Keys.header(up.keys.auditor))).json()
            assert verified["ok"] and verified["head_tx_seq"] == backed_up_head
            assert verified["head_hash"] == written.head.hash
            after = await _reports(restored, up.keys.auditor, backed_up_head)
            assert after == before
            # the service can append to the restored ledger as its own role, and the chain goes on
            next_tx = await append(client, up.keys.office, registered(nik(serial=78)))
            assert next_tx == backed_up_head + 1
            # the upload the backup caught queued is closed, not run from the old deployment's
            # folder (whose file would then have been processed there and deleted)
            await app.state.upload_runner.wait_idle()
            queued = await restored.status(str(uuid.UUID(int=7)), key=up.keys.admin)
            assert queued["status"] == "failed" and queued["problem"]["code"] == "interrupted"
            assert "restored from a backup" in queued["problem"]["message"]
            assert queued_file.exists()
        with psycopg.connect(libpq_url(restored_url)) as conn:
            role_rights = conn.execute(
                "SELECT has_table_privilege('ledger_writer', 'ledger_event', 'INSERT'), "
                "       has_table_privilege('ledger_writer', 'ledger_event', 'UPDATE'), "
                "       has_table_privilege('ledger_writer', 'coverage_span', 'UPDATE'), "
                "       has_table_privilege('ledger_writer', 'event_knowledge', 'MAINTAIN')"
            ).fetchone()
            assert role_rights == (True, False, True, True)  # (MAINTAIN: a large upload's ANALYZE)
            with pytest.raises(
                psycopg.errors.InsufficientPrivilege, match="append-only"
            ):  # the log's guard came back too
                conn.execute("DELETE FROM ledger_event")
    finally:
        drop_database(server_url, restored_name)


async def test_a_backup_taken_while_writers_append_holds_exactly_the_head_it_names(
    uploader: Uploader, fresh_database: str, server_url: str, empty_database: tuple[str, str], tmp_path: Path
) -> None:
    up = uploader
    stop = asyncio.Event()

    async def keep_appending() -> int:
        count = 0
        while not stop.is_set():
            count += 1
            await append(up.client, up.keys.office, registered(nik(serial=100 + count)))
        return count

    writer = asyncio.create_task(keep_appending())
    await asyncio.sleep(0.3)
    written = await asyncio.to_thread(back_up, fresh_database, target=tmp_path / "busy.backup")
    await asyncio.sleep(0.3)
    stop.set()
    appended = await writer
    assert appended > 2 and await up.head() > written.head.tx_seq  # writes went on during and after

    restored_url, restored_name = empty_database
    try:
        archived = read_archive(tmp_path / "busy.backup", known_revisions=KNOWN)
        assert (archived.head_tx_seq, archived.head_hash) == (written.head.tx_seq, written.head.hash)
        restore(restored_url, source=tmp_path / "busy.backup", archived=archived)
        with psycopg.connect(libpq_url(restored_url)) as conn:
            last = conn.execute(
                "SELECT max(tx_seq), (SELECT hash FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1) FROM ledger_tx"
            ).fetchone()
            events = conn.execute(
                "SELECT (SELECT count(*) FROM ledger_event), (SELECT sum(event_count) FROM ledger_tx)"
            ).fetchone()
        assert last == (written.head.tx_seq, written.head.hash)
        assert events is not None and events[0] == events[1]  # no tx without its events, none half there
    finally:
        drop_database(server_url, restored_name)


def test_bad_files_and_full_databases_are_refused_and_nothing_is_written(
    fresh_database: str, server_url: str, empty_database: tuple[str, str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"PGDMP" + bytes(range(256)) * 4)
    with pytest.raises(
        BackupError, match=r"junk\.backup is not a backup written by `coverage-ledger db backup`"
    ):
        read_archive(junk, known_revisions=KNOWN)
    empty_file = tmp_path / "empty.backup"
    empty_file.write_bytes(b"")
    with pytest.raises(BackupError, match=r"empty\.backup is not a backup written by"):
        read_archive(empty_file, known_revisions=KNOWN)
    with pytest.raises(BackupError, match=r"nowhere does not exist: create the folder first"):
        back_up(fresh_database, target=tmp_path / "nowhere" / "x.backup")
    with pytest.raises(BackupError, match=r"empty\.backup is not a folder"):
        back_up(fresh_database, target=empty_file / "x.backup")

    good = back_up(fresh_database, target=tmp_path / "good.backup")
    with pytest.raises(BackupError, match="exists: a backup never overwrites"):
        back_up(fresh_database, target=tmp_path / "good.backup")
    archived = read_archive(tmp_path / "good.backup", known_revisions=KNOWN)
    revision = archived.schema_revision
    with pytest.raises(BackupError, match=f"revision {revision}, which this release does not know"):
        read_archive(tmp_path / "good.backup", known_revisions=KNOWN - {revision})
    # the template's database holds a ledger: refused before anything is restored into it
    with pytest.raises(BackupError, match="is not empty"):
        restore(fresh_database, source=tmp_path / "good.backup", archived=archived)
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        assert conn.execute("SELECT max(tx_seq) FROM ledger_tx").fetchone() == (good.head.tx_seq,)

    # a backup cut short (a full disk, a copy interrupted) restores nothing at all
    restored_url, restored_name = empty_database
    cut = tmp_path / "cut.backup"
    whole = (tmp_path / "good.backup").read_bytes()
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(BackupError, match=r"reading .*cut\.backup through \(it is damaged or cut short\)"):
        read_archive(cut, known_revisions=KNOWN)  # found before any database is touched
    with pytest.raises(BackupError, match=r"restoring .*cut\.backup failed"):  # and were it not
        restore(restored_url, source=cut, archived=archived)
    with psycopg.connect(libpq_url(restored_url)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)

    # a user whose connections read another schema would restore tables it then cannot see
    with psycopg.connect(libpq_url(restored_url), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute(f"ALTER DATABASE {restored_name} SET search_path = app, public")
    with pytest.raises(
        BackupError, match="in schema public, but this user's connections would read schema app"
    ):
        restore(restored_url, source=tmp_path / "good.backup", archived=archived)
    with psycopg.connect(libpq_url(restored_url), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {restored_name} RESET search_path")
        conn.execute("DROP SCHEMA app")

    # an archive of some other database is not taken for a ledger's
    with psycopg.connect(libpq_url(restored_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (line text)")
    try:
        with pytest.raises(BackupError, match="holds no ledger"):
            back_up(restored_url, target=tmp_path / "other.backup")
        assert not (tmp_path / "other.backup").exists()
    finally:
        drop_database(server_url, restored_name)


def test_the_commands_say_the_head_and_restore_only_into_an_empty_database(
    fresh_database: str,
    server_url: str,
    empty_database: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    target = tmp_path / "cli.backup"
    backed_up = runner.invoke(cli_app, ["db", "backup", str(target)])
    assert backed_up.exit_code == 0, backed_up.output
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        head = conn.execute("SELECT tx_seq, hash FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1").fetchone()
    assert head is not None
    assert f"head tx {head[0]} {head[1]}" in backed_up.output
    assert f"verify --from-hash {head[1]}" in backed_up.output

    checked = runner.invoke(cli_app, ["db", "check-backup", str(target)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.strip().endswith(f"head tx {head[0]} {head[1]}") and "intact" in checked.output
    refused = runner.invoke(cli_app, ["db", "restore", str(target)])  # DATABASE_URL holds a ledger
    assert refused.exit_code == 1 and "is not empty" in refused.output

    restored_url, restored_name = empty_database
    monkeypatch.setenv("DATABASE_URL", restored_url)
    try:
        restored = runner.invoke(cli_app, ["db", "restore", str(target)])
        assert restored.exit_code == 0, restored.output
        assert f"ok: {head[0]} txs checked; head tx {head[0]} {head[1]}" in restored.output
        from_hash = runner.invoke(cli_app, ["verify", "--from-hash", head[1]])
        assert from_hash.exit_code == 0 and f"the archived head is tx {head[0]}" in from_hash.output
    finally:
        drop_database(server_url, restored_name)


def test_a_backup_of_an_earlier_schema_is_restored_as_it_was_and_upgraded_after(
    server_url: str, empty_database: tuple[str, str], tmp_path: Path
) -> None:
    old_name = f"ledger_old_{uuid.uuid4().hex[:8]}"
    old_url = create_database(server_url, old_name)
    restored_url, restored_name = empty_database
    try:
        migrate_schema(old_url, "0010")  # before the service's role existed
        written = back_up(old_url, target=tmp_path / "old.backup")
        assert written.head.schema_revision == "0010" and written.head.tx_seq == 0
        restore(
            restored_url,
            source=tmp_path / "old.backup",
            archived=read_archive(tmp_path / "old.backup", known_revisions=KNOWN),
        )
        with psycopg.connect(libpq_url(restored_url)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0010",)
            assert conn.execute(
                "SELECT count(*) FROM information_schema.role_table_grants "
                "WHERE grantee = 'ledger_writer' AND table_catalog = current_database()"
            ).fetchone() == (0,)
        upgrade_database(restored_url)
        with psycopg.connect(libpq_url(restored_url)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (SCHEMA_REVISION,)
            assert conn.execute(
                "SELECT has_table_privilege('ledger_writer', 'ledger_event', 'INSERT')"
            ).fetchone() == (True,)
            # rights lost (a role created after 0011 ran, a restore stopped before its grants)
            conn.execute("REVOKE ALL ON ledger_event, coverage_span FROM ledger_writer")
            conn.commit()
        upgrade_database(restored_url)  # as `db upgrade` and every `serve` do: granted again
        with psycopg.connect(libpq_url(restored_url)) as conn:
            assert conn.execute(
                "SELECT has_table_privilege('ledger_writer', 'ledger_event', 'INSERT'), "
                "has_table_privilege('ledger_writer', 'ledger_event', 'UPDATE'), "
                "has_table_privilege('ledger_writer', 'coverage_span', 'UPDATE')"
            ).fetchone() == (True, False, True)
    finally:
        drop_database(server_url, old_name)
        drop_database(server_url, restored_name)


def test_a_backup_waits_for_a_running_migration_and_gives_up_saying_so(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: a snapshot taken while a migration runs predates its commit, while pg_dump
    reads the catalog after it (a table the migration rewrote would be dumped empty)."""
    monkeypatch.setattr(backup_module, "MIGRATION_WAIT_SECONDS", 1)
    with psycopg.connect(libpq_url(fresh_database)) as migration:
        migration.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        with pytest.raises(BackupError, match=r"a migration .* held the schema for 1 s"):
            back_up(fresh_database, target=tmp_path / "during.backup")
        assert not list(tmp_path.iterdir())
    written = back_up(fresh_database, target=tmp_path / "after.backup")  # the migration is over
    assert written.head.tx_seq > 0


def test_a_ledger_kept_in_its_own_schema_is_restored_there(
    server_url: str, empty_database: tuple[str, str], tmp_path: Path
) -> None:
    """Found by a review: the check asked for the schema to exist already, and pg_restore then
    failed creating it; a ledger outside `public` could never be restored."""
    kept_name = f"ledger_kept_{uuid.uuid4().hex[:8]}"
    kept_url = create_database(server_url, kept_name)
    restored_url, restored_name = empty_database
    try:
        for url, name in ((kept_url, kept_name), (restored_url, restored_name)):
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {name} SET search_path = ledger")
        with psycopg.connect(libpq_url(kept_url), autocommit=True) as conn:
            conn.execute("CREATE SCHEMA ledger")
        migrate_schema(kept_url)  # the schema alone (genesis would add 10 s and nothing here)
        written = back_up(kept_url, target=tmp_path / "kept.backup")
        archived = read_archive(tmp_path / "kept.backup", known_revisions=KNOWN)
        assert (archived.schema, archived.schema_revision) == ("ledger", SCHEMA_REVISION)
        restore(restored_url, source=tmp_path / "kept.backup", archived=archived)
        with psycopg.connect(libpq_url(restored_url)) as conn:
            restored = conn.execute("SELECT current_schema(), version_num FROM alembic_version").fetchone()
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'ledger'").fetchone()
        assert restored == ("ledger", SCHEMA_REVISION) and written.head.tx_seq == 0
        assert tables is not None and tables[0] > 20
        with psycopg.connect(libpq_url(restored_url), autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {restored_name} SET search_path = public")
        with pytest.raises(BackupError, match="in schema ledger, but this user's connections would read"):
            restore(restored_url, source=tmp_path / "kept.backup", archived=archived)
    finally:
        drop_database(server_url, kept_name)
        drop_database(server_url, restored_name)
