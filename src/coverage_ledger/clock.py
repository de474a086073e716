"""The real clock: read only at the edges (the app's state, the CLI, start-up), and passed in
from there to everything that needs the time."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
