"""`coverage-ledger db upgrade`: Alembic to head, then the reference data genesis."""

import asyncio
import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.claims.rebuild import reproject_claims
from coverage_ledger.coverage.spans import backfill_spans
from coverage_ledger.coverage.spans_repository import needs_backfill as spans_needs_backfill
from coverage_ledger.database.engine import (
    APPLICATION_NAME,
    WRITER_ROLE,
    create_engine_for,
    create_sync_engine,
    libpq_url,
    network_arguments,
    service_options,
    session_factory,
)
from coverage_ledger.database.writer_role import grant_writer_role
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.repository import take_append_lock
from coverage_ledger.reference.genesis import ensure_reference_data

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MIGRATION_LOCK_KEY = 0x6D696772617465  # "migrate": held by the transaction that runs the migrations


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic configuration for this project, bound to a URL or an open connection."""
    ini = PROJECT_ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class SchemaRefused(Exception):
    """The database's schema is not this release's to change now; the message says why and what to do."""


_OTHER_SESSIONS = text(
    "SELECT count(*), string_agg(DISTINCT coalesce(nullif(application_name, ''), 'unnamed client'), ', ') "
    "FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    # this release's own processes starting at the same moment (`serve` and `keys create`) migrate
    # by the same rules, one after the other under the lock: only other releases are in the way
    "  AND application_name IS DISTINCT FROM :ours "
    # a role without pg_read_all_stats sees other roles' sessions with backend_type NULL (found by
    # a review: the service's own role, when migrations run as the owner); a session has a user,
    # an autovacuum worker none
    "  AND (backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL)) "
    # a process started at the same moment, waiting for the migration lock, is no user of the schema
    "  AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "                  AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = :key)"
)


def _check_upgradable(connection: Connection, config: Config, *, allow_other_sessions: bool) -> None:
    """Refuse a schema from a newer release, and migrations while other sessions use the database:
    an older release still serving went on writing with its own rules on the migrated schema (a
    claim's due date its rebuild then disowned, a manifest naming the old version over new bytes;
    found by an upgrade probe)."""
    current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(config)
    if current is None or current == scripts.get_current_head():
        return
    if current not in {script.revision for script in scripts.walk_revisions()}:
        raise SchemaRefused(
            f"the database's schema is at revision {current}, which this release ({__version__}) does "
            "not know: a newer release upgraded it. Run that release (or a newer one)"
        )
    if not allow_other_sessions:
        _refuse_other_sessions(
            connection,
            f"the schema needs migrating ({current} to {scripts.get_current_head()}) while",
            "(a release still serving would go on writing by its own rules) and start again; "
            "`coverage-ledger db upgrade --allow-other-sessions` migrates regardless",
        )


def _refuse_other_sessions(
    connection: Connection, refused: str, advice: str, *, this_release_too: bool = False
) -> None:
    """`SchemaRefused` (`refused` … `advice`) when other sessions use the database: of another
    release, or with `this_release_too` of this one as well (a downgrade takes the schema from
    under this release's own `serve`; found by a review)."""
    ours = "" if this_release_too else APPLICATION_NAME
    others, names = connection.execute(_OTHER_SESSIONS, {"key": MIGRATION_LOCK_KEY, "ours": ours}).one()
    if others:
        raise SchemaRefused(
            f"{refused} {others} other session(s) use the database ({names}): stop every "
            f"coverage-ledger process using it {advice}"
        )


def downgrade_schema(url: str, revision: str, *, allow_other_sessions: bool = False) -> str:
    """Run the Alembic migrations down to `revision`, an earlier release's schema (README,
    "Upgrading"); the revision the database was at. Refused for a revision this release does not
    know or that is not below the database's, and while other sessions use the database."""
    engine = create_sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config = alembic_config(connection=connection)
            current = MigrationContext.configure(connection).get_current_revision()
            scripts = ScriptDirectory.from_config(config)
            known = [script.revision for script in scripts.walk_revisions()]  # newest first
            if current not in known:
                raise SchemaRefused(
                    f"the database's schema is at revision {current or 'none'}, which this release "
                    f"({__version__}) cannot downgrade"
                )
            if revision not in known or known.index(revision) <= known.index(current):
                raise SchemaRefused(
                    f"revision {revision!r} is not one below the database's ({current}); "
                    f"this release knows {', '.join(reversed(known))}"
                )
            if not allow_other_sessions:
                _refuse_other_sessions(
                    connection,
                    f"the schema is not downgraded ({current} to {revision}) while",
                    "first; `--allow-other-sessions` downgrades regardless",
                    this_release_too=True,
                )
            command.downgrade(config, revision)
    finally:
        engine.dispose()
    service_options.cache_clear()
    return current


def _grant_writer_rights(url: str) -> None:
    """What 0011 granted, again where it is missing, after the migrations committed: a role
    created since, or a restore stopped before its grants, would otherwise leave the service acting
    as the tables' owner for good. Never fatal: the service then acts as its user, and says so."""
    try:
        with psycopg.connect(libpq_url(url), autocommit=True, **network_arguments(url)) as conn:
            grant_writer_role(conn)
    except psycopg.Error as exc:
        log.warning("could not grant %s its rights: %s", WRITER_ROLE, str(exc).strip().splitlines()[0])


def migrate_schema(url: str, revision: str = "head", *, allow_other_sessions: bool = False) -> None:
    """Run the Alembic migrations up to `revision`."""
    engine = create_sync_engine(url)
    try:
        with engine.begin() as connection:
            # two processes started at once (`serve` and `keys create`) migrate one after the
            # other: the second then finds the schema at head
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config = alembic_config(connection=connection)
            if revision == "head":
                _check_upgradable(connection, config, allow_other_sessions=allow_other_sessions)
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    if revision == "head":
        _grant_writer_rights(url)
    service_options.cache_clear()  # the migrations may have granted (or revoked) the writer role


async def apply_pending_reprojections(session: AsyncSession) -> list[str]:
    """Rebuild from the log the projections a migration left pending (the caller holds the append
    lock); the ones rebuilt."""
    pending = await projections_repository.pending_reprojections(session)
    if "claims" in pending:
        # a migration changed how claims are projected: their history is rebuilt from the log
        rows = await reproject_claims(session)
        await projections_repository.reprojection_done(session, projection="claims")
        log.info("claim projection rebuilt from the log: %d claim_record rows", rows)
    return pending


async def _write_genesis(url: str) -> list[int]:
    engine = create_engine_for(url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            # as the migrations: a second process started at the same moment finds genesis written
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            written = await ensure_reference_data(session)
        async with session_factory(engine)() as session, session.begin():
            # nearly every start has nothing to catch up, and takes no append lock: a CLI command
            # or a restart does not wait behind a large upload's commit (found by a fault probe:
            # `keys list` waited 11.6 s, a restarted serve 36 s)
            if not (
                await spans_needs_backfill(session)
                or await projections_repository.pending_reprojections(session)
            ):
                return written
            # a ledger written before the coverage projection existed gets it now, replayed tx by tx
            await take_append_lock(session)
            replayed = await backfill_spans(session)
            if replayed:
                log.info("coverage projection built by replaying %d txs", replayed)
            await apply_pending_reprojections(session)
        return written
    finally:
        await engine.dispose()


def upgrade_database(url: str, *, allow_other_sessions: bool = False) -> list[int]:
    """Schema to head, then genesis; returns the tx_seqs of reference data written."""
    migrate_schema(url, allow_other_sessions=allow_other_sessions)
    written = asyncio.run(_write_genesis(url))
    if written:
        # fresh statistics after the bulk genesis, so the first appends are planned on real sizes
        engine = create_sync_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
        finally:
            engine.dispose()
    return written
