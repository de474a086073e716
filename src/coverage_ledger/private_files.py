"""Files holding personal data (rosters as received, their CSV conversions) readable by the
service's user alone, whatever the process umask (often 022, which left a queued roster readable
by every local user; found by a privacy probe)."""

import os
from pathlib import Path
from typing import BinaryIO


def private_directory(directory: Path) -> Path:
    """The folder, made if missing with access for the service's user alone. An existing one is
    left as the operator made it (it may be shared or mounted): the files in it are private."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def create_private(path: Path) -> BinaryIO:
    """A new file opened for writing, readable and writable by the service's user alone."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
