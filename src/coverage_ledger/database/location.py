"""Where the database is: DATABASE_URL, or the embedded cluster in LEDGER_DATA_DIR."""

import logging

from coverage_ledger.database.embedded import EmbeddedCluster
from coverage_ledger.settings import Settings

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> tuple[str, EmbeddedCluster | None]:
    """The URL to use, and the embedded cluster started for it (None when DATABASE_URL is set)."""
    if settings.database_url:
        return settings.database_url, None
    cluster = EmbeddedCluster(settings.ledger_data_dir)
    return cluster.ensure_database(settings.ledger_database_name), cluster
