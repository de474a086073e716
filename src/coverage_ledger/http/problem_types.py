"""The problem types of the API's errors, each documented at its own `type` URI (RFC 9457: the
type is a URI that, dereferenced, tells a person what the problem is and what to do)."""

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from coverage_ledger.errors import NotFound

PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "bad-request": ("Bad request", "The request cannot be answered as sent."),
    "malformed-request": ("Malformed request", "The body is not valid JSON; nothing was written."),
    "validation-error": (
        "Invalid input",
        "A parameter, field or row breaks a rule; `errors` names each (`field`, or `row` and "
        "`column`) with a code and a message. Nothing was written.",
    ),
    "unstorable-value": (
        "Invalid input",
        "A value holds something PostgreSQL cannot store (a NUL character); nothing was written.",
    ),
    "unauthenticated": (
        "API key required",
        "No valid API key: send `Authorization: Bearer <key>`; a revoked or expired key is refused.",
    ),
    "forbidden": ("Not allowed for this key", "The key's role may not do this, or not in this region."),
    "not-found": (
        "Not found",
        "Nothing by that name is visible to this key: unknown, or outside its region (the same answer).",
    ),
    "conflict": (
        "Conflict with the ledger",
        "The request contradicts what the ledger holds (an overlapping term, a lapsed membership, "
        "an event id taken…); `errors` says which. Nothing was written.",
    ),
    "payload-too-large": ("Payload too large", "The file is larger than the upload limit."),
    "unsupported-media-type": (
        "Unsupported media type",
        "The body is JSON but was sent with another content type (curl's `-d` sends "
        "application/x-www-form-urlencoded): send `Content-Type: application/json`. Nothing was written.",
    ),
    "request-too-large": (
        "Request body too large",
        "The body is larger than LEDGER_REQUEST_MAX_BYTES; send large rosters to POST /v1/uploads.",
    ),
    "retry": (
        "Try again",
        "The database chose this request to give way (a deadlock or serialization failure); nothing "
        "was written. Send it again after `Retry-After` seconds.",
    ),
    "still-committing": (
        "Still committing",
        "The read asked for a moment just past, and a tx that may have been recorded by then (a "
        "large upload's) is still being committed. Ask again after `Retry-After` seconds: the "
        "answer is then given for good. `known_at=tx:N` is never held up.",
    ),
    "ledger-busy": (
        "Ledger busy",
        "Another tx (a large upload) held the append lock for longer than the service waits "
        "(LEDGER_APPEND_WAIT_SECONDS); nothing was written. Send the same batch again after "
        "`Retry-After` seconds.",
    ),
    "database-unavailable": (
        "Database unavailable",
        "The database could not be reached or did not answer in time. Try again after "
        "`Retry-After` seconds; an append resent with the same event ids is recognised if it landed.",
    ),
    "http-error": ("HTTP error", "An unknown path, or a method the path does not take (see `Allow`)."),
    "internal-error": (
        "Internal error",
        "Something nobody planned for; it was logged, and nothing was committed.",
    ),
}
"""Every `type` the service answers with: its title and what it means for the caller."""

router = APIRouter(tags=["operations"])


class ProblemTypeOut(BaseModel):
    """What a problem type means."""

    type: str = Field(description="The type URI, as problem responses carry it.")
    title: str
    description: str


@router.get("/problems/{slug}", response_model=ProblemTypeOut, summary="What a problem type means")
async def get_problem_type(
    slug: str = Path(description="The last part of a problem's `type`."),
) -> ProblemTypeOut:
    """The documentation of one problem type (no key needed: it tells nothing of the ledger)."""
    if slug not in PROBLEM_TYPES:
        raise NotFound(f"no problem type {slug!r}")
    title, description = PROBLEM_TYPES[slug]
    return ProblemTypeOut(type=f"/problems/{slug}", title=title, description=description)
