"""Personal data: NIKs masked in every log line; an erasure makes name, birth date and phone
unreadable everywhere while amounts, periods, the chain and the reports stay as they were."""

import logging
from datetime import date
from urllib.parse import quote

import pytest
from httpx import AsyncClient

from coverage_ledger.auth.service import SECRET_PREFIX
from coverage_ledger.logs import install_nik_masking, mask_niks
from tests.claims_support import append, post
from tests.rosters import HEADER, SPONSOR_HEADER, Uploader, officer_row, sponsor_row
from tests.support import Keys, enrolled, nik, registered


def test_niks_are_masked_in_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    install_nik_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET", "/v1/persons/1671014501900001/coverage", 200
        )
        logging.getLogger("coverage_ledger.anything").info("looked up 3271012501900002 and 1671014501900001")
        # found by a probe: an upload's outcome dict listed the NIKs a replacing roster retracted
        logging.getLogger("coverage_ledger.anything").info(
            "upload %s succeeded in tx %d, %s", "u-1", 296, {"retracted_niks": ["3271012501900003"]}
        )
    text = caplog.text
    assert "1671014501900001" not in text and "3271012501900002" not in text
    assert "3271012501900003" not in text and "in tx 296, {'retracted_niks': ['3271********0003']}" in text
    assert "/v1/persons/1671********0001/coverage" in text
    # found by a probe: a key put into a query by mistake reached the access log whole
    secret = SECRET_PREFIX + "mhMsQ1-x_Zz9"
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.access").info('"GET %s HTTP/1.1" %d', f"/sign-in?key={secret}&x=1", 200)
    assert secret not in caplog.text
    assert "/sign-in?key=clk_********&x=1" in caplog.text
    assert mask_niks("tx 12345, amount 42000000") == "tx 12345, amount 42000000"  # other numbers stay
    # a NIK that lost its leading digit, or typed in groups, is still a NIK
    assert mask_niks("/v1/persons/671014501900001/coverage") == "/v1/persons/6710********0001/coverage"
    assert mask_niks("NIK 1671-0145-0190-0001, 1671 0145 0190 0001 and 167101 450190 0001") == (
        "NIK 1671********0001, 1671********0001 and 1671********0001"
    )
    for text in (
        "2024-02-20 09:00:00, Rp 42.000.000",
        "from 2024-02-20 2024-02-21",
        "ratio 0.0983123456789012",
    ):
        assert mask_niks(text) == text


async def test_each_request_gets_one_access_line_with_the_nik_masked(
    client: AsyncClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    person = nik()
    await client.post("/v1/events", json={"events": [registered(person)]}, headers=Keys.header(keys.admin))
    with caplog.at_level(logging.INFO, logger="coverage_ledger.access"):
        found = await client.get(
            f"/v1/persons/{person}/coverage?valid_at=2024-02-01", headers=Keys.header(keys.office)
        )
        missing = await client.get("/v1/persons/1671014501909999/coverage", headers=Keys.header(keys.office))
        refused = await client.get(f"/v1/persons/{person}/coverage")
    assert (found.status_code, missing.status_code, refused.status_code) == (200, 404, 401)
    lines = [r.getMessage() for r in caplog.records if r.name == "coverage_ledger.access"]
    assert len(lines) == 3, lines
    masked = f"{person[:4]}********{person[-4:]}"
    assert lines[0].startswith(
        f"GET /v1/persons/{masked}/coverage?valid_at=2024-02-01 200 by key:test-office "
    )
    assert lines[0].endswith(" ms")
    assert lines[1].startswith("GET /v1/persons/1671********9999/coverage 404 by key:test-office ")
    assert lines[2].startswith(f"GET /v1/persons/{masked}/coverage 401 by - ")
    assert person not in caplog.text


async def test_a_nik_typed_in_groups_or_full_width_digits_is_masked_in_the_access_line(
    client: AsyncClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a probe: a NIK typed as a KTP prints it (`1601 0747 0766 0001`) reached the access
    line whole, its spaces written `+` in the query and `%20` in the path; so did full-width digits."""
    full_width = "".join(chr(ord("０") + int(digit)) for digit in "1601074707660001")
    with caplog.at_level(logging.INFO, logger="coverage_ledger.access"):
        for url in (
            "/v1/persons?nik=1601+0747+0766+0001",
            "/v1/persons?nik=160107%20470766%200001",
            "/v1/persons/1601%200747%200766%200001/coverage",
            f"/v1/persons/{quote(full_width)}/coverage",
            # found by the review: after an escape ending in a digit (a pasted leading space, a
            # quote), and with tabs between the groups
            "/v1/persons?nik=%201601%200747%200766%200001",
            "/v1/persons/%201601%200747%200766%200001/coverage",
            "/v1/persons?nik=%221601%200747%200766%200001%22",
            "/v1/persons?nik=1601%090747%090766%090001",
        ):
            answer = await client.get(url, headers=Keys.header(keys.office))
            assert answer.status_code < 500, answer.text
    lines = [r.getMessage().split(" by ")[0] for r in caplog.records if r.name == "coverage_ledger.access"]
    assert len(lines) == 8, lines
    assert all("1601********0001" in line and "0747" not in line for line in lines), lines


async def test_a_refused_path_is_logged_on_one_line_without_control_characters(
    client: AsyncClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a probe: the problem log wrote the decoded path, so `%00` put a NUL in the log
    (grep then took it for a binary file) and `%0A` could start a forged line."""
    with caplog.at_level(logging.INFO):
        for path in ("/v1/claims/C-OK%00", "/v1/claims/C%0AERROR%20forged"):
            response = await client.get(path, headers=Keys.header(keys.office))
            assert 400 <= response.status_code < 500, response.text
    problems = [r.getMessage() for r in caplog.records if r.name == "coverage_ledger.http.problems"]
    assert problems, caplog.text
    assert all("\x00" not in line and "\n" not in line for line in problems), problems
    assert any("C-OK%00" in line for line in problems), problems


async def test_an_erasure_removes_the_personal_fields_and_keeps_everything_else(
    client: AsyncClient, keys: Keys
) -> None:
    person = nik()
    event = registered(person, name="Siti Aminah") | {"birth_date": "1990-01-05", "phone": "0812-1111-2222"}
    before = await append(
        client,
        keys.office,
        event,
        enrolled(
            person,
            event_id=f"e-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    admin = Keys.header(keys.admin)
    history = (await client.get(f"/v1/persons/{person}/history", headers=admin)).json()
    assert "Siti Aminah" in str(history) and "0812-1111-2222" in str(history)
    [shown] = [e["personal_fields"] for e in history["events"] if e["type"] == "person.registered"]
    assert shown == "shown"
    params = {"valid_at": "2024-02-14", "known_at": f"tx:{before}", "region": "16", "format": "csv"}
    roster_before = (await client.get("/v1/reports/coverage-roster", params=params, headers=admin)).content
    coverage_before = (
        await client.get(f"/v1/persons/{person}/coverage", params={"valid_at": "2024-02-14"}, headers=admin)
    ).json()

    refused = await post(
        client, keys.office, {"event_id": "erase-1", "type": "person.erased", "nik": person, "reason": "x"}
    )
    assert refused.status_code == 403
    unknown = await post(
        client, keys.admin, {"event_id": "erase-0", "type": "person.erased", "nik": nik(), "reason": "x"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["code"] == "person_not_registered"
    await append(
        client,
        keys.admin,
        {"event_id": "erase-1", "type": "person.erased", "nik": person, "reason": "request of 3 Mar"},
    )

    after = (await client.get(f"/v1/persons/{person}/history", headers=admin)).json()
    text = str(after)
    assert "Siti Aminah" not in text and "0812-1111-2222" not in text and "1990-01-05" not in text
    registration = next(e for e in after["events"] if e["type"] == "person.registered")
    assert registration["payload"]["personal_digest"]  # the chained log keeps only the digest
    # found by an auditor's probe: the fields left a past moment's history without a word
    assert registration["personal_fields"] == "erased"
    earlier = (
        await client.get(f"/v1/persons/{person}/history", params={"known_at": f"tx:{before}"}, headers=admin)
    ).json()
    assert [e["personal_fields"] for e in earlier["events"] if e["type"] == "person.registered"] == ["erased"]
    assert any(e["type"] == "person.erased" for e in after["events"])
    coverage_after = (
        await client.get(f"/v1/persons/{person}/coverage", params={"valid_at": "2024-02-14"}, headers=admin)
    ).json()
    assert {k: v for k, v in coverage_after.items() if k != "as_of"} == {
        k: v for k, v in coverage_before.items() if k != "as_of"
    }
    assert (await client.get("/v1/ledger/verify", headers=admin)).json()["ok"]
    # the registration sent again as it was is a duplicate (a contract probe found it called
    # "different content": the erased salt leaves the personal fields nothing to compare with),
    # and it brings nothing back; one in another region is still different content
    resent = await post(client, keys.office, event)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["accepted"], resent.json()["duplicates"]) == (0, 1)
    assert "Siti Aminah" not in str((await client.get(f"/v1/persons/{person}/history", headers=admin)).json())
    moved = await post(client, keys.office, event | {"region_code": "16.71.02"})
    assert moved.status_code == 409 and moved.json()["errors"][0]["code"] == "event_id_reused"
    # the erased fields cannot come back under a new registration of the same NIK
    again = await post(client, keys.admin, registered(person, event_id=f"again-{person}"))
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "already_registered"
    roster_after = (await client.get("/v1/reports/coverage-roster", params=params, headers=admin)).content
    assert roster_after == roster_before and person.encode() in roster_after


async def test_an_erasure_reaches_the_registration_a_correction_replaced(
    client: AsyncClient, keys: Keys
) -> None:
    """A registration under a mistyped NIK, replaced by the right one, holds the same personal
    fields: erasing the person erases both, whichever NIK was typed first."""
    mistyped, right = nik(), nik()
    first = registered(mistyped, event_id=f"typo-{mistyped}", name="Typo Orang Rahasia") | {
        "phone": "+6281999000111"
    }
    known = await append(client, keys.office, first)
    await append(
        client,
        keys.office,
        {
            "event_id": f"fix-{right}",
            "type": "event.corrected",
            "supersedes": [f"typo-{mistyped}"],
            "reason": "NIK mistyped",
            "replacement": registered(right, event_id=f"reg-{right}", name="Typo Orang Rahasia"),
        },
    )
    admin = Keys.header(keys.admin)
    old = f"/v1/persons/{mistyped}/history?known_at=tx:{known}"
    assert "Typo Orang Rahasia" in (await client.get(old, headers=admin)).text
    await append(
        client,
        keys.admin,
        {"event_id": f"erase-{right}", "type": "person.erased", "nik": right, "reason": "x"},
    )
    for path in (old, f"/v1/persons/{right}/history"):
        response = await client.get(path, headers=admin)
        assert response.status_code == 200, response.text
        assert "Typo Orang Rahasia" not in response.text and "+6281999" not in response.text, path
    assert (await client.get("/v1/ledger/verify", headers=admin)).json()["ok"]


async def _bogor_resident_enrolled_in_palembang(client: AsyncClient, keys: Keys, **personal: str) -> str:
    """A person registered in Bogor whom Palembang's committee enrols for the 2024 KPPS term."""
    person = nik(district="320101")
    await append(client, keys.admin, registered(person, region="32.01.01", name="Warga Bogor") | personal)
    await append(
        client,
        keys.committee,
        enrolled(
            person,
            event_id=f"e-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
    )
    return person


async def test_enrolling_a_person_of_another_region_does_not_show_their_personal_fields(
    client: AsyncClient, keys: Keys
) -> None:
    """Any committee may enrol any NIK, and the enrolment makes the person visible to it; the name
    and phone stay with keys of the region the person is registered in."""
    person = await _bogor_resident_enrolled_in_palembang(client, keys, phone="0812-3333-4444")
    path = f"/v1/persons/{person}/history?valid_at=2024-02-01"  # while the enrolment is in force
    enrolling = await client.get(path, headers=Keys.header(keys.committee))
    assert enrolling.status_code == 200, enrolling.text
    registration = next(e for e in enrolling.json()["events"] if e["type"] == "person.registered")
    assert registration["payload"]["personal_digest"]
    assert "Warga Bogor" not in enrolling.text and "3333-4444" not in enrolling.text
    # today no enrolment is in force: the person is the registering region's again
    today = f"/v1/persons/{person}/history"
    for home in (keys.other_office, keys.admin):
        assert "Warga Bogor" in (await client.get(today, headers=Keys.header(home))).text


async def test_erasing_the_holder_of_a_once_mistyped_nik_leaves_the_typist_alone(
    client: AsyncClient, keys: Keys
) -> None:
    """Ani was first registered under Budi's NIK by mistake, then corrected to her own. Erasing
    Budi erases what was filed under his NIK, never Ani's registration in force."""
    budi, ani = nik(), nik()
    await append(client, keys.office, registered(budi, event_id=f"typo-{budi}", name="Ani Typo"))
    await append(
        client,
        keys.office,
        {
            "event_id": f"fix-{ani}",
            "type": "event.corrected",
            "supersedes": [f"typo-{budi}"],
            "reason": "NIK mistyped",
            "replacement": registered(ani, event_id=f"reg-{ani}", name="Ani Lestari"),
        },
    )
    await append(client, keys.office, registered(budi, event_id=f"reg-{budi}", name="Budi Santoso"))
    await append(
        client, keys.admin, {"event_id": f"erase-{budi}", "type": "person.erased", "nik": budi, "reason": "x"}
    )
    admin = Keys.header(keys.admin)
    assert "Budi Santoso" not in (await client.get(f"/v1/persons/{budi}/history", headers=admin)).text
    assert "Ani Lestari" in (await client.get(f"/v1/persons/{ani}/history", headers=admin)).text


async def test_row_errors_never_repeat_what_a_row_holds_of_a_person(uploader: Uploader) -> None:
    """Found by a privacy probe: row errors quoted a phone pushed past the header by a name's
    unquoted comma, an address under a blank header cell and a birth date; they are kept apart
    from the vault, where an erasure cannot reach them."""
    header = ",".join([*HEADER, "", "phone"])
    comma_in_name = officer_row(name="Rina, Wulandari")  # written below without quotes
    lines = [
        header,
        ",".join([*comma_in_name, "", "081298765432"]),
        ",".join([*officer_row(), "HP istri Jl. Melati 5", "081377778888"]),
        ",".join([*officer_row(born=date(2030, 1, 1)), "", ""]),
        ",".join([*officer_row(), "", "081200000000", "Jl. Kenanga 7"]),
    ]
    status = await uploader.run(("\n".join(lines) + "\n").encode(), dry_run="true", policy="accept_valid")
    errors = await uploader.errors(status["upload_id"])
    assert {(e["row"], e["code"]) for e in errors} == {
        ("2", "value_without_header"),  # the cut name pushed registered_on under the blank header
        ("3", "value_without_header"),
        ("4", "day_in_future"),
        ("5", "wrong_column_count"),
    }
    said = " ".join(e["message"] for e in errors)
    personal_values = (
        "Wulandari",
        "081298765432",
        "081377778888",
        "Melati",
        "2030",
        "081200000000",
        "Kenanga",
    )
    for personal in personal_values:
        assert personal not in said
    assert "a value stands 1 cell(s) after the header's last column (phone)" in said  # where, not what
    # found by a review: a cut name and an empty last cell keep the count, and every cell moves
    # one column to the right (the birth date under sex, the phone under registered_on)
    shifted_header = ",".join([*HEADER[:8], "phone", "registered_on"])
    cut = officer_row(name="Aminah, S.Pd")
    shifted = ",".join([*cut[:8], "081234567890", ""])
    longer = ",".join([*officer_row(name="Rina, Wulandari")[:8], "081200000001", "2024-01-15"])
    status = await uploader.run(f"{shifted_header}\n{shifted}\n{longer}\n".encode(), dry_run="true")
    errors = await uploader.errors(status["upload_id"])
    said = " ".join(e["message"] for e in errors)
    assert said and not any(personal in said for personal in ("1990-01-05", "081234567890", "S.Pd", "Aminah"))
    # the cause is said instead (found by a probe: six errors on cells that stand right in the sheet)
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        ("2", "name", "name_split"),
        ("3", "name", "name_split"),
    ]
    # a file without its header, whose first row's NIK a spreadsheet made a number
    headless = ",".join(["1.67101E+15", *officer_row(name="Siti Rahma")[1:]])
    status = await uploader.run(f"{headless}\n{shifted}\n".encode(), dry_run="true")
    assert status["status"] == "failed" and "Siti Rahma" not in str(status["problem"])
    sponsor_lines = [
        ";".join(SPONSOR_HEADER),
        ";".join([*sponsor_row(), "081355554444"]),
    ]
    sponsor = await uploader.run(
        ("\n".join(sponsor_lines) + "\n").encode(),
        key=uploader.keys.sponsor,
        dry_run="true",
        kind="sponsor_roster",
    )
    sponsor_errors = await uploader.errors(sponsor["upload_id"], key=uploader.keys.sponsor)
    assert [e["code"] for e in sponsor_errors] == ["wrong_column_count"]
    assert "081355554444" not in sponsor_errors[0]["message"]


async def test_an_erasures_reason_stays_with_the_registering_region(client: AsyncClient, keys: Keys) -> None:
    """Found by a privacy probe: a committee of another region that had enrolled the person read
    why they were erased (a request, its channel)."""
    person = await _bogor_resident_enrolled_in_palembang(client, keys)
    reason = "asked in person at the Bogor office"
    await append(
        client,
        keys.admin,
        {"event_id": f"erase-{person}", "type": "person.erased", "nik": person, "reason": reason},
    )
    path = f"/v1/persons/{person}/history?valid_at=2024-02-01"
    response = await client.get(path, headers=Keys.header(keys.committee))
    assert response.status_code == 200, response.text
    elsewhere = response.json()
    [erasure] = [e for e in elsewhere["events"] if e["type"] == "person.erased"]
    assert erasure["payload"]["reason"] is None and reason not in str(elsewhere)
    for home in (keys.other_office, keys.admin):  # today, no term elsewhere: the person is Bogor's
        told = (await client.get(f"/v1/persons/{person}/history", headers=Keys.header(home))).json()
        assert [e["payload"]["reason"] for e in told["events"] if e["type"] == "person.erased"] == [reason]
