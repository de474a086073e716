"""API keys: creation, revocation, and authentication of requests."""
