"""Roster files built in the tests: officer rows as CSV or XLSX, and a client that uploads them
to the live app and waits for the background job."""

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.uploads import repository as upload_repository
from coverage_ledger.uploads.officer_rows import REQUIRED_COLUMNS as OFFICER_COLUMNS
from coverage_ledger.uploads.service import ReceivedFile, UploadOptions, submit_upload
from coverage_ledger.uploads.sponsor_rows import REQUIRED_COLUMNS as SPONSOR_COLUMNS
from tests.support import Keys, nik

HEADER = [*OFFICER_COLUMNS, "registered_on"]


def officer_row(
    person: str | None = None,
    *,
    born: date = date(1990, 1, 5),
    female: bool = True,
    role: str = "KPPS",
    region: str = "16.71.01",
    term: tuple[str, str] = ("2024-01-25", "2024-02-23"),
    name: str = "Siti Aminah",
    registered_on: str = "2024-01-15",
) -> list[str]:
    """One roster row (term_end inclusive, as on the appointment letter)."""
    person = person or nik(born=born, female=female)
    return [
        person,
        name,
        born.isoformat(),
        "P" if female else "L",
        role,
        region,
        term[0],
        term[1],
        registered_on,
    ]


def roster_csv(
    rows: list[list[str]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    crlf: bool = False,
    header: list[str] | None = None,
) -> bytes:
    """A roster as CSV bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def roster_xlsx(path: Path, rows: list[list[Any]], *, formula_at: tuple[int, int] | None = None) -> bytes:
    """A roster as XLSX bytes (cells keep their Python types: a float NIK stays a number)."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Roster")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for column, name in enumerate(HEADER):
        sheet.write_string(0, column, name)
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(index, column, value)
            elif isinstance(value, date):
                sheet.write_datetime(index, column, value, date_format)
            else:
                sheet.write(index, column, value)
    if formula_at is not None:
        sheet.write_formula(formula_at[0], formula_at[1], "=1+1")
    workbook.close()
    return path.read_bytes()


@dataclass
class Uploader:
    """Uploads files to the live app and waits for them."""

    app: FastAPI
    client: AsyncClient
    keys: Keys
    sent: list[str] = field(default_factory=list)

    async def post(
        self, content: bytes, *, key: str | None = None, filename: str = "roster.csv", **fields: str
    ) -> Any:
        """POST /v1/uploads; returns the response."""
        return await self.client.post(
            "/v1/uploads",
            files={"file": (filename, content)},
            data=fields,
            headers=Keys.header(key or self.keys.committee),
        )

    async def run(
        self, content: bytes, *, key: str | None = None, filename: str = "roster.csv", **fields: str
    ) -> dict[str, Any]:
        """Upload, wait for the job, and return the final status."""
        response = await self.post(content, key=key, filename=filename, **fields)
        assert response.status_code in {200, 202}, response.text
        await self.app.state.upload_runner.wait_idle()
        return await self.status(response.json()["upload_id"], key=key)

    async def status(self, upload_id: str, *, key: str | None = None) -> dict[str, Any]:
        """GET /v1/uploads/{id}."""
        response = await self.client.get(
            f"/v1/uploads/{upload_id}", headers=Keys.header(key or self.keys.committee)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def errors(self, upload_id: str, *, key: str | None = None) -> list[dict[str, str]]:
        """The error CSV as dicts."""
        response = await self.client.get(
            f"/v1/uploads/{upload_id}/errors", headers=Keys.header(key or self.keys.committee)
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text)))

    async def head(self) -> int:
        """The ledger's head tx_seq."""
        response = await self.client.get("/v1/ledger/head", headers=Keys.header(self.keys.admin))
        value: int = response.json()["tx_seq"]
        return value


def many_officers(count: int, *, district: str = "167101", region: str = "16.71.01") -> list[list[str]]:
    """`count` valid roster rows with distinct NIKs (birth dates cycle, serials count up)."""
    rows = []
    for index in range(count):
        born = date(1970 + index % 30, 1 + index // 30 % 12, 1 + index // 360 % 28)
        serial = 1 + index // 10080
        person = nik(born=born, female=index % 2 == 0, district=district, serial=serial)
        rows.append(officer_row(person, born=born, female=index % 2 == 0, region=region))
    return rows


SPONSOR_HEADER = [*SPONSOR_COLUMNS, "budget", "paid_on", "registered_on"]


def sponsor_row(
    person: str | None = None,
    *,
    born: date = date(1985, 3, 12),
    female: bool = False,
    months: tuple[str, str] = ("2025-01", "2025-03"),
    amount: str = "50400",
    income: str = "1000000",
    budget: str = "APBD",
    sector: str = "other",
) -> list[str]:
    """One sponsor roster row: JKK+JKM for the months, paid by the sponsor from its budget."""
    person = person or nik(born=born, female=female)
    return [
        person,
        "Budi Santoso",
        born.isoformat(),
        "P" if female else "L",
        "16.71.01",
        "JKK,JKM",
        income,
        sector,
        months[0],
        months[1],
        amount,
        budget,
        "2025-01-10",
        "2025-01-01",
    ]


def sponsor_csv(rows: list[list[str]]) -> bytes:
    """A sponsor roster as CSV bytes (`;`, as regional offices' spreadsheets often save it)."""
    return roster_csv(rows, delimiter=";", header=SPONSOR_HEADER)


async def submit_queued(
    sessionmaker: Any, path: Path, committee: str, policy: str, now: datetime, mode: str = "append"
) -> uuid.UUID:
    """Record a roster file as a queued upload of a committee key in 16.71, without running it."""
    received = ReceivedFile(path, path.name, uuid.uuid4().hex, path.stat().st_size, 0.0)
    principal = Principal(
        key_name=f"key-{committee}", role=Role.COMMITTEE, region_prefix="16.71", organisation=committee
    )
    async with sessionmaker() as session:
        record, _ = await submit_upload(
            session,
            principal=principal,
            options=UploadOptions("officer_roster", committee, dry_run=False, policy=policy, mode=mode),
            received=received,
            now=now,
        )
        await session.commit()
    upload_id: uuid.UUID = record.upload_id
    return upload_id


async def append_as_admin(uploader: Uploader, *events: dict[str, Any]) -> None:
    """Append events as the admin key of the uploader's app; they must be taken."""
    response = await uploader.client.post(
        "/v1/events", json={"events": list(events)}, headers=Keys.header(uploader.keys.admin)
    )
    assert response.status_code == 200, response.text


async def stored_upload(session: AsyncSession, upload_id: uuid.UUID) -> Any:
    """The upload's record, which must exist."""
    record = await upload_repository.get_upload(session, upload_id)
    assert record is not None, upload_id
    return record
