"""Database plumbing: the embedded cluster, engines, the schema models and migrations."""
