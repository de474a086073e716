"""What a web-pages probe found: numbers written as the language writes them, the uploads page for
every key and beyond its first page, errors met in a browser answered as pages, a mistyped NIK
said to be mistyped, one session per browser, and the API docs allowed to load their viewer."""

import re
from datetime import date, datetime
from urllib.parse import urlencode

import pytest
from httpx import AsyncClient

from coverage_ledger.domain.names import TEXT_MAX_CHARS
from coverage_ledger.domain.timeframes import JAKARTA
from coverage_ledger.web import uploads as upload_pages
from coverage_ledger.web.labels import percent, typed_moment, whole_number
from coverage_ledger.web.pictures import Rectangle, bitemporal_svg
from tests.claims_support import append, approved, filed, kpps_2024
from tests.rosters import Uploader, many_officers, roster_csv
from tests.support import Keys, enrolled, nik, registered


async def _signed_in(client: AsyncClient, secret: str) -> str:
    response = await client.post("/sign-in", data={"api_key": secret})
    assert response.status_code == 303, response.text
    token: str = client.cookies["ledger_session"]
    return token


def test_indonesian_numbers_group_with_dots_and_decimals_with_a_comma() -> None:
    assert [whole_number(42_000_000, "id"), whole_number(42_000_000, "en")] == ["42.000.000", "42,000,000"]
    assert [percent(0.09832, "id"), percent(0.09832, "en"), percent(None, "id")] == ["9,83%", "9.83%", "–"]
    assert whole_number(None, "id") == "–"


async def test_the_claims_page_writes_amounts_in_the_chosen_language(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("W-9", person, incident="2024-02-14", filed_on="2024-02-20"),
        approved("W-9", "2024-02-21"),
    )
    await _signed_in(client, keys.office)
    indonesian = await client.get("/claims")
    assert "<td>42.000.000</td>" in indonesian.text and "<td>disetujui</td>" in indonesian.text
    assert (await client.get("/language/en", params={"next": "/claims"})).status_code == 303
    english = await client.get("/claims")
    assert "<td>42,000,000</td>" in english.text and "42.000.000" not in english.text
    assert "<td>approved</td>" in english.text


async def test_the_uploads_page_fits_the_key(client: AsyncClient, keys: Keys) -> None:
    await _signed_in(client, keys.office)
    office = await client.get("/uploads")
    assert 'id="committee"' in office.text  # an office names the committee it uploads for
    assert 'value="officer_roster"' in office.text and 'value="sponsor_roster"' in office.text
    await _signed_in(client, keys.committee)
    committee = (await client.get("/uploads")).text
    assert 'id="committee"' not in committee  # a committee is its own
    # each key is offered only the kinds it may upload (found by a probe: a 403 page followed)
    assert 'value="officer_roster"' in committee and 'value="sponsor_roster"' not in committee
    await _signed_in(client, keys.sponsor)
    sponsor = await client.get("/uploads")
    assert '<option value="sponsor_roster" selected>' in sponsor.text
    assert 'value="officer_roster"' not in sponsor.text
    assert 'value="replace_roster"' not in sponsor.text  # a committee roster's mode
    await _signed_in(client, keys.auditor)
    assert 'id="upload-form"' not in (await client.get("/uploads")).text  # reads, uploads nothing


async def test_an_office_uploads_for_a_committee_and_pages_through_its_uploads(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, keys = uploader.client, uploader.keys
    monkeypatch.setattr(upload_pages, "UPLOADS_PER_PAGE", 1)
    monkeypatch.setattr(upload_pages, "SHOWN_ERRORS", 1)
    await _signed_in(client, keys.office)
    bad = many_officers(3)
    bad[0][0] = bad[1][0] = "3.27101E+15"
    for name, rows in (("first.csv", many_officers(2)), ("second.csv", bad)):
        posted = await client.post(
            "/uploads",
            files={"file": (name, roster_csv(rows))},
            data={"dry_run": "true", "committee": "KPU-16.71"},
        )
        assert posted.status_code == 303, posted.text
        await uploader.app.state.upload_runner.wait_idle()
    second = await client.get(posted.headers["location"])
    assert second.text.count("nik_scientific_notation") == 1 and 'id="errors-cut"' in second.text
    newest = await client.get("/uploads")
    assert "second.csv" in newest.text and "first.csv" not in newest.text
    assert "<td>KPU-16.71</td>" in newest.text  # an office uploads for many committees: each is named
    older = newest.text.split('href="/uploads?cursor=', 1)[1].split('"', 1)[0]
    page_two = await client.get(f"/uploads?cursor={older}")
    assert "first.csv" in page_two.text and "second.csv" not in page_two.text
    mangled = await client.get("/uploads", params={"cursor": "zzz"})
    assert mangled.status_code == 422 and mangled.headers["content-type"].startswith("text/html")


async def test_errors_met_in_a_browser_are_pages_and_keep_the_visitors_header(
    client: AsyncClient, keys: Keys
) -> None:
    signed_out = await client.get("/claims", params={"overdue": "maybe"})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/sign-in"
    await _signed_in(client, keys.office)
    for path, status in (("/nope", 404), ("/sign-out", 405), ("/persons/%00", 422)):
        response = await client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("text/html"), path
    refused = await client.post(
        "/sign-in", data={"api_key": keys.committee}, headers={"sec-fetch-site": "cross-site"}
    )
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    wrong = await client.get("/claims", params={"overdue": "maybe"})
    assert wrong.status_code == 422 and 'action="/sign-out"' in wrong.text  # still signed in
    assert "<title>422 · " in wrong.text
    posted = await client.post("/regions/16")
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    root = await client.get("/v1", headers=Keys.header(keys.admin))
    assert root.status_code == 404 and root.headers["content-type"] == "application/problem+json"
    api = await client.get("/v1/nope", headers=Keys.header(keys.admin))
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    # the same problem type as an unknown resource (found by an integrator's probe: `http-error`)
    assert api.json()["type"] == "/problems/not-found"


async def test_a_mistyped_nik_is_said_to_be_mistyped(client: AsyncClient, keys: Keys) -> None:
    await _signed_in(client, keys.office)
    excel = await client.get("/persons", params={"nik": "1.60107E+15"})
    assert excel.status_code == 422 and "turned into a number by a spreadsheet" in excel.text
    short = await client.get("/persons/123")
    assert short.status_code == 422 and "exactly 16 digits" in short.text


async def test_signing_in_again_ends_the_session_before(client: AsyncClient, keys: Keys) -> None:
    first = await _signed_in(client, keys.office)
    second = await _signed_in(client, keys.auditor)
    assert second != first
    client.cookies.set("ledger_session", first)
    assert (await client.get("/regions")).headers["location"] == "/sign-in"


async def test_the_api_docs_may_load_their_viewer_and_the_pages_nothing_foreign(
    client: AsyncClient, keys: Keys
) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    await _signed_in(client, keys.office)
    page = await client.get("/regions/16")
    assert "jsdelivr" not in page.headers["content-security-policy"]


async def test_the_navigation_leads_only_where_the_key_may_go(client: AsyncClient, keys: Keys) -> None:
    await _signed_in(client, keys.committee)
    own = await client.get("/regions")
    assert own.headers["location"] == "/regions/16.71"  # not an empty list of provinces
    region_page = await client.get(own.headers["location"])
    assert 'href="/reports"' not in region_page.text and 'href="/claims"' not in region_page.text
    await _signed_in(client, keys.office)
    assert 'href="/reports"' in (await client.get("/regions/16")).text


async def test_a_second_web_probe_s_findings_on_the_pages(client: AsyncClient, keys: Keys) -> None:
    """The NIK box leaves a mistyped NIK to the server's explanation (a browser's pattern check
    stopped `1.67101E+15` before it); a moment is shown to the microsecond, so typed back it
    replays its tx; a sign-in naming two keys is refused; a page's parameter given no value takes
    its default, as the API's do."""
    await _signed_in(client, keys.office)
    form = await client.get("/persons")
    assert 'id="nik"' in form.text and "pattern=" not in form.text
    person = await kpps_2024(client, keys)
    page = await client.get(f"/persons/{person}", params={"valid_at": "2024-02-01"})
    shown = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?) WIB \(tx (\d+)\)", page.text)
    assert shown is not None, page.text
    head = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
    recorded = datetime.fromisoformat(head.json()["recorded_at"]).astimezone(JAKARTA)
    assert shown.group(1) == recorded.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if recorded.microsecond else ""))
    assert (await client.get("/claims", params={"cursor": ""})).status_code == 200
    twice = await client.post("/sign-in", data={"api_key": [keys.office, keys.admin]})
    assert twice.status_code == 400, twice.text
    before_the_ledger = await client.get("/regions/16.71", params={"known_at": "tx:0"})
    assert before_the_ledger.status_code == 404 and "nothing was known then" in before_the_ledger.text
    await _signed_in(client, keys.committee)
    assert (await client.get("/reports")).status_code == 403  # not a form that leads to a 403
    icon = await client.get("/static/favicon.svg")  # no page asks for a /favicon.ico that is not there
    assert icon.status_code == 200 and 'href="/static/favicon.svg"' in form.text


def test_a_picture_of_events_all_in_the_head_tx_names_that_tx_once() -> None:
    """Found by a web probe: the known-time axis read `tx 209` at both ends."""
    rectangle = Rectangle("t-1", "officer.enrolled", date(2024, 1, 25), date(2024, 2, 24), 209, None)
    assert bitemporal_svg([rectangle], head_tx=209, label="x").count(">tx 209<") == 1
    earlier = Rectangle("t-0", "officer.enrolled", date(2023, 1, 25), date(2023, 2, 24), 12, None)
    both = bitemporal_svg([earlier, rectangle], head_tx=209, label="x")
    assert ">tx 12<" in both and ">tx 209<" in both


async def test_a_third_web_probe_s_findings_on_the_pages(client: AsyncClient, keys: Keys) -> None:
    """A moment typed back as the pages show it (`… WIB`) replays its tx, as the README says; a
    correction's reason withheld from a key (it concerns another region) is said to be, not shown
    as `None`; the known_at box's hint is in the page's language."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled(
            person,
            event_id=f"bogor-{person}",
            valid_from="2024-01-02",
            valid_to="2024-01-31",
            committee="KPU-32.01",
            region="32.01.01",
            registered_on="2024-01-01",
        ),
        enrolled(
            person,
            event_id=f"palembang-{person}",
            valid_from="2024-03-01",
            valid_to="2024-03-31",
            registered_on="2024-01-01",
        ),
    )
    await append(
        client,
        keys.admin,
        {
            "event_id": f"fix-{person}",
            "type": "event.corrected",
            "supersedes": [f"bogor-{person}", f"palembang-{person}"],
            "reason": "entered twice",
        },
    )
    await _signed_in(client, keys.office)
    shown = await client.get(f"/persons/{person}", params={"valid_at": "2024-03-10"})
    assert shown.status_code == 200, shown.text
    assert f"<code>fix-{person}</code> (alasan menyangkut wilayah lain" in shown.text, shown.text
    assert "None" not in shown.text and "entered twice" not in shown.text
    assert 'placeholder="YYYY-MM-DD, 2024-02-14 09:00:00 WIB atau tx:N"' in shown.text
    form = await client.get("/uploads")
    assert '<option value="accept_valid">Simpan baris yang benar saja (accept_valid)</option>' in form.text
    assert f'maxlength="{TEXT_MAX_CHARS}"' in form.text  # the committee, as the server takes it
    moment = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?) WIB \(tx (\d+)\)", shown.text)
    assert moment is not None, shown.text
    await append(client, keys.admin, registered(nik()))  # the head moves on
    typed_back = await client.get(
        f"/persons/{person}", params={"valid_at": "2024-03-10", "known_at": f"{moment[1]} WIB"}
    )
    assert typed_back.status_code == 200, typed_back.text
    assert f"WIB (tx {moment[2]})" in typed_back.text
    # an unknown address is a page that is not there, not data the key may not see
    unknown = await client.get("/no-such-page")
    assert unknown.status_code == 404 and "Halaman ini tidak ada" in unknown.text
    assert "terlihat oleh kunci" not in unknown.text
    hidden = await client.get("/persons/1671014501909999")
    assert hidden.status_code == 404 and "Tidak ada data yang terlihat oleh kunci ini" in hidden.text
    # two keys in one form are not an unknown key; a NUL in a read writes nothing to speak of
    twice = await client.post("/sign-in", data={"api_key": [keys.office, keys.admin]})
    assert twice.status_code == 400 and "lebih dari satu kunci" in twice.text
    assert "tidak dikenal" not in twice.text
    await _signed_in(client, keys.office)
    nul = await client.get("/regions/16%00")
    assert nul.status_code == 422 and "cannot be looked up" in nul.text, nul.text
    assert "nothing was written" not in nul.text and "stored" not in nul.text
    # a report is pinned by its parameters: a misspelt one or one given twice is refused, as the
    # API refuses it, not ignored (the download came as known now) or guessed at (the last won)
    pinned = {"name": "payouts", "region": "16", "valid_at": "2024-03-10"}
    for path, odd in (
        ("/reports/download", "knownat=tx:2"),
        ("/reports/download", "known_at=tx:2&known_at=tx:1"),
        ("/reports", "known_at=tx:2&known_at=tx:1"),
        ("/reports", "regions=16.71"),
    ):
        refused = await client.get(f"{path}?{urlencode(pinned)}&{odd}")
        assert refused.status_code == 422, (path, odd, refused.text)
        assert refused.headers["content-type"].startswith("text/html")
        assert odd.split("=")[0] in refused.text
    download = await client.get("/reports/download", params=pinned | {"known_at": "tx:2", "format": "csv"})
    assert download.status_code == 200 and download.headers["x-ledger-tx"] == "2"


def test_a_moment_typed_as_the_pages_show_it_reads_as_rfc_3339() -> None:
    assert typed_moment("2024-12-20 09:00:00 WIB") == "2024-12-20T09:00:00+07:00"
    assert typed_moment(" 2024-12-20T09:00:00.123456789wib\n") == "2024-12-20T09:00:00.123456789+07:00"
    # anything else is left to the API's grammar and its words, quoting what was typed (the review)
    for typed in ("2024-02-30 09:00:00 WIB", "2024-12-20 09:00 WIB", "tx:5", "2024-12-20", "", None):
        assert typed_moment(typed) == typed
