"""Invisible characters in the texts pages and reports print: a right-to-left override made a
committee read as another's and reversed the dates after it (found by a web probe), so committees,
reasons, rule sources and organisations take visible text only (reasons may keep line breaks),
and a file's name is shown with such characters replaced."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import create_key
from coverage_ledger.domain.access import Role
from coverage_ledger.errors import InvalidInput
from tests.claims_support import post
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import corrected, enrolled, nik, registered

OVERRIDE = "\u202e"


async def test_a_committee_or_a_reason_with_an_override_is_refused_naming_the_field(
    uploader: Uploader,
) -> None:
    client, keys = uploader.client, uploader.keys
    person = nik()
    term = enrolled(person, event_id=f"t-{person}", valid_from="2024-01-25", valid_to="2024-02-24")
    disguised = await post(
        client, keys.admin, registered(person), {**term, "committee": f"KPU{OVERRIDE}17.61"}
    )
    assert disguised.status_code == 422, disguised.text
    [error] = disguised.json()["errors"]
    assert (error["code"], error["field"]) == ("hidden_character", "events[1].committee"), error
    assert "U+202E" in error["message"]
    assert (await post(client, keys.admin, registered(person), term)).status_code == 200
    reason = await post(client, keys.admin, corrected("fix-1", [f"t-{person}"], reason=f"typo {OVERRIDE}ok"))
    assert reason.status_code == 422 and reason.json()["errors"][0]["field"] == "events[0].reason"
    laid_out = await post(
        client, keys.admin, corrected("fix-2", [f"t-{person}"], reason="wrong term\nsee letter 12")
    )
    assert laid_out.status_code == 200, laid_out.text


async def test_an_uploads_committee_is_visible_text_and_its_file_name_is_shown_safely(
    uploader: Uploader,
) -> None:
    content = roster_csv([officer_row()])
    refused = await uploader.post(content, key=uploader.keys.office, committee=f"KPU{OVERRIDE}17.61")
    assert refused.status_code == 422, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [("hidden_character", "committee")]
    status = await uploader.run(content, filename=f"daftar{OVERRIDE}vsc.csv", dry_run="true")
    assert status["filename"] == "daftar\ufffdvsc.csv", status


async def test_an_organisation_with_an_override_is_no_key(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as refused:
        await create_key(
            session,
            role=Role.COMMITTEE,
            name="disguised",
            region_prefix="16.71",
            organisation=f"KPU{OVERRIDE}17.61",
        )
    assert [e.field for e in refused.value.errors] == ["org"]
