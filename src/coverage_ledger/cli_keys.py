"""`coverage-ledger keys`: create, list and revoke API keys (only their sha256 is stored)."""

import secrets
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coverage_ledger.auth import service as keys_service
from coverage_ledger.cli_support import run_work
from coverage_ledger.clock import utc_now
from coverage_ledger.domain.access import Role
from coverage_ledger.domain.timeframes import JAKARTA

keys_app = typer.Typer(help="API keys (only their sha256 is stored).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, auditor, regional_office, committee or sponsor.")],
    name: Annotated[
        str | None,
        typer.Option(
            help="Unique name, shown in tx headers as key:<name> (default: the role and a random suffix)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region code the key is limited to (none = national; admin and auditor keys are national)."
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(help="Committee or sponsor organisation (required for those roles)."),
    ] = None,
    expires: Annotated[datetime | None, typer.Option(help="Expiry instant (ISO 8601 with offset).")] = None,
) -> None:
    """Create an API key. The secret is printed once, as the last line; only its hash is stored."""
    if expires is not None and expires.tzinfo is None:
        raise typer.BadParameter(
            "give the expiry a UTC offset, e.g. 2027-01-01T00:00:00+07:00", param_hint="--expires"
        )
    if expires is not None and not _representable_in_utc(expires):
        # found by a date probe: past 9999-12-31 UTC the database cannot hold it (a traceback)
        raise typer.BadParameter("the expiry lies after 9999-12-31 UTC", param_hint="--expires")
    if expires is not None and expires <= utc_now():
        raise typer.BadParameter("the expiry has passed already", param_hint="--expires")
    key_name = name if name is not None else f"{role.value}-{secrets.token_hex(4)}"
    record, secret = run_work(
        lambda s: keys_service.create_key(
            s, role=role, name=key_name, region_prefix=region, organisation=org, expires_at=expires
        )
    )
    typer.echo(
        f"created key {record.name!r}: role={record.role} region={record.region_prefix or 'national'}"
        f" org={record.organisation or '-'}"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets); into a pipe, as tab-separated lines without a header."""
    records = run_work(keys_service.list_keys, reads=True)
    rows = [
        (
            r.name,
            r.role,
            r.region_prefix or "national",
            r.organisation or "-",
            r.created_at.isoformat(timespec="seconds"),
            r.expires_at.isoformat(timespec="seconds") if r.expires_at else "-",
            r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "-",
        )
        for r in records
    ]
    output = Console()
    if not output.is_terminal:
        # `keys list | grep …` finds a whole name on one line, however long
        for row in rows:
            typer.echo("\t".join(row))
        return
    table = Table("name", "role", "region", "organisation", "created", "expires", "revoked")
    for column in table.columns:
        column.overflow = "fold"  # `keys revoke NAME` needs the whole name, even on a narrow terminal
    for row in rows:
        table.add_row(*row)
    output.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="Name of the key to revoke.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    run_work(lambda s: keys_service.revoke_key(s, name=name), reads=True)
    typer.echo(f"revoked {name}")


def _representable_in_utc(instant: datetime) -> bool:
    """Whether the instant has a date this side of year 10,000 in UTC and in Asia/Jakarta, the
    zone the database answers in (found by a review: 9999-12-31T20:00Z was still a traceback)."""
    try:
        instant.astimezone(UTC)
        instant.astimezone(JAKARTA)
    except OverflowError:
        return False
    return True
