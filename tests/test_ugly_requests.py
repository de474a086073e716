"""Ugly requests get a 4xx problem, never a 500, and write nothing."""

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from coverage_ledger.ledger.term_checks import MAX_TERMS_PER_PERSON
from tests.claims_support import filed
from tests.support import (
    BARE_ENROLMENT,
    BARE_PAYMENT,
    BARE_REGISTRATION,
    Keys,
    enrolled,
    head_tx,
    nik,
    registered,
)

UGLY_BODIES = [
    (b"", "application/json"),
    (b"[]", "application/json"),
    (b'{"events": "x"}', "application/json"),
    (b'{"events": [42]}', "application/json"),
    (b'{"events": [{"type": null}]}', "application/json"),
    (json.dumps({"events": [BARE_REGISTRATION | {"nik": 1671014501900001}]}).encode(), "application/json"),
    (b'{"events": [{"event_id": "a\\u0000b", "type": "person.registered"}]}', "application/json"),
    ('\ufeff{"events": []}'.encode(), "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"events=1", "application/x-www-form-urlencoded"),
    (
        json.dumps({"events": [BARE_PAYMENT]}).replace('"amount": 1', '"amount": 1e400').encode(),
        "application/json",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), UGLY_BODIES)
async def test_ugly_bodies_are_4xx_problems(
    client: AsyncClient, keys: Keys, body: bytes, content_type: str
) -> None:
    response = await client.post(
        "/v1/events", content=body, headers=Keys.header(keys.admin) | {"content-type": content_type}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/persons/١٦٧١٠١٤٥٠١٩٠٠٠٠١/coverage",
        "/v1/persons/1671014501900001/coverage?valid_at=2024-02-30",
        "/v1/persons/1671014501900001/coverage?known_at=tx:" + "9" * 65,
        "/v1/persons/1671014501900001/coverage?known_at=2024-02-20T25:00:00%2B07:00",
        "/v1/persons?limit=100000",
    ],
)
async def test_ugly_queries_are_4xx_problems(client: AsyncClient, keys: Keys, path: str) -> None:
    response = await client.get(path, headers=Keys.header(keys.admin))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_over_the_ceiling_is_413_whether_declared_or_streamed(
    client: AsyncClient, keys: Keys
) -> None:
    head = await head_tx(client, keys)
    padding = b" " * (33 << 20)  # past the default LEDGER_REQUEST_MAX_BYTES of 32 MiB
    headers = Keys.header(keys.admin) | {"content-type": "application/json"}
    declared = await client.post("/v1/events", content=b'{"events": []' + padding + b"}", headers=headers)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"events": ['
        for _ in range(33):
            yield b" " * (1 << 20)
        yield b"]}"

    streamed = await client.post("/v1/events", content=chunks(), headers=headers)
    # the route, not the client's Content-Type, decides what streams to disk
    disguised = await client.post(
        "/v1/events", content=padding, headers=headers | {"content-type": "multipart/form-data; boundary=x"}
    )
    for response in (declared, streamed, disguised):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "LEDGER_REQUEST_MAX_BYTES" in response.json()["detail"]
    assert await head_tx(client, keys) == head


@pytest.mark.parametrize(
    ("path", "blank"),
    [
        ("/v1/regions/16/coverage?valid_at=2024-02-01", "segment"),
        ("/v1/reports/coverage-roster?region=16&valid_at=2024-02-01&known_at=tx:5", "format"),
        ("/v1/persons?region=16&valid_at=2024-02-01", "status"),
        ("/v1/payouts?region=16", "group_by"),
        ("/v1/uploads?", "limit"),
        ("/v1/ledger/export?to_tx=3", "from_tx"),
    ],
)
async def test_a_parameter_without_a_value_takes_its_default(
    client: AsyncClient, keys: Keys, path: str, blank: str
) -> None:
    """DESIGN.md: query parameters without a value take their defaults (a contract probe found
    only the time parameters did; `?segment=` was refused)."""
    headers = Keys.header(keys.admin)
    plain = await client.get(path, headers=headers)
    assert plain.status_code == 200, plain.text
    for given in (f"{blank}=", blank):
        answer = await client.get(f"{path}&{given}", headers=headers)
        assert (answer.status_code, answer.content) == (200, plain.content), given


async def test_a_person_search_outside_the_keys_region_is_the_same_404_as_an_unknown_region(
    client: AsyncClient, keys: Keys
) -> None:
    outside = await client.get("/v1/persons?region=32", headers=Keys.header(keys.office))
    unknown = await client.get("/v1/persons?region=99", headers=Keys.header(keys.office))
    assert outside.status_code == unknown.status_code == 404
    inside = await client.get("/v1/persons?region=16.71", headers=Keys.header(keys.office))
    assert inside.status_code == 200


@pytest.mark.parametrize("cursor", ["';drop table x;--", "zz zz", "-x"])
async def test_a_claims_cursor_is_a_claim_id(client: AsyncClient, keys: Keys, cursor: str) -> None:
    response = await client.get("/v1/claims", params={"cursor": cursor}, headers=Keys.header(keys.admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (BARE_ENROLMENT | {"valid_to": "2024-01-25"}, "events[0].valid_to"),
        (BARE_ENROLMENT | {"programs": ["JKK", "JKK"]}, "events[0].programs"),
        (BARE_ENROLMENT | {"valid_to": "9999-12-31"}, "events[0].valid_to"),
        (BARE_ENROLMENT | {"valid_from": "0001-01-01"}, "events[0].valid_from"),
        # found by a probe: an officer of a regency's code widened a replace_roster to the regency
        (BARE_ENROLMENT | {"region_code": "16.71"}, "events[0].region_code"),
        (BARE_ENROLMENT | {"region_code": "16"}, "events[0].region_code"),
        (
            {"event_id": "c", "type": "event.corrected", "supersedes": ["c"], "reason": "x"},
            "events[0].supersedes",
        ),
        (BARE_PAYMENT | {"months_from": "2025-03", "months_to": "2025-01"}, "events[0].months_to"),
        (BARE_PAYMENT | {"payer": {"kind": "person"}}, "events[0].payer.nik"),
    ],
)
async def test_a_check_across_fields_names_the_field_at_fault(
    client: AsyncClient, keys: Keys, event: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/events", json={"events": [event]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("lean_reads", [True, False])
async def test_a_query_parameter_given_twice_is_refused_naming_it(
    app: FastAPI, client: AsyncClient, keys: Keys, lean_reads: bool
) -> None:
    app.state.lean_reads = lean_reads
    path = "/v1/persons/1671014501900001/coverage?known_at=tx:1&valid_at=2024-02-01&known_at=2024-01-01"
    response = await client.get(path, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"code": "repeated_parameter", "message": "given more than once", "field": "known_at"}
    ]
    once = await client.get(path.rsplit("&", 1)[0], headers=Keys.header(keys.admin))
    assert once.json()["type"] == "/problems/not-found", once.text  # the query passed: nobody there


async def test_a_repeated_parameter_without_a_key_is_the_401_first(client: AsyncClient) -> None:
    response = await client.get("/v1/persons?limit=5&limit=6")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_list_parameter_may_repeat(client: AsyncClient, keys: Keys) -> None:
    response = await client.get("/v1/claims?status=filed&status=paid", headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text
    repeated = await client.get("/v1/claims?limit=5&limit=6", headers=Keys.header(keys.admin))
    assert repeated.status_code == 422
    assert repeated.json()["errors"][0]["field"] == "limit"


async def test_a_query_parameter_the_operation_does_not_take_is_refused_not_ignored(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: `GET /v1/claims?nik=…` answered every claim of the region as if
    filtered. A backfill's `recorded_at` sent in the query instead of the body would have been
    recorded now."""
    claims = await client.get("/v1/claims?nik=1671014501900001", headers=Keys.header(keys.admin))
    assert claims.status_code == 422, claims.text
    error = claims.json()["errors"][0]
    assert (error["code"], error["field"]) == ("unknown_parameter", "nik")
    assert "status" in error["message"]  # what it does take
    head = await head_tx(client, keys)
    backfill = await client.post(
        "/v1/events?recorded_at=2024-01-01T00:00:00Z",
        json={"events": [BARE_REGISTRATION | {"nik": "1671014501900001", "region_code": "16.71.01"}]},
        headers=Keys.header(keys.admin),
    )
    assert backfill.status_code == 422 and backfill.json()["errors"][0]["field"] == "recorded_at"
    assert await head_tx(client, keys) == head
    # what an operation documents passes, and an unknown path is still the 404
    assert (
        await client.get("/v1/claims?status=paid&limit=5", headers=Keys.header(keys.admin))
    ).status_code == 200
    assert (await client.get("/v1/nothing?x=1", headers=Keys.header(keys.admin))).status_code == 404


async def test_head_is_answered_as_get_without_the_body(client: AsyncClient, keys: Keys) -> None:
    got = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
    head = await client.head("/v1/ledger/head", headers=Keys.header(keys.admin))
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]
    assert (await client.head("/healthz")).status_code == 200
    assert (await client.head("/v1/ledger/head")).status_code == 401  # the key is checked as for GET
    refused = await client.head("/v1/events", headers=Keys.header(keys.admin))
    assert refused.status_code == 405 and "POST" in refused.headers["allow"]
    posted = await client.post("/v1/ledger/head", headers=Keys.header(keys.admin))
    assert posted.status_code == 405
    assert sorted(m.strip() for m in posted.headers["allow"].split(",")) == ["GET", "HEAD"]


async def test_a_person_holds_at_most_a_bounded_number_of_officer_terms(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: thousands of one-day terms of one person in one batch held the append
    lock and the event loop for minutes (the work grows with the square of their number)."""
    person = nik()
    days = [date(2010, 1, 1) + timedelta(days=2 * i) for i in range(MAX_TERMS_PER_PERSON + 1)]
    terms = [
        enrolled(
            person,
            event_id=f"day-{i}",
            valid_from=d.isoformat(),
            valid_to=(d + timedelta(days=1)).isoformat(),
        )
        for i, d in enumerate(days)
    ]
    head = await head_tx(client, keys)
    refused = await client.post(
        "/v1/events", json={"events": [registered(person), *terms]}, headers=Keys.header(keys.admin)
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["code"] == "too_many_terms" and str(MAX_TERMS_PER_PERSON) in error["message"], error
    assert await head_tx(client, keys) == head
    accepted = await client.post(
        "/v1/events", json={"events": [registered(person), *terms[:-1]]}, headers=Keys.header(keys.admin)
    )
    assert accepted.status_code == 200, accepted.text
    one_more = await client.post("/v1/events", json={"events": [terms[-1]]}, headers=Keys.header(keys.admin))
    assert one_more.status_code == 422 and one_more.json()["errors"][0]["field"] == "events[0]", one_more.text


async def test_a_spreadsheet_mangled_nik_in_a_read_is_said_as_the_uploads_say_it(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a probe: a path or lookup NIK that a spreadsheet turned into 1.67101E+15, or that
    lost a digit, got only the pattern `^[0-9]{16}$` back."""
    read = await client.get("/v1/persons/1.67101E%2B15/coverage", headers=Keys.header(keys.admin))
    assert read.status_code == 422, read.text
    error = read.json()["errors"][0]
    assert (error["code"], error["field"]) == ("nik_scientific_notation", "nik")
    assert "format the column as text" in error["message"]
    lookup = await client.post(
        "/v1/coverage/lookup",
        json={"niks": ["1671014501900001", "167101450190001"], "valid_at": "2024-02-01"},
        headers=Keys.header(keys.admin),
    )
    assert lookup.status_code == 422, lookup.text
    error = lookup.json()["errors"][0]
    assert (error["code"], error["field"]) == ("nik_digit_missing", "niks[1]")


async def test_a_nik_with_spaces_around_it_is_told_so_not_that_its_district_is_unknown(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a contract probe: `1671010101750041 ` was refused as `nik_unknown_district`,
    "16.71.01 is not a Kemendagri district code", of a real district."""
    for path in ("/v1/persons/1671010101750041%20/coverage", "/v1/persons/%091671010101750041/history"):
        read = await client.get(path, headers=Keys.header(keys.admin))
        assert read.status_code == 422, read.text
        assert [(e["code"], e["field"]) for e in read.json()["errors"]] == [("nik_surrounding_space", "nik")]
    lookup = await client.post(
        "/v1/coverage/lookup", json={"niks": ["1671010101750041\n"]}, headers=Keys.header(keys.admin)
    )
    assert lookup.status_code == 422, lookup.text
    assert [(e["code"], e["field"]) for e in lookup.json()["errors"]] == [
        ("nik_surrounding_space", "niks[0]")
    ]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
async def test_json_sent_with_another_content_type_is_told_to_say_json(
    client: AsyncClient, keys: Keys, content_type: str | None
) -> None:
    """Found by a probe: curl's `-d` sends form-urlencoded, and valid JSON came back as "Input
    should be a valid dictionary or object to extract fields from"."""
    head = await head_tx(client, keys)
    body = json.dumps({"events": [BARE_REGISTRATION | {"nik": nik(), "region_code": "16.71.01"}]})
    headers = Keys.header(keys.admin) | ({"content-type": content_type} if content_type else {})
    response = await client.post("/v1/events", content=body.encode(), headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/json" in response.json()["detail"]
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"
    assert await head_tx(client, keys) == head


async def test_a_region_read_says_why_it_found_nothing(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: a region code of the wrong shape in the path was a 404 "no region 1671"
    (the query parameter's 422 names the pattern), and a known_at before genesis read as if the
    key could not see the province."""
    shape = await client.get("/v1/regions/1671/coverage", headers=Keys.header(keys.office))
    assert shape.status_code == 422, shape.text
    assert shape.json()["errors"][0]["field"] == "code"
    early = await client.get(
        "/v1/regions/16/coverage", params={"known_at": "1999-12-31"}, headers=Keys.header(keys.office)
    )
    assert early.status_code == 404, early.text
    assert "before the ledger's first tx" in early.json()["detail"]
    now = await client.get("/v1/regions/16.99/coverage", headers=Keys.header(keys.office))
    assert now.status_code == 404 and "first tx" not in now.json()["detail"], now.text


async def test_the_same_mistake_gets_the_same_code_wherever_it_is_made(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by an integrator's probe: a bad date was `invalid_date` in one query and pydantic's
    `date_from_datetime_parsing` or `value_error` in another, a bad boolean `bool_parsing` here
    and `invalid_boolean` there."""
    admin = Keys.header(keys.admin)
    person = "1671014501900001"

    async def code_of(response: Response) -> tuple[str, str]:
        assert response.status_code == 422, response.text
        error = response.json()["errors"][0]
        return error["field"], error["code"]

    assert await code_of(
        await client.get(f"/v1/persons/{person}/coverage?valid_at=2024-13-01", headers=admin)
    ) == ("valid_at", "invalid_date")
    assert await code_of(await client.get("/v1/payouts?region=16&from=2024-13-01", headers=admin)) == (
        "from",
        "invalid_date",
    )
    assert await code_of(await client.get("/v1/payouts?region=16&to=20240101", headers=admin)) == (
        "to",
        "invalid_date",
    )
    lookup = {"niks": [person], "valid_at": "2024-13-01"}
    assert await code_of(await client.post("/v1/coverage/lookup", json=lookup, headers=admin)) == (
        "valid_at",
        "invalid_date",
    )
    # found by a date probe: a real date out of range was `invalid_date` in a query only
    far = {"niks": [person], "valid_at": "9999-12-31"}
    assert await code_of(await client.post("/v1/coverage/lookup", json=far, headers=admin)) == (
        "valid_at",
        "date_out_of_range",
    )
    assert await code_of(
        await client.get(f"/v1/persons/{person}/coverage?valid_at=9999-12-31", headers=admin)
    ) == ("valid_at", "date_out_of_range")
    bad_term = enrolled(person, event_id="bad-term", valid_from="2024-13-01", valid_to="2024-02-23")
    assert await code_of(await client.post("/v1/events", json={"events": [bad_term]}, headers=admin)) == (
        "events[0].valid_from",
        "invalid_date",
    )
    assert await code_of(await client.get("/v1/claims?region=16&overdue=maybe", headers=admin)) == (
        "overdue",
        "invalid_boolean",
    )
    assert await code_of(await client.get("/v1/persons?region=16&status=bogus", headers=admin)) == (
        "status",
        "invalid_choice",
    )
    assert await code_of(
        await client.post("/v1/events", json={"events": [BARE_PAYMENT | {"amount": -1}]}, headers=admin)
    ) == (
        "events[0].amount",
        "out_of_range",
    )


async def test_a_head_of_a_report_is_not_logged_as_a_download(client: AsyncClient, keys: Keys) -> None:
    """Found by an integrator's probe: a HEAD of a report stood in the access log as a download
    that did not reach its end (`rows` null)."""
    auditor = Keys.header(keys.auditor)
    log = "/v1/reports/access-log"
    before = (await client.get(log, headers=auditor)).json()["items"]
    for path in (
        "/v1/reports/coverage-roster?format=csv&known_at=tx:1",
        "/v1/reports/coverage-diff?known_then=tx:1&format=csv",
    ):
        got = await client.get(path, headers=auditor)
        head = await client.head(path, headers=auditor)
        assert (head.status_code, head.content) == (200, b""), head.text
        assert head.headers["content-disposition"] == got.headers["content-disposition"]
        assert head.headers["content-type"] == got.headers["content-type"]
    # nor a HEAD of a manifest (found by a regression probe)
    for path in (
        "/v1/reports/coverage-roster/manifest?format=csv&known_at=tx:1",
        "/v1/reports/coverage-diff/manifest?known_then=tx:1&format=csv",
    ):
        assert (await client.head(path, headers=auditor)).status_code == 200
    after = (await client.get(log, headers=auditor)).json()["items"]
    added = after[: len(after) - len(before)]
    assert [e["report"] for e in added] == ["coverage-diff", "coverage-roster"]  # the two GETs only
    assert all(e["rows"] is not None for e in added)


async def test_no_pydantic_error_type_reaches_a_client(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a check across fields, a list sent as a string, an event without its
    type and a role written as a template still answered pydantic's own types."""
    admin = Keys.header(keys.admin)
    person = "1671014501900001"
    backwards = enrolled(person, event_id="backwards", valid_from="2024-02-23", valid_to="2024-01-25")
    templated = enrolled(person, event_id="templated", valid_from="2024-01-25", valid_to="2024-02-23") | {
        "role": "{known}"
    }
    partial = filed("C-1", person, benefit="JKK_PARTIAL", incident="2024-02-10")
    cases = [
        ({"events": [partial | {"disability_percent": "abc"}]}, "invalid_number"),
        ({"events": [partial | {"disability_percent": "NaN"}]}, "invalid_number"),
        ({"events": [backwards]}, "invalid_value"),
        ({"events": "not a list"}, "invalid_list"),
        ({"events": [{"event_id": "no-type", "nik": person}]}, "missing_event_type"),
        ({"events": [templated]}, "unknown_role"),
    ]
    for body, code in cases:
        response = await client.post("/v1/events", json=body, headers=admin)
        assert response.status_code == 422, response.text
        error = response.json()["errors"][0]
        assert error["code"] == code, error
        assert not error["message"].startswith("Value error")
    templated_error = (await client.post("/v1/events", json={"events": [templated]}, headers=admin)).json()
    assert "'{known}'" in templated_error["errors"][0]["message"]
    unknown = await client.get("/v1/uploads/not-a-uuid", headers=admin)
    assert unknown.json()["errors"][0]["code"] == "invalid_uuid"
