"""The event ledger: append, hash chain, projections, verification."""
