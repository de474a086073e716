"""`python -m coverage_ledger` runs the CLI."""

from coverage_ledger.console_script import main

main()
