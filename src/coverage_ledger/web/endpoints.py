"""The web pages, served by the same app: sign-in with an API key (a server-side session behind
an HttpOnly cookie), a region's ratios with the two time controls, a person's status and
bitemporal picture, the region's claims. Same roles and region scoping as the API; every asset
is served here."""

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from coverage_ledger.auth.web_sessions import end_web_session, start_web_session, web_session_principal
from coverage_ledger.claims.service import list_claims
from coverage_ledger.coverage.endpoints import read_point
from coverage_ledger.coverage.history import person_history
from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.domain.access import Principal
from coverage_ledger.domain.months import Month, months_between
from coverage_ledger.domain.nik import NIK_PATTERN, nik_read_problem
from coverage_ledger.domain.potential import SEGMENTS
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.errors import ErrorItem, InvalidInput, LedgerError, Unauthenticated
from coverage_ledger.http.access_log import note_caller
from coverage_ledger.http.dependencies import Now, Session
from coverage_ledger.http.paging import CURSOR_PATTERN, claim_filters, page_cursor, page_point
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions.service import (
    provinces_at,
    region_coverage,
    region_coverage_on_days,
)
from coverage_ledger.web.labels import (
    LABELS,
    LANGUAGES,
    moment,
    percent,
    status_words,
    typed_moment,
    whole_number,
    yes_no,
)
from coverage_ledger.web.pictures import bitemporal_svg, rectangles_of, series_svg
from coverage_ledger.web.session import (
    COOKIE,
    LANGUAGE_COOKIE,
    MAX_AGE_SECONDS,
    same_site_form,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _in_language(write: Callable[[Any, str], str]) -> Callable[[Context, Any], str]:
    """A template filter that writes its value in the page's language."""

    @pass_context
    def apply(context: Context, value: Any) -> str:
        return write(value, context["lang"])

    return apply


templates.env.filters |= {
    "status": _in_language(status_words),
    "number": _in_language(whole_number),
    "percent": _in_language(percent),
    "yes_no": _in_language(yes_no),
    "moment": moment,
}
SERIES_MONTHS = 12


async def web_principal(request: Request, session: Session, now: Now) -> Principal | None:
    """The signed-in key, or None (no cookie, an unknown or ended session, a revoked or expired key)."""
    principal = await web_session_principal(session, token=request.cookies.get(COOKIE), now=now)
    if principal is not None:
        note_caller(request, principal)
        request.state.visitor = principal  # for an error page rendered outside the endpoint
    return principal


Visitor = Annotated[Principal | None, Depends(web_principal)]


def language_of(request: Request) -> str:
    """The language the visitor chose for the pages (Indonesian unless told otherwise)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "id")
    return chosen if chosen in LANGUAGES else "id"


def page(
    request: Request, template: str, principal: Principal | None, status: int = 200, **context: Any
) -> Response:
    language = language_of(request)
    return templates.TemplateResponse(
        request,
        template,
        {"t": LABELS[language], "lang": language, "principal": principal, **context},
        status_code=status,
    )


def problem_page(request: Request, principal: Principal | None, error: LedgerError) -> Response:
    """An error as a page, with the status the API would give."""
    return page(request, "problem.html", principal, status=error.status, error=error)


def error_page(request: Request, error: LedgerError) -> Response:
    """An error met outside an endpoint (an invalid query, a refused form, an unknown page) as a
    page, with the header of the signed-in visitor when the request got as far as knowing them."""
    visitor = getattr(request.state, "visitor", None)
    if visitor is None and error.status == 422 and request.url.path != "/sign-in":
        return sign_in_first()  # a signed-out visitor is told to sign in, not what a page's query lacks
    return problem_page(request, visitor, error)


def sign_in_first() -> Response:
    """Where a visitor without a (valid) session goes."""
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/")
async def home(visitor: Visitor) -> Response:
    if visitor is None:
        return sign_in_first()
    return RedirectResponse(f"/regions/{visitor.region_prefix}" if visitor.region_prefix else "/regions", 303)


@router.get("/sign-in")
async def sign_inpage(request: Request, visitor: Visitor) -> Response:
    return page(request, "sign_in.html", visitor)


@router.post("/sign-in", dependencies=[Depends(same_site_form)])
async def sign_in(
    request: Request, session: Session, now: Now, api_key: Annotated[str, Form(max_length=200)]
) -> Response:
    if len((await request.form()).getlist("api_key")) > 1:
        # two keys in one form: signing in as either would be a guess (found by a web probe: the
        # last one won), as an upload's repeated field is refused
        return page(request, "sign_in.html", None, status=400, two_keys=True)
    try:
        principal, token = await start_web_session(session, secret=api_key.strip(), now=now)
    except Unauthenticated:
        return page(request, "sign_in.html", None, status=401, failed=True)
    # the session this browser held before (another key, perhaps) ends with the new one's start
    await end_web_session(session, token=request.cookies.get(COOKIE))
    response = RedirectResponse(
        f"/regions/{principal.region_prefix}" if principal.region_prefix else "/regions", 303
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/sign-out", dependencies=[Depends(same_site_form)])
async def sign_out(request: Request, session: Session) -> Response:
    await end_web_session(session, token=request.cookies.get(COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/language/{language}")
async def choose_language(language: str, next_page: Annotated[str, Query(alias="next")] = "/") -> Response:
    # a path on this site only: `//host` and `/\host` are read by browsers as another site
    local = next_page.startswith("/") and not next_page.startswith(("//", "/\\")) and "\\" not in next_page
    target = next_page if local else "/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


async def point_of(session: Session, now: Now, valid_at: str | None, known_at: str | None) -> AsOf:
    """The page's (valid_at, known_at), as the API resolves them; a moment as the pages show it
    is read too."""
    return await read_point(
        session=session, today=jakarta_date(now), valid_at=valid_at, known_at=typed_moment(known_at)
    )


@router.get("/regions")
async def provinces(request: Request, session: Session, now: Now, visitor: Visitor) -> Response:
    if visitor is None:
        return sign_in_first()
    if visitor.region_prefix:  # a key of one province or regency sees no other province
        return RedirectResponse(f"/regions/{visitor.region_prefix}", 303)
    point = await point_of(session, now, None, None)
    rows = await provinces_at(session, point=point)
    return page(request, "provinces.html", visitor, provinces=[r for r in rows if visitor.sees(r.code)])


@router.get("/regions/{code}")
async def region_page(
    code: str,
    request: Request,
    session: Session,
    now: Now,
    visitor: Visitor,
    valid_at: str | None = None,
    known_at: str | None = None,
    segment: str = "all",
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        point = await point_of(session, now, valid_at or None, known_at or None)
        segment = segment if segment in SEGMENTS else "all"
        result = await region_coverage(session, principal=visitor, code=code, as_of=point, segment=segment)
        last = Month.of(point.valid_at)
        days = months_between(last.plus(1 - SERIES_MONTHS).first_day, last.first_day)
        series = await region_coverage_on_days(
            session,
            principal=visitor,
            code=code,
            tx_seq=point.tx_seq,
            days=days,
            segment=segment,
            skip_missing=True,
        )
    except LedgerError as error:
        return problem_page(request, visitor, error)
    chart = series_svg(
        [(day, series[day].region.ratio if day in series else None) for day in days],
        label=LABELS[language_of(request)]["series"],
        language=language_of(request),
    )
    return page(
        request,
        "region.html",
        visitor,
        result=result,
        point=point,
        segment=segment,
        chart=chart,
        valid_at=valid_at or "",
        known_at=known_at or "",
    )


@router.get("/persons")
async def person_lookup(request: Request, visitor: Visitor, nik: str | None = None) -> Response:
    if visitor is None:
        return sign_in_first()
    if nik:
        malformed = _malformed_nik(nik.strip())
        if malformed is not None:
            return problem_page(request, visitor, malformed)
        return RedirectResponse(f"/persons/{nik.strip()}", status_code=303)
    return page(request, "person.html", visitor, nik="", coverage=None)


def _malformed_nik(text: str) -> InvalidInput | None:
    """422 for a typed NIK that is not 16 digits, said as the API and the uploads say it (a
    spreadsheet's 1.6E+15, a missing digit), not as "nothing visible"."""
    if re.fullmatch(NIK_PATTERN, text):
        return None
    problem = nik_read_problem(text, field="nik")
    return None if problem is None else InvalidInput(problem.message, [problem])


@router.get("/persons/{nik}")
async def person_page(
    nik: str,
    request: Request,
    session: Session,
    now: Now,
    visitor: Visitor,
    valid_at: str | None = None,
    known_at: str | None = None,
) -> Response:
    if visitor is None:
        return sign_in_first()
    malformed = _malformed_nik(nik)
    if malformed is not None:
        return problem_page(request, visitor, malformed)
    try:
        point = await point_of(session, now, valid_at or None, known_at or None)
        coverage = await person_coverage(session, principal=visitor, nik=nik, as_of=point)
        history = await person_history(session, principal=visitor, nik=nik, as_of=point)
    except LedgerError as error:
        return problem_page(request, visitor, error)
    events = history["events"]
    until = max([point.valid_at, *(date.fromisoformat(e["valid_to"]) for e in events if e.get("valid_to"))])
    picture = bitemporal_svg(
        rectangles_of(events, until=until),
        head_tx=point.tx_seq,
        label=LABELS[language_of(request)]["picture"],
    )
    return page(
        request,
        "person.html",
        visitor,
        nik=nik,
        coverage=coverage.answer,
        point=point,
        events=events,
        outside=history["events_outside_region"],
        picture=picture,
        valid_at=valid_at or "",
        known_at=known_at or "",
    )


@router.get("/claims")
async def claims_page(
    request: Request,
    session: Session,
    now: Now,
    visitor: Visitor,
    overdue: bool = False,
    cursor: str | None = None,
    valid_at: str | None = None,
    known_at: str | None = None,
) -> Response:
    if visitor is None:
        return sign_in_first()
    try:
        if cursor is not None and not re.fullmatch(CURSOR_PATTERN, cursor):
            raise InvalidInput(
                "the cursor is not one this service issued",
                [ErrorItem("invalid_cursor", "follow the page's own link", field="cursor")],
            )
        point = await point_of(session, now, valid_at or None, known_at or None)
        # every page at the first page's tx and day, as the API's list pages are read
        filters = claim_filters(principal=visitor, region=None, statuses=None, overdue=overdue)
        point, after = await page_point(session, request, point, cursor, filters=filters)
        claims = await list_claims(
            session,
            principal=visitor,
            as_of=point,
            region=None,
            statuses=None,
            overdue=overdue,
            cursor=after,
            limit=100,
        )
    except LedgerError as error:
        return problem_page(request, visitor, error)
    return page(
        request,
        "claims.html",
        visitor,
        page=claims,
        next_cursor=page_cursor(point, claims.next_cursor, filters=filters),
        overdue=overdue,
        point=point,
        valid_at=valid_at or "",
        # a next page reads its first page's tx: the form keeps it, so a change of filter stays there
        known_at=known_at or (f"tx:{point.tx_seq}" if cursor else ""),
    )
