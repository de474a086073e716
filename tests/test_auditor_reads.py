"""What an auditor's probe found in the reads: the series echoes its `as_of`, a diff needs its two
moments in order, its CSV lists can be split again, and the HTTP answers carry the headers the
standard asks for (no redirect built from the client's Host)."""

import csv
import io
import re
from pathlib import Path

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

import coverage_ledger
from coverage_ledger.http.problem_types import PROBLEM_TYPES
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.reports.content import cell_text
from tests.claims_support import append, filed, kpps_2024
from tests.support import Keys, corrected, enrolled, enrolled_bpu, nik, paid, registered


async def test_the_series_echoes_the_knowledge_it_was_read_at(client: AsyncClient, keys: Keys) -> None:
    tx = await append(client, keys.office, filed("S-1", await kpps_2024(client, keys), incident="2024-02-14"))
    response = await client.get(
        "/v1/regions/16/coverage/series",
        params={"from": "2024-01", "to": "2024-03", "known_at": f"tx:{tx}"},
        headers=Keys.header(keys.office),
    )
    body = response.json()
    assert body["as_of"]["tx_seq"] == tx == body["tx_seq"]
    assert body["as_of"]["valid_at"] == "2024-01-01" and body["as_of"]["known_at"] == body["known_at"]


async def test_a_coverage_diff_takes_two_moments_in_order(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    then = await append(client, keys.office, filed("S-2", person, incident="2024-02-14"))
    now = await append(client, keys.office, corrected("s-fix", [f"kpps-{person}"], reason="never served"))
    auditor = Keys.header(keys.auditor)
    base = {"region": "16", "valid_at": "2024-02-14"}
    for params, field in (
        (base, "known_then"),  # without it the diff was always empty
        (base | {"known_then": f"tx:{now}", "known_now": f"tx:{then}"}, "known_then"),
        (base | {"known_then": f"tx:{then}", "known_at": f"tx:{now}"}, "known_at"),
    ):
        refused = await client.get("/v1/reports/coverage-diff", params=params, headers=auditor)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    diff = await client.get(
        "/v1/reports/coverage-diff",
        params=base | {"known_then": f"tx:{then}", "known_now": f"tx:{now}", "format": "csv"},
        headers=auditor,
    )
    rows = list(csv.DictReader(io.StringIO(diff.text)))
    assert [(r["nik"], r["status_then"], r["status_now"]) for r in rows] == [
        (person, "covered", "not_enrolled")
    ]
    # the claim filed meanwhile changed no one's cover: it is not among the changes
    assert rows[0]["changed_by"] == f"{now}:kpps-{person}:officer.enrolled:left"
    # the OpenAPI offers what the diff takes (found by a probe: it listed known_at, always a 422)
    schema = (await client.get("/openapi.json")).json()
    taken = {p["name"] for p in schema["paths"]["/v1/reports/coverage-diff"]["get"]["parameters"]}
    assert {"known_then", "known_now", "valid_at", "region", "format"} <= taken
    assert "known_at" not in taken


def test_a_csv_list_cell_splits_back_into_its_items() -> None:
    assert cell_text(["demo:claims of 2024-02-20", "api"]) == "demo:claims of 2024-02-20; api"


async def test_http_answers_carry_the_headers_the_standard_asks_for(client: AsyncClient, keys: Keys) -> None:
    anonymous = await client.get("/v1/ledger/head")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    wrong_method = await client.delete("/v1/ledger/head", headers=Keys.header(keys.admin))
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, HEAD"
    slash = await client.get("/v1/ledger/head/", headers=Keys.header(keys.admin) | {"host": "evil.example"})
    assert slash.status_code == 404 and "location" not in slash.headers


async def test_payout_days_are_dates_not_instants(client: AsyncClient, keys: Keys) -> None:
    office = Keys.header(keys.office)
    instant = await client.get("/v1/payouts", params={"from": "2024-02-22T00:00:00Z"}, headers=office)
    assert instant.status_code == 422 and instant.json()["errors"][0]["field"] == "from"
    day = await client.get("/v1/payouts", params={"from": "2024-02-22", "to": "2024-03-01"}, headers=office)
    assert day.status_code == 200, day.text


async def test_the_covered_period_of_an_officer_who_is_also_a_bpu_member_spans_both(
    client: AsyncClient, keys: Keys
) -> None:
    person = await _member_serving_as_an_officer(client, keys)
    response = await client.get(
        f"/v1/persons/{person}/coverage", params={"valid_at": "2024-12-01"}, headers=Keys.header(keys.office)
    )
    body = response.json()
    assert body["status"] == "covered"
    assert body["period"] == {"valid_from": "2024-11-01", "valid_to": "2025-01-01"}, body["period"]


async def test_the_pages_of_a_list_read_the_state_of_the_first_while_appends_go_on(
    client: AsyncClient, keys: Keys
) -> None:
    people = [await kpps_2024(client, keys) for _ in range(3)]
    office = Keys.header(keys.office)
    params = {"region": "16.71", "valid_at": "2024-02-14", "limit": "1"}
    first = (await client.get("/v1/persons", params=params, headers=office)).json()
    tx = first["as_of"]["tx_seq"]
    await append(client, keys.office, corrected("gone", [f"kpps-{people[1]}"], reason="never served"))
    second = (
        await client.get("/v1/persons", params=params | {"cursor": first["next_cursor"]}, headers=office)
    ).json()
    assert second["as_of"]["tx_seq"] == tx  # not the head: the retraction came after the first page
    assert [p["status"] for p in first["items"] + second["items"]] == ["covered", "covered"]
    earlier = await client.get(
        "/v1/persons",
        params=params | {"cursor": first["next_cursor"], "known_at": f"tx:{tx - 1}"},
        headers=office,
    )
    assert earlier.status_code == 422 and earlier.json()["errors"][0]["code"] == "cursor_of_other_knowledge"
    # a pin past the head when the first page was read resolved to its tx: the same query goes on
    for beyond in (f"tx:{tx + 1}", "2099-01-01", "2099-01-01T00:00:00Z"):
        later = await client.get(
            "/v1/persons",
            params=params | {"cursor": first["next_cursor"], "known_at": beyond},
            headers=office,
        )
        assert later.status_code == 200, later.text
        assert later.json()["as_of"]["tx_seq"] == tx and later.json()["items"] == second["items"]
    same = await client.get(
        "/v1/persons",
        params=params | {"cursor": first["next_cursor"], "known_at": f"tx:{tx}"},
        headers=office,
    )
    assert same.json()["items"] == second["items"]
    empty = await client.get(
        "/v1/persons", params=params | {"cursor": first["next_cursor"], "known_at": ""}, headers=office
    )
    assert empty.json()["as_of"]["tx_seq"] == tx  # an empty known_at takes its default: the cursor's
    forged = await client.get("/v1/claims", params={"cursor": "C-1"}, headers=office)
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "cursor"
    # the cursor keeps the first page's valid date too: pages asked without valid_at (today in
    # Jakarta) do not change day at midnight between two pages
    assert first["next_cursor"].startswith(f"{tx}@2024-02-14~")
    undated = {k: v for k, v in params.items() if k != "valid_at"}
    dated = await client.get("/v1/persons", params=undated | {"cursor": first["next_cursor"]}, headers=office)
    assert dated.json()["as_of"]["valid_at"] == "2024-02-14" and dated.json()["items"] == second["items"]
    other_day = await client.get(
        "/v1/persons",
        params=params | {"valid_at": "2024-02-15", "cursor": first["next_cursor"]},
        headers=office,
    )
    assert other_day.status_code == 422 and other_day.json()["errors"][0]["code"] == "cursor_of_other_day"
    bad_day = await client.get(
        "/v1/persons", params=undated | {"cursor": f"{tx}@2024-02-30:1671"}, headers=office
    )
    assert bad_day.status_code == 422 and bad_day.json()["errors"][0]["code"] == "invalid_cursor"
    # made-up cursors a probe found answered: a day no valid_at may name, a tx past the head
    for made_up in (f"{tx}@9999-12-31:1671", f"{tx}@0001-01-01:1671", f"{tx + 1000}@2024-02-14:1671"):
        refused = await client.get("/v1/persons", params=undated | {"cursor": made_up}, headers=office)
        assert refused.status_code == 422, (made_up, refused.text)
        assert refused.json()["errors"][0]["code"] == "invalid_cursor", made_up


async def test_every_problem_type_is_documented_at_its_uri(client: AsyncClient) -> None:
    """RFC 9457: a problem's `type` dereferences to what it means; every type the code answers
    with (the error classes and the handlers' own) has an entry."""
    source = "\n".join(path.read_text() for path in Path(coverage_ledger.__file__).parent.rglob("*.py"))
    used = set(re.findall(r'slug = "([a-z-]+)"', source))
    used |= set(re.findall(r'problem\(\s*\d{3},\s*"([a-z-]+)"', source))
    used |= set(re.findall(r'_try_again\(\s*"([a-z-]+)"', source))
    assert used and used <= set(PROBLEM_TYPES), used - set(PROBLEM_TYPES)
    documented = await client.get("/problems/validation-error")
    assert documented.status_code == 200 and documented.json()["type"] == "/problems/validation-error"
    refused = await client.get("/v1/ledger/head")  # without a key
    assert (await client.get(refused.json()["type"])).status_code == 200
    unknown = await client.get("/problems/nope")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


async def test_a_bpu_member_serving_as_an_officer_elsewhere_counts_for_informal_at_home(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """A member of 16.71.01, paid for Nov–Dec 2024, serving as a KPPS officer in 16.01.07 from
    7 Nov: for `informal` they count in 16.71, for `officer` in 16.01, for `all` once, in 16.01."""
    person = await _member_serving_as_an_officer(client, keys, region="16.01.07", committee="KPU-16.01")
    office = Keys.header(keys.office)

    async def children(segment: str, day: str = "2024-12-01") -> dict[str, int]:
        response = await client.get(
            "/v1/regions/16/coverage", params={"valid_at": day, "segment": segment}, headers=office
        )
        body = response.json()
        counts = {c["region_code"]: c["covered"] for c in body["children"] if c["covered"]}
        assert sum(counts.values()) == body["covered"]
        return counts

    assert await children("informal") == {"16.71": 1}
    assert await children("officer") == {"16.01": 1}
    assert await children("all") == {"16.01": 1}
    assert await children("informal", "2024-12-20") == {"16.71": 1}  # the term is over
    assert await children("all", "2024-12-20") == {"16.71": 1}
    roster = await client.get(
        "/v1/reports/coverage-roster", params={"region": "16", "valid_at": "2024-12-01"}, headers=office
    )
    rows = [row for row in roster.json()["rows"] if row[0] == person]
    assert len(rows) == 1 and rows[0][1] == "officer+informal"  # once, and covered both ways
    assert await rebuild_check(session) == []


async def _member_serving_as_an_officer(
    client: AsyncClient, keys: Keys, *, region: str = "16.71.01", committee: str = "KPU-16.71"
) -> str:
    """A BPU member of 16.71.01 paid for Nov–Dec 2024, and a KPPS officer in `region` from 7 Nov
    to 8 Dec 2024; returns the NIK."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2024-11-01"),
        paid(
            person,
            event_id=f"pay-{person}",
            months=("2024-11", "2024-12"),
            amount=2 * 16_800,
            paid_on="2024-11-01",
        ),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-11-07",
            valid_to="2024-12-09",
            registered_on="2024-11-01",
            region=region,
            committee=committee,
        ),
    )
    return person


async def test_each_operation_documents_the_errors_it_can_give(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    head = paths["/v1/ledger/head"]["get"]["responses"]
    assert "400" not in head and "413" not in head and {"401", "403", "422"} <= set(head)
    assert "nothing was written" not in head["422"]["description"]
    append = paths["/v1/events"]["post"]["responses"]
    assert {"400", "401", "409", "413", "422"} <= set(append)
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "503"}  # 503: the database is gone
    assert "401" not in paths["/problems/{slug}"]["get"]["responses"]
