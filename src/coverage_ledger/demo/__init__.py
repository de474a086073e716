"""`coverage-ledger demo`: a synthetic but realistic history, loaded through the backfill path."""
