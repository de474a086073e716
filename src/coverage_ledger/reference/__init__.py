"""Reference data shipped with a release and written into the ledger as genesis txs."""
