"""The `coverage-ledger` console script: loads the CLI, then runs it."""

import sys


def main() -> None:
    """Run the CLI; a Ctrl-C while its modules are still loading ends it without a traceback."""
    try:
        # loading the CLI loads the whole service (a second or more); an interrupt during it
        # printed a traceback through psycopg's or FastAPI's modules (found by a CLI probe)
        from coverage_ledger.cli import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    run_cli()
