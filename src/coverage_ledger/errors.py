"""The one error hierarchy of the service; `http/problems.py` maps it to RFC 9457 responses."""

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One precise complaint: about a field (JSON path) or a row (file line) and its column."""

    code: str
    message: str
    field: str | None = None
    row: int | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The problem+json `errors[]` entry, without empty keys."""
        item: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            item["field"] = self.field
        if self.row is not None:
            item["row"] = self.row
        if self.column is not None:
            item["column"] = self.column
        return item


@dataclass
class LedgerError(Exception):
    """Base of every error the service raises on purpose; never a 500."""

    detail: str
    errors: list[ErrorItem] = field(default_factory=list)
    status = 400
    slug = "bad-request"
    title = "Bad request"
    retry_after: ClassVar[int | None] = None
    """Seconds for a `Retry-After` header (a 503 the caller should retry)."""

    def __str__(self) -> str:
        return self.detail


class InvalidInput(LedgerError):
    """The request is well-formed but some field or row breaks a rule."""

    status = 422
    slug = "validation-error"
    title = "Invalid input"


class MalformedRequest(LedgerError):
    """The request body cannot be read at all (not JSON, wrong encoding)."""

    status = 400
    slug = "malformed-request"
    title = "Malformed request"


class UnsupportedMediaType(LedgerError):
    """The body came in a media type the operation does not take (JSON where a form is expected)."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class NotFound(LedgerError):
    """Nothing visible to the caller at this address; the same for unknown and out-of-scope."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(LedgerError):
    """The request contradicts what the ledger already holds."""

    status = 409
    slug = "conflict"
    title = "Conflict with the ledger"


class Unauthenticated(LedgerError):
    """No valid API key was presented."""

    status = 401
    slug = "unauthenticated"
    title = "API key required"


class Forbidden(LedgerError):
    """The key's role or region does not allow this."""

    status = 403
    slug = "forbidden"
    title = "Not allowed for this key"


class PayloadTooLarge(LedgerError):
    """The request body exceeds the configured limit."""

    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class StillCommitting(LedgerError):
    """A read of a moment just past met a tx being committed that may belong to it: asked again
    shortly, it is answered for good."""

    status = 503
    slug = "still-committing"
    title = "Still committing"
    retry_after = 5


class DatabaseUnresponsive(LedgerError):
    """The database took the connection but did not answer in time (frozen, or swamped)."""

    status = 503
    slug = "database-unavailable"
    title = "Database unavailable"
    retry_after = 5


class FieldProblem(ValueError):
    """A check across fields of a request model that names the field at fault: the problem's
    `field` points at it rather than at the whole object."""

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        """The problem's code when it has its own (as a roster row's error names it); else the
        code of any value error."""
