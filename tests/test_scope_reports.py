"""A report of a region names another region's enrolments no more than a read of the person does:
the coverage roster gives the person's segment and programs, and the committee, role and payer
of the terms and memberships inside the report's region only."""

import csv
import io
import json
from datetime import date
from typing import Any

from httpx import AsyncClient
from python_calamine import CalamineWorkbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from coverage_ledger.reports import repository
from tests.claims_support import append
from tests.support import Keys, enrolled, enrolled_bpu, nik, paid, registered

BANDUNG = "32.73.01"
BANDUNG_PAYER = {"kind": "organisation", "name": "Pemkot Bandung", "budget": "APBD"}


async def _roster(client: AsyncClient, secret: str, person: str, **params: str) -> list[dict[str, str]]:
    response = await client.get(
        "/v1/reports/coverage-roster",
        params={"valid_at": "2025-03-15", "format": "csv"} | params,
        headers=Keys.header(secret),
    )
    assert response.status_code == 200, response.text
    return [row for row in csv.DictReader(io.StringIO(response.text)) if row["nik"] == person]


async def test_the_roster_names_no_payer_of_a_membership_elsewhere(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: a KPPS of Palembang who is also a BPU member in Bandung was listed to
    the Palembang office with the Bandung membership's payer and budget."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"plg-{person}",
            valid_from="2025-03-01",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
        ),
        enrolled_bpu(
            person, event_id=f"bdg-{person}", valid_from="2025-01-01", payer=BANDUNG_PAYER, region=BANDUNG
        ),
        paid(
            person,
            event_id=f"bdg-pay-{person}",
            months=("2025-01", "2025-06"),
            amount=6 * 16_800,
            paid_on="2025-01-02",
            payer=BANDUNG_PAYER,
        ),
    )
    [palembang] = await _roster(client, keys.office, person, region="16")
    assert (palembang["segment"], palembang["programs"]) == ("officer+informal", "JKK JKM")
    assert (palembang["role"], palembang["committee"], palembang["payer"]) == ("KPPS", "KPU-16.71", "")
    # the nation's report names it
    [national] = await _roster(client, keys.auditor, person)
    assert national["payer"] == "Pemkot Bandung (APBD)"


async def test_the_roster_names_no_committee_elsewhere_and_lists_every_program(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: a JKK term in Palembang and a JKM term in Bandung at once were listed to
    the Palembang office as the Bandung committee's PPK, covered for JKM only."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"plg-{person}",
            valid_from="2025-03-01",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
            programs=["JKK"],
        ),
        enrolled(
            person,
            event_id=f"bdg-{person}",
            valid_from="2025-03-10",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
            programs=["JKM"],
            committee="KPU-32.73",
            region=BANDUNG,
            role="PPK",
        ),
    )
    [palembang] = await _roster(client, keys.office, person, region="16")
    assert (palembang["segment"], palembang["programs"]) == ("officer", "JKK JKM")
    assert (palembang["region_code"], palembang["role"], palembang["committee"]) == (
        "16.71.01",
        "KPPS",
        "KPU-16.71",
    )
    # found by an upgrade probe: the nation's report gave the region the person counts in with
    # the role and committee of the other term (16.71.01, PPK, KPU-32.73)
    [national] = await _roster(client, keys.auditor, person)
    assert (national["region_code"], national["role"], national["committee"], national["programs"]) == (
        "16.71.01",
        "KPPS",
        "KPU-16.71",
        "JKK JKM",
    )


async def test_the_diff_names_no_payment_of_a_membership_elsewhere(client: AsyncClient, keys: Keys) -> None:
    """Found by a review: the diff left out another region's enrolments but not its payments,
    which name no region: a Bandung member who became a KPPS in Palembang showed the Palembang
    office the Bandung payment (and, had it come by a sponsor roster, that upload)."""
    person = nik()
    then = await append(
        client,
        keys.admin,
        registered(person),
        enrolled_bpu(
            person, event_id=f"bdg-{person}", valid_from="2025-01-01", payer=BANDUNG_PAYER, region=BANDUNG
        ),
        paid(
            person,
            event_id=f"bdg-jan-{person}",
            months=("2025-01", "2025-01"),
            amount=16_800,
            paid_on="2025-01-02",
        ),
    )
    await append(
        client,
        keys.admin,
        enrolled(
            person,
            event_id=f"plg-{person}",
            valid_from="2025-03-01",
            valid_to="2025-04-01",
            registered_on="2025-02-20",
        ),
        paid(
            person,
            event_id=f"bdg-feb-{person}",
            months=("2025-02", "2025-03"),
            amount=2 * 16_800,
            paid_on="2025-02-02",
        ),
    )

    async def diff(secret: str, **params: str) -> list[dict[str, str]]:
        response = await client.get(
            "/v1/reports/coverage-diff",
            params={"valid_at": "2025-03-15", "known_then": f"tx:{then}", "format": "csv"} | params,
            headers=Keys.header(secret),
        )
        assert response.status_code == 200, response.text
        return [row for row in csv.DictReader(io.StringIO(response.text)) if row["nik"] == person]

    [palembang] = await diff(keys.office, region="16")
    assert (palembang["status_then"], palembang["status_now"]) == ("in_arrears", "covered")
    assert palembang["changed_by"].endswith(f":plg-{person}:officer.enrolled:entered")
    assert "bdg-" not in str(palembang), palembang
    [national] = await diff(keys.auditor)
    assert f"bdg-feb-{person}" in national["changed_by"]


async def _index_conditions(connection: AsyncConnection, region: str) -> list[str]:
    """The conditions on `ix_coverage_span_region` in the regional roster's plan, planned for any
    region (the server-side cursor's generic plan), with whole-table scans priced out: a table of
    a few rows is cheaper to read whole whatever the filter, and the question is whether the
    region's filter bounds the index scan at all."""
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    await connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    query = "EXPLAIN (FORMAT JSON) " + repository.coverage_roster(regional=True)
    params = {"tx": 10**9, "day": date(2025, 3, 15), "region": region}
    [[plan]] = (await connection.exec_driver_sql(query, params)).all()
    await connection.execute(text("RESET enable_seqscan"))
    await connection.execute(text("RESET plan_cache_mode"))
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Index Name") == "ix_coverage_span_region":
            found.append(node.get("Index Cond", ""))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _niks_listed(form: str, content: bytes) -> set[str]:
    """The NIKs a coverage roster lists, in any format."""
    if form == "csv":
        return {row["nik"] for row in csv.DictReader(io.StringIO(content.decode()))}
    if form == "json":
        return {row[0] for row in json.loads(content)["rows"]}
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    return {str(row[0]) for row in sheet[1:]}


async def test_a_regional_roster_reads_its_regions_spans_through_their_index(
    client: AsyncClient, keys: Keys, connection: AsyncConnection
) -> None:
    """Found by a scale probe: a regency's roster scanned every span in the nation, so it grew
    with other regencies' uploads. Each format lists the region's persons, whichever level of
    it they serve at, and none of a neighbouring code's."""
    where = {
        nik(district="167101"): "16.71.01",  # a district of Palembang
        nik(district="167101"): "16.71.01.1001",  # a village of it
        nik(district="167102"): "16.71.02",  # another district of Palembang
        nik(district="160107"): "16.01.07",  # Ogan Komering Ulu, same province
        nik(district="320101"): "32.01.01",  # Bogor
    }
    events = []
    for person, region in where.items():
        events += [
            registered(person, region=region),
            enrolled(
                person, event_id=f"span-{person}", valid_from="2025-03-01", valid_to="2025-04-01",
                registered_on="2025-02-20", region=region,
            ),
        ]  # fmt: skip
    await append(client, keys.admin, *events)
    for region in ("16.71", "16.71.01", "16.71.01.1001", "16", "16.01.07"):
        inside = {p for p, r in where.items() if r == region or r.startswith(f"{region}.")}
        for form in ("csv", "json", "xlsx"):
            response = await client.get(
                "/v1/reports/coverage-roster",
                params={"valid_at": "2025-03-15", "format": form, "region": region},
                headers=Keys.header(keys.auditor),
            )
            assert response.status_code == 200, response.text
            assert _niks_listed(form, response.content) & where.keys() == inside, (region, form)
    [condition] = await _index_conditions(connection, "16.71")
    assert "~>=~" in condition and "~<~" in condition, condition
