"""Every API operation (read from the app's OpenAPI, so a new endpoint cannot be left out) × every
role × own region / other region / no key / revoked key / expired key. Expected: 401 without a
valid key; for the others the status the policy below states, and a key of another region never
gets the data (403 or 404, or an empty list, without the other region's identifiers)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from coverage_ledger.auth.service import create_key, revoke_key
from coverage_ledger.domain.access import Role
from tests.claims_support import append, filed
from tests.rosters import Uploader, officer_row, roster_csv
from tests.support import Keys, enrolled, nik, registered

ROLES = ("admin", "auditor", "office", "other_office", "committee", "sponsor")


def _expect(**codes: int) -> dict[str, int]:
    """Expected status per role; unnamed roles get `rest` (default 200)."""
    rest = codes.pop("rest", 200)
    return {role: codes.get(role, rest) for role in ROLES}


Context = dict[str, str]
Build = Callable[[Context], tuple[str, dict[str, Any]]]
"""(url, httpx request options) of an operation, from the ids of the region-16 fixtures."""

POLICY: dict[str, tuple[Build, dict[str, int]]] = {
    "POST /v1/events": (
        lambda c: ("/v1/events", {"json": {"events": [registered(c["fresh"], region="16.71.01")]}}),
        _expect(auditor=403, other_office=403),
    ),
    "GET /v1/ledger/verify": (lambda c: ("/v1/ledger/verify", {}), _expect(committee=403, sponsor=403)),
    "GET /v1/ledger/proof": (
        lambda c: ("/v1/ledger/proof", {"params": {"from_hash": c["head_hash"]}}),
        _expect(rest=403, admin=200, auditor=200),
    ),
    "GET /v1/ledger/export": (
        lambda c: ("/v1/ledger/export", {"params": {"from_tx": 2, "to_tx": 3}}),
        _expect(rest=403, admin=200, auditor=200),
    ),
    "GET /v1/ledger/head": (lambda c: ("/v1/ledger/head", {}), _expect()),
    "GET /v1/persons/{nik}/coverage": (
        lambda c: (f"/v1/persons/{c['nik']}/coverage", {}),
        _expect(other_office=404),
    ),
    "POST /v1/coverage/lookup": (
        lambda c: ("/v1/coverage/lookup", {"json": {"niks": [c["nik"]], "valid_at": "2024-02-14"}}),
        _expect(),
    ),
    "GET /v1/persons": (lambda c: ("/v1/persons", {"params": {"valid_at": "2024-02-14"}}), _expect()),
    "GET /v1/persons/{nik}/history": (
        lambda c: (f"/v1/persons/{c['nik']}/history", {}),
        _expect(other_office=404),
    ),
    "POST /v1/uploads": (
        lambda c: (
            "/v1/uploads",
            {
                "files": {"file": ("r.csv", c["roster"].encode())},
                "data": {"dry_run": "true", "committee": "KPU-16.71"},
            },
        ),
        # an office of another region may submit a file; its rows outside that region are then
        # refused row by row (checked below), so nothing of region 16 is written by it
        _expect(rest=202, auditor=403, sponsor=403),
    ),
    "GET /v1/uploads": (lambda c: ("/v1/uploads", {}), _expect()),
    "GET /v1/uploads/{upload_id}": (
        lambda c: (f"/v1/uploads/{c['upload']}", {}),
        _expect(other_office=404, sponsor=404),
    ),
    "GET /v1/uploads/{upload_id}/errors": (
        lambda c: (f"/v1/uploads/{c['upload']}/errors", {}),
        _expect(other_office=404, sponsor=404),
    ),
    "GET /v1/uploads/{upload_id}/invoice": (
        lambda c: (f"/v1/uploads/{c['upload']}/invoice", {}),
        _expect(other_office=404, sponsor=404),
    ),
    "GET /v1/regions/{code}": (lambda c: ("/v1/regions/16.71", {}), _expect(other_office=404)),
    "GET /v1/regions/{code}/coverage": (
        lambda c: ("/v1/regions/16.71/coverage", {}),
        _expect(other_office=404),
    ),
    "GET /v1/regions/{code}/coverage/series": (
        lambda c: ("/v1/regions/16.71/coverage/series", {"params": {"from": "2024-01", "to": "2024-03"}}),
        _expect(other_office=404),
    ),
    # committees and sponsors file no claims and read none (a region's deaths are not theirs)
    "GET /v1/claims/{claim_id}": (
        lambda c: (f"/v1/claims/{c['claim']}", {}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /v1/claims": (lambda c: ("/v1/claims", {}), _expect(committee=403, sponsor=403)),
    "GET /v1/payouts": (
        lambda c: ("/v1/payouts", {"params": {"region": "16"}}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /v1/reports/coverage-diff": (
        lambda c: ("/v1/reports/coverage-diff", {"params": {"region": "16", "known_then": "tx:1"}}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /v1/reports/coverage-diff/manifest": (
        lambda c: ("/v1/reports/coverage-diff/manifest", {"params": {"region": "16", "known_then": "tx:1"}}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /v1/reports/access-log": (
        lambda c: ("/v1/reports/access-log", {}),
        _expect(rest=403, admin=200, auditor=200),
    ),
    "GET /v1/reports/{name}/manifest": (
        lambda c: ("/v1/reports/payouts/manifest", {"params": {"region": "16"}}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /v1/reports/{name}": (
        lambda c: ("/v1/reports/payouts", {"params": {"region": "16", "format": "csv"}}),
        _expect(other_office=404, committee=403, sponsor=403),
    ),
    "GET /healthz": (lambda c: ("/healthz", {}), _expect()),
    "GET /problems/{slug}": (lambda c: ("/problems/validation-error", {}), _expect()),
}
PUBLIC = {"GET /healthz", "GET /problems/{slug}"}
"""Operations that need no key."""


async def _fixtures(up: Uploader) -> Context:
    person = nik()
    await append(
        up.client,
        up.keys.office,
        registered(person),
        enrolled(
            person,
            event_id="m-kpps",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
        ),
        filed("M-1", person, incident="2024-02-14", filed_on="2024-02-15"),
    )
    upload = await up.run(roster_csv([officer_row()]))
    head = (await up.client.get("/v1/ledger/head", headers=Keys.header(up.keys.admin))).json()
    return {
        "nik": person,
        "claim": "M-1",
        "upload": upload["upload_id"],
        "head_hash": head["hash"],
        "roster": roster_csv([officer_row()]).decode(),
    }


async def test_every_operation_for_every_caller(uploader: Uploader) -> None:
    up = uploader
    operations = {
        f"{method.upper()} {path}" for path, ops in up.app.openapi()["paths"].items() for method in ops
    }
    assert operations == set(POLICY), f"operations without a policy: {sorted(operations - set(POLICY))}"
    context = await _fixtures(up)
    async with up.app.state.sessionmaker() as session, session.begin():
        _, revoked = await create_key(session, role=Role.ADMIN, name="matrix-revoked")
        _, expired = await create_key(
            session,
            role=Role.ADMIN,
            name="matrix-expired",
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
    async with up.app.state.sessionmaker() as session, session.begin():
        await revoke_key(session, name="matrix-revoked")
    secrets = {role: getattr(up.keys, role) for role in ROLES}
    unexpected = []
    for operation, (build, expected) in sorted(POLICY.items()):
        method = operation.split()[0]
        for caller, headers in (
            ("no key", {}),
            ("revoked key", Keys.header(revoked)),
            ("expired key", Keys.header(expired)),
            *((role, Keys.header(secrets[role])) for role in ROLES),
        ):
            context["fresh"] = nik()
            url, options = build(context)
            response = await up.client.request(method, url, headers=headers, **options)
            want = expected.get(caller, 200 if operation in PUBLIC else 401)
            if response.status_code != want:
                unexpected.append(
                    f"{operation} as {caller}: {response.status_code}, expected {want}: {response.text[:200]}"
                )
            if caller == "other_office" and response.status_code == 200:
                # a key of region 32 may list things, but never region 16's (what it sent aside)
                sent = str(options)
                for identifier in (context["nik"], context["claim"], context["upload"]):
                    if identifier in response.text and identifier not in sent:
                        unexpected.append(f"{operation} as other_office shows {identifier}")
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json"), operation
        await up.app.state.upload_runner.wait_idle()
    assert not unexpected, "\n".join(unexpected)
    foreign = await up.run(roster_csv([officer_row()]), key=up.keys.other_office, committee="KPU-16.71")
    assert foreign["status"] == "failed" and foreign["rows_accepted"] == 0, foreign
    assert {e["code"] for e in await up.errors(foreign["upload_id"], key=up.keys.other_office)} == {
        "region_out_of_scope"
    }
    lookup = await up.client.post(
        "/v1/coverage/lookup",
        json={"niks": [context["nik"]], "valid_at": "2024-02-14"},
        headers=Keys.header(up.keys.other_office),
    )
    (result,) = lookup.json()["results"]
    assert (result["found"], result["status"], result["programs"], result["evidence"]) == (
        False,
        None,
        [],
        [],
    )
