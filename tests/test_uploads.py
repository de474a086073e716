"""Officer roster uploads through the API, end to end on the live app (real commits)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coverage_ledger.app import UploadSettings
from tests.live_app import live_app
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import coverage_of, nik


@pytest.fixture
async def uploader(fresh_database: str, tmp_path: Path) -> AsyncIterator[Uploader]:
    settings = UploadSettings(tmp_path / "uploads", max_bytes=5 * 1024 * 1024)
    async with live_app(fresh_database, uploads=settings) as (app, client, keys):
        yield Uploader(app, client, keys)


async def test_a_valid_roster_enrols_every_officer_in_one_tx(uploader: Uploader) -> None:
    people = [nik() for _ in range(3)]
    head = await uploader.head()
    status = await uploader.run(roster_csv([officer_row(p) for p in people]))
    assert status["status"] == "succeeded", status
    assert (status["rows_total"], status["rows_accepted"], status["rows_rejected"]) == (3, 3, 0)
    assert status["tx_seq"] == head + 1
    assert status["outcome"]["registered"] == 3
    covered = await coverage_of(uploader.client, uploader.keys, people[0], "2024-02-23")
    assert covered["status"] == "covered"
    after = await coverage_of(uploader.client, uploader.keys, people[0], "2024-02-24")
    assert after["status"] == "term_ended"
