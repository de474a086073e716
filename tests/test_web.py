"""The web pages over HTTP: sign-in with an API key into a server-side session, the region view
with its two time controls, a person's bitemporal picture, claims, scoping, sign-out."""

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import revoke_key, secret_hash
from tests.claims_support import append, approved, filed, kpps_2024
from tests.rosters import Uploader, many_officers, roster_csv
from tests.support import Keys, corrected


async def _signed_in(client: AsyncClient, secret: str) -> None:
    response = await client.post("/sign-in", data={"api_key": secret})
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert secret not in cookie  # the key itself never travels in the cookie


async def test_sign_in_region_view_time_controls_person_picture_and_sign_out(
    client: AsyncClient, keys: Keys
) -> None:
    assert (await client.get("/regions/16")).headers["location"] == "/sign-in"
    refused = await client.post("/sign-in", data={"api_key": "clk_wrong"})
    assert refused.status_code == 401 and 'role="alert"' in refused.text
    person = await kpps_2024(client, keys)
    estimate = {
        "event_id": "pot-16.71",
        "type": "potential.estimated",
        "region_code": "16.71",
        "segment": "officer",
        "valid_from": "2023-01-01",
        "count": 100,
    }
    await append(client, keys.office, estimate)
    before = await append(
        client, keys.office, filed("W-1", person, incident="2024-02-14", filed_on="2024-02-15")
    )
    await append(client, keys.office, approved("W-1", "2024-02-16"))
    await append(client, keys.office, corrected("w-fix", [f"kpps-{person}"], reason="never served"))

    await _signed_in(client, keys.office)
    home = await client.get("/")
    assert home.headers["location"] == "/regions/16"
    page = await client.get("/regions/16.71", params={"valid_at": "2024-02-14", "segment": "officer"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="covered">0<' in page.text and 'id="ratio">0,00%<' in page.text  # the term was retracted
    then = await client.get(
        "/regions/16.71", params={"valid_at": "2024-02-14", "known_at": f"tx:{before}", "segment": "officer"}
    )
    assert 'id="covered">1<' in then.text and 'id="ratio">1,00%<' in then.text  # as known before it
    assert "<svg" in then.text and "polyline" in then.text

    person_page = await client.get(f"/persons/{person}", params={"valid_at": "2024-02-14"})
    assert person_page.status_code == 200
    assert 'id="status" class="status-not_enrolled"' in person_page.text
    assert f'data-event="kpps-{person}"' in person_page.text  # the retracted term is still a rectangle
    assert 'data-event="W-1-filed"' in person_page.text
    assert "w-fix" in person_page.text

    claims = await client.get("/claims")
    assert "W-1" in claims.text
    reports = await client.get("/reports", params={"name": "payouts", "region": "16"})
    assert reports.status_code == 200 and 'id="manifest-rows">1<' in reports.text
    download = await client.get(
        "/reports/download", params={"name": "payouts", "region": "16", "format": "csv"}
    )
    assert download.status_code == 200 and download.text.startswith("claim_id,nik,region_code")
    assert "W-1," in download.text
    english = await client.get("/language/en", params={"next": "/claims"})
    assert english.headers["location"] == "/claims"
    assert "Sign out" in (await client.get("/claims")).text
    css = await client.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]

    out = await client.post("/sign-out")
    assert out.status_code == 303 and 'ledger_session=""' in out.headers["set-cookie"]
    assert (await client.get("/claims")).headers["location"] == "/sign-in"


async def test_pages_keep_the_key_scope(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await _signed_in(client, keys.other_office)
    assert (await client.get("/")).headers["location"] == "/regions/32"
    assert (await client.get("/regions/16")).status_code == 404
    hidden = await client.get(f"/persons/{person}")
    assert hidden.status_code == 404 and person not in hidden.text.replace(f"/persons/{person}", "")
    bad_date = await client.get("/regions/32", params={"valid_at": "2024-02-30"})
    assert bad_date.status_code == 422 and "valid_at" in bad_date.text
    client.cookies.set("ledger_session", "forged")
    forged = await client.get("/claims")
    assert forged.status_code == 303 and forged.headers["location"] == "/sign-in"


async def test_revoking_the_key_ends_its_web_sessions(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    await _signed_in(client, keys.auditor)
    assert (await client.get("/regions")).status_code == 200
    await revoke_key(session, name="test-auditor")
    assert (await client.get("/regions")).headers["location"] == "/sign-in"


async def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    await _signed_in(client, keys.auditor)
    token = client.cookies["ledger_session"]
    stored = (await session.execute(text("SELECT token_sha256 FROM web_session"))).scalars().all()
    assert secret_hash(secret=token) in stored and secret_hash(secret=keys.auditor) not in stored
    assert (await client.post("/sign-out")).status_code == 303
    client.cookies.set("ledger_session", token)  # a copy kept from before the sign-out
    assert (await client.get("/regions")).headers["location"] == "/sign-in"


async def test_an_expired_session_is_refused_and_forgotten_at_the_next_sign_in(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    await _signed_in(client, keys.auditor)
    token = client.cookies["ledger_session"]
    await session.execute(
        text("UPDATE web_session SET expires_at = :past WHERE token_sha256 = :t"),
        {"past": datetime.now(UTC) - timedelta(seconds=1), "t": secret_hash(secret=token)},
    )
    assert (await client.get("/regions")).headers["location"] == "/sign-in"
    await _signed_in(client, keys.auditor)
    remaining = (await session.execute(text("SELECT token_sha256 FROM web_session"))).scalars().all()
    assert remaining == [secret_hash(secret=client.cookies["ledger_session"])]


async def test_a_committee_uploads_a_roster_with_bad_rows_and_sees_them_listed(uploader: Uploader) -> None:
    client, keys = uploader.client, uploader.keys
    await _signed_in(client, keys.committee)
    good = many_officers(3)
    bad = [[*good[0][:4], "KPPS", "16.71.01", "2024-01-25", "2024-02-23", "2024-01-15"]]
    bad[0][0] = "3.27101E+15"
    content = roster_csv([*good, *bad])
    posted = await client.post(
        "/uploads",
        files={"file": ("kpps.csv", content)},
        data={"dry_run": "true", "policy": "all_or_nothing"},
    )
    assert posted.status_code == 303, posted.text
    await uploader.app.state.upload_runner.wait_idle()
    page = await client.get(posted.headers["location"])
    assert page.status_code == 200
    assert 'id="upload-status" class="status-failed"' in page.text or "status-succeeded" in page.text
    assert 'id="rows-rejected">1<' in page.text
    assert "nik_scientific_notation" in page.text and "<td>5</td>" in page.text  # Excel row 5
    errors = await client.get(posted.headers["location"] + "/errors.csv")
    assert errors.status_code == 200 and "nik_scientific_notation" in errors.text
    listing = await client.get("/uploads")
    assert "kpps.csv" in listing.text
    empty = await client.post("/uploads", files={"file": ("empty.csv", b"")})
    assert empty.status_code == 422 and "empty" in empty.text


async def test_links_keep_a_timestamp_known_at_and_extreme_dates_are_refused(
    client: AsyncClient, keys: Keys
) -> None:
    await _signed_in(client, keys.office)
    instant = "2024-02-14T09:00:00+07:00"
    page = await client.get("/regions/16", params={"valid_at": "2024-02-14", "known_at": instant})
    assert page.status_code == 200
    assert "known_at=2024-02-14T09%3A00%3A00%2B07%3A00" in page.text  # the `+` survives a click
    assert 'type="text"' in page.text and 'value="2024-02-14T09:00:00+07:00"' in page.text  # kept whole
    for valid_at in ("0001-01-01", "9999-12-31"):
        refused = await client.get("/regions/16", params={"valid_at": valid_at})
        assert 400 <= refused.status_code < 500, (valid_at, refused.status_code)
    away = await client.get("/language/en", params={"next": "/\\evil.example"})
    assert away.headers["location"] == "/"


async def test_answers_are_not_cached_and_pages_are_not_framed(client: AsyncClient, keys: Keys) -> None:
    api = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["x-content-type-options"] == "nosniff"
    await _signed_in(client, keys.office)
    page = await client.get("/regions/16")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    style = await client.get("/static/app.css")
    assert "no-store" not in style.headers.get("cache-control", "")


async def test_a_form_posted_from_another_site_is_refused(client: AsyncClient, keys: Keys) -> None:
    foreign = await client.post(
        "/sign-in", data={"api_key": keys.committee}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    fetched = await client.post(
        "/sign-in", data={"api_key": keys.committee}, headers={"sec-fetch-site": "cross-site"}
    )
    assert fetched.status_code == 403
    # behind a proxy that passes another Host, the browser's own word decides
    proxied = await client.post(
        "/sign-in",
        data={"api_key": keys.committee},
        headers={"sec-fetch-site": "same-origin", "origin": "https://ledger.example"},
    )
    assert proxied.status_code == 303
    own = await client.post("/sign-in", data={"api_key": keys.committee}, headers={"origin": "http://test"})
    assert own.status_code == 303


async def test_a_page_with_a_wrong_parameter_answers_with_a_page(client: AsyncClient, keys: Keys) -> None:
    await _signed_in(client, keys.office)
    response = await client.get("/claims", params={"overdue": "maybe"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "overdue" in response.text
    api = await client.get("/v1/claims", params={"overdue": "maybe"}, headers=Keys.header(keys.admin))
    assert api.headers["content-type"] == "application/problem+json"


async def test_the_claims_page_reads_as_known_at_a_moment_and_pages_at_one_state(
    client: AsyncClient, keys: Keys
) -> None:
    """Found in a review: the claims page read only the head, and its next page read the head
    again (a claim filed between the pages moved the list under the reader)."""
    person, other = await kpps_2024(client, keys), await kpps_2024(client, keys)
    first = await append(
        client, keys.office, filed("WP-1", person, incident="2024-02-14", filed_on="2024-02-15")
    )
    await append(client, keys.office, filed("WP-2", other, incident="2024-02-14", filed_on="2024-02-15"))
    await _signed_in(client, keys.office)
    now = await client.get("/claims")
    assert "WP-1" in now.text and "WP-2" in now.text
    then = await client.get("/claims", params={"known_at": f"tx:{first}", "valid_at": "2024-03-01"})
    assert then.status_code == 200 and "WP-1" in then.text and "WP-2" not in then.text
    assert f"(tx {first})" in then.text and 'value="tx:' in then.text  # the controls keep the moment
    # a next page reads the first page's tx and day (a cursor as the API's list of the same
    # claims gives it), and its form keeps that tx
    api = await client.get(
        "/v1/claims", params={"valid_at": "2024-03-01", "limit": "1"}, headers=Keys.header(keys.office)
    )
    cursor, second = api.json()["next_cursor"], api.json()["as_of"]["tx_seq"]
    assert cursor is not None and "~" in cursor, api.text
    third = await kpps_2024(client, keys)
    await append(client, keys.office, filed("WP-3", third, incident="2024-02-13", filed_on="2024-02-15"))
    paged = await client.get("/claims", params={"cursor": cursor})
    assert paged.status_code == 200 and "WP-2" in paged.text and "WP-3" not in paged.text, paged.text
    assert f"(tx {second})" in paged.text and "2024-03-01" in paged.text
    assert f'name="known_at" value="tx:{second}"' in paged.text
    other_list = await client.get("/claims", params={"cursor": cursor, "overdue": "true"})
    assert other_list.status_code == 422 and "cursor" in other_list.text
    forged = await client.get("/claims", params={"cursor": "not a cursor"})
    assert forged.status_code == 422 and "cursor" in forged.text


async def test_a_dry_run_on_the_upload_page_says_what_a_real_upload_would_do(uploader: Uploader) -> None:
    """Found by a web probe: the page told a clerk a dry run of a replacing roster found no errors
    and to upload it again to save it, and that upload retracted the officers the file left out;
    a dry run that would write nothing said the same."""
    client, keys = uploader.client, uploader.keys
    officers = many_officers(3)
    first = await uploader.run(roster_csv(officers))
    assert first["status"] == "succeeded", first
    await _signed_in(client, keys.committee)

    async def dry_run(content: bytes, **fields: str) -> str:
        posted = await client.post(
            "/uploads", files={"file": ("kpps.csv", content)}, data={"dry_run": "true", **fields}
        )
        assert posted.status_code == 303, posted.text
        await uploader.app.state.upload_runner.wait_idle()
        page = await client.get(posted.headers["location"])
        assert page.status_code == 200, page.text
        return page.text

    shorter = await dry_run(roster_csv(officers[:1]), mode="replace_roster")
    assert 'id="retract-warning"' in shorter and 'id="upload-outcome"' in shorter
    assert "<th>Dicabut</th><td>2</td>" in shorter
    assert officers[1][0] in shorter and officers[2][0] in shorter  # the NIKs it would retract
    bad = [*officers[:1], [*officers[1][:6], "2024-02-23", "2024-01-25", "2024-01-15"]]
    nothing = await dry_run(roster_csv(bad), policy="all_or_nothing")
    assert 'id="nothing-hint"' in nothing and 'id="commit-hint"' not in nothing
    assert "<th>Akan disimpan</th><td>tidak</td>" in nothing
