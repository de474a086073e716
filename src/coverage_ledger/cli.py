"""The `coverage-ledger` command."""

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import psycopg
import typer
import uvicorn
from sqlalchemy.exc import OperationalError

from coverage_ledger import __version__
from coverage_ledger.app import create_app
from coverage_ledger.canonical import GIVEN_HASH_TEXT
from coverage_ledger.cli_database import db_app
from coverage_ledger.cli_import import import_with_progress, print_outcome
from coverage_ledger.cli_keys import keys_app
from coverage_ledger.cli_support import configure_logging, console, run_work
from coverage_ledger.database.embedded import EmbeddedClusterError
from coverage_ledger.database.location import database_url
from coverage_ledger.database.migrate import SchemaRefused, upgrade_database
from coverage_ledger.demo.guide import print_guide
from coverage_ledger.demo.loader import load_demo
from coverage_ledger.errors import LedgerError
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.verification import verify_ledger
from coverage_ledger.settings import SettingsError, get_settings
from coverage_ledger.uploads.service import UploadOptions, UploadRecord, check_choices

app = typer.Typer(
    help="coverage-ledger: a bitemporal ledger of JKK/JKM coverage. Uses DATABASE_URL, or the "
    "embedded PostgreSQL in LEDGER_DATA_DIR when it is unset.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


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


SHUTDOWN_GRACE_SECONDS = 30
"""How long `serve` waits, once told to stop, for responses still being sent."""


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM before the server runs: leave as an interrupt would, through the `finally` blocks."""
    raise SystemExit(128 + signum)


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
    configure_logging()
    # The server's log format names no source line, thread or process: skip collecting them for
    # every record (the logging HOWTO's "Optimization"), as there is an access line per request.
    logging._srcfile = None  # the documented switch for caller lookups
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    settings = get_settings()
    bind_host, bind_port = host or settings.ledger_host, port or settings.ledger_port
    _check_bindable(bind_host, bind_port)
    # until uvicorn takes the signals over: a SIGTERM (docker, systemd) during the migrations or
    # genesis unwinds through the `finally` below, which stops the embedded cluster (found by an
    # operator probe: it left the postmaster running)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    url, cluster = database_url(settings)
    stopping = threading.Event()
    try:
        written = upgrade_database(url)
        if written:
            logging.getLogger(__name__).info("genesis written: tx %s", written)
        application = create_app(database_url=url, pool_size=settings.ledger_pool_size)
        config = uvicorn.Config(
            application,
            host=bind_host,
            port=bind_port,
            access_log=False,  # the app writes its own, with durations (http/access_log.py)
            # a report still streaming when the service is told to stop is cut off after this
            # (its access line says so), not waited for as long as the client reads
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        if cluster is not None:
            cluster.keep_running(stopping)
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
    report = run_work(lambda session: verify_ledger(session, from_hash=from_hash), migrate=False, reads=True)
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
    differences = run_work(rebuild_check, migrate=False, reads=True)
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
    committee: Annotated[
        str | None,
        typer.Option(
            help="The committee (or sponsor) whose roster this is (default: the --key's organisation; "
            "required without a --key)."
        ),
    ] = None,
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

    Exit status 0 when it succeeded; 1 when it failed (the row errors are written to a CSV file);
    2 when the options, the key or the database refused it before it started; 130 when interrupted
    before it committed (nothing is written)."""
    configure_logging()
    logging.getLogger("coverage_ledger.uploads").setLevel(logging.WARNING)
    options = UploadOptions(kind=kind, committee=committee, dry_run=dry_run, policy=policy, mode=mode)
    if key is None and not (committee or "").strip():
        console.print("[red]error:[/red] give --committee (or a --key, whose organisation it then is)")
        raise typer.Exit(2)
    if file.stat().st_size == 0:
        # as `POST /v1/uploads` answers it: refused, and no upload recorded (a probe found the CLI
        # recording a failed upload where the API records nothing)
        console.print("[red]error:[/red] the file is empty (empty_file): nothing to upload")
        raise typer.Exit(2)
    if errors is not None and (
        errors.resolve() == file.resolve() or (errors.exists() and os.path.samefile(errors, file))
    ):
        # found by a CLI probe: the roster was overwritten with its own row errors
        console.print("[red]error:[/red] --errors names the roster itself; give another file")
        raise typer.Exit(2)
    try:
        check_choices(options=options)  # before a cluster is started and a progress bar drawn
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    settings = get_settings()
    url, _cluster = database_url(settings)
    upgrade_database(url)

    finished: list[UploadRecord] = []
    """The upload's record once the import has it: an interrupt after that (the engine closing,
    the event loop shutting down) tells its outcome, not "nothing was written" (found by a probe)."""
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
                finished=finished,
            )
        )
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    except (KeyboardInterrupt, asyncio.CancelledError):
        if not finished:
            console.print("[yellow]interrupted:[/yellow] nothing was written; the upload is marked failed")
            raise typer.Exit(130) from None
        record, earlier = finished[-1], False
        console.print(
            "[yellow]interrupted after the upload had finished:[/yellow] its outcome stands, as below; "
            f"GET /v1/uploads/{record.upload_id}/errors lists any rows refused"
        )
    # the outcome is known: a further Ctrl-C or kill would only cut the report of it short
    handlers = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        failed = print_outcome(console, record, earlier=earlier)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if failed:
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
    configure_logging()
    logging.getLogger("coverage_ledger.ledger.service").setLevel(logging.WARNING)
    loaded = run_work(lambda session: load_demo(session, scale=scale))
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
        # 2, as for a ledger that is not there: 1 is a broken chain's (`verify`) or a failed
        # upload's, and a database out of reach is neither (found by a CLI probe)
        raise SystemExit(2) from None
    except (EmbeddedClusterError, SchemaRefused) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None
