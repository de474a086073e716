"""Where the database is: DATABASE_URL, or the embedded cluster in LEDGER_DATA_DIR."""

import logging

from coverage_ledger.database.embedded import EmbeddedCluster, EmbeddedClusterError
from coverage_ledger.settings import Settings

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> tuple[str, EmbeddedCluster | None]:
    """The URL to use, and the embedded cluster started for it (None when DATABASE_URL is set)."""
    if settings.database_url:
        return settings.database_url, None
    cluster = EmbeddedCluster(settings.ledger_data_dir)
    return cluster.ensure_database(settings.ledger_database_name), cluster


def has_embedded_cluster(settings: Settings) -> bool:
    """Whether LEDGER_DATA_DIR holds an embedded cluster already (a command that only reads should
    say a mistyped folder, not start a new cluster there)."""
    return (settings.ledger_data_dir.expanduser() / "PG_VERSION").exists()


def existing_database_url(settings: Settings) -> str:
    """The URL of a database that exists already: DATABASE_URL's, or LEDGER_DATABASE_NAME in an
    embedded cluster already in LEDGER_DATA_DIR (a mistyped name or folder is said, not created
    empty)."""
    if settings.database_url:
        return settings.database_url
    data_dir = settings.ledger_data_dir.expanduser()
    if not has_embedded_cluster(settings):
        raise EmbeddedClusterError(
            f"LEDGER_DATA_DIR {data_dir} holds no ledger (no cluster there): check LEDGER_DATA_DIR or "
            "DATABASE_URL"
        )
    cluster = EmbeddedCluster(data_dir)
    if not cluster.has_database(settings.ledger_database_name):
        raise EmbeddedClusterError(
            f"the embedded cluster in {data_dir} has no database {settings.ledger_database_name}: check "
            "LEDGER_DATABASE_NAME"
        )
    return cluster.database_url(settings.ledger_database_name)
