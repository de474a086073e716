"""`python -m coverage_ledger` runs the CLI."""

from coverage_ledger.cli import main

main()
