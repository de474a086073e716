"""Another region's codes, as a key learns of them from region reads and roster row errors: no
more than its 404s tell (DESIGN.md, "Scope"; found by a scope probe: row errors said on which
days another region's code exists, and a replaced code named a successor in another regency)."""

from typing import Any

from httpx import AsyncClient

from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import Keys

OUR_LATER = "16.71.40"
"""A district of the committee key's regency (16.71) defined from 2025."""
THEIR_LATER = "32.73.40"
"""A district of another province's regency defined from 2025."""


def _defined(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"def-{code}",
        "type": "region.defined",
        "code": code,
        "name": f"Kecamatan {code}",
        "decree": "Permendagri 1/2025",
    } | fields


async def _define(client: AsyncClient, keys: Keys, *events: dict[str, Any]) -> None:
    response = await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text


async def test_roster_rows_in_another_regions_codes_are_out_of_scope_whatever_the_codes_are(
    uploader: Uploader,
) -> None:
    await _define(
        uploader.client,
        uploader.keys,
        _defined(OUR_LATER, valid_from="2025-01-01"),
        _defined(THEIR_LATER, valid_from="2025-01-01"),
    )
    rows = [
        officer_row(region=THEIR_LATER),  # exists, not on the term's days
        officer_row(region="32.73.98"),  # exists nowhere
        officer_row(region="32.73.01"),  # exists on the term's days
        officer_row(region="327301"),  # the same without dots
        officer_row(region=OUR_LATER),  # the key's own code: its days are the key's to know
        officer_row(region="167101"),  # the key's own code without dots: the hint stays
    ]
    status = await uploader.run(roster_csv(rows), dry_run="true")
    found = [(int(e["row"]), e["code"], e["message"]) for e in await uploader.errors(status["upload_id"])]
    region_errors = [(row, code) for row, code, _ in found if code.startswith(("region", "unknown_region"))]
    assert region_errors == [
        (2, "region_out_of_scope"),
        (3, "region_out_of_scope"),
        (4, "region_out_of_scope"),
        (5, "region_out_of_scope"),
        (6, "region_not_in_force"),
        (7, "unknown_region"),
    ], found
    messages = {row: message for row, _, message in found}
    assert "2025" not in messages[2] and "2025" in messages[6], messages
    assert "written with dots it is 16.71.01" in messages[7], messages


async def test_a_replaced_code_names_only_the_successors_the_key_may_see(
    client: AsyncClient, keys: Keys
) -> None:
    await _define(
        client,
        keys,
        _defined(
            "16.71.41",
            valid_from="2010-01-01",
            valid_to="2022-01-01",
            successors=["16.71.01", "32.73.02"],
        ),
    )

    async def successors(key: str) -> list[str]:
        response = await client.get(
            "/v1/regions/16.71.41", params={"valid_at": "2024-06-01"}, headers=Keys.header(key)
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "replaced"
        return [s["region_code"] for s in response.json()["successors"]]

    assert await successors(keys.admin) == ["16.71.01", "32.73.02"]
    assert await successors(keys.office) == ["16.71.01"]  # a key of province 16
