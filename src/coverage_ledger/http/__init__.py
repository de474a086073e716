"""HTTP plumbing shared by the endpoints: problem responses, the request transaction, the caller."""
