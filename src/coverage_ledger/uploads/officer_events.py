"""The two events a roster row asserts (`person.registered`, `officer.enrolled`) as the staging
table's COPY line: canonical JSON payloads and their digests, built directly as text.

A million rows pass through here, so the canonical JSON (RFC 8785, see canonical.py) is written
out with its keys already in sorted order instead of going through the generic encoder, four
times faster; tests check it equals `canonical_json` and `event_digest` of the same documents.
Only free text (the committee, a name, a phone) needs JSON escaping; every other value was
checked to be digits, dots, dashes or a known role.
"""

import secrets
from json.encoder import encode_basestring as json_string

from coverage_ledger.canonical import sha256_hex
from coverage_ledger.uploads.officer_rows import OfficerRow, RosterContext

STAGED_COLUMNS = (
    "row",
    "nik",
    "role",
    "region_code",
    "valid_from",
    "valid_to",
    "registered_on",
    "registration_id",
    "registration_payload",
    "registration_digest",
    "salt",
    "vault",
    "enrolment_id",
    "enrolment_payload",
    "enrolment_digest",
)
"""Columns of the staging table, in COPY order."""


def _copy_escaped(text: str) -> str:
    # COPY text format: backslash is the escape character; JSON text has no raw tab or newline
    return text.replace("\\", "\\\\") if "\\" in text else text


def vault_json(row: OfficerRow) -> str:
    """The canonical JSON of the personal fields the vault keeps."""
    parts = []
    if row.birth_date is not None:
        parts.append(f'"birth_date":"{row.birth_date.isoformat()}"')
    parts.append(f'"name":{json_string(row.name)}')
    if row.phone:
        parts.append(f'"phone":{json_string(row.phone)}')
    return "{" + ",".join(parts) + "}"


def registration_texts(row: OfficerRow, event_id: str, salt: bytes) -> tuple[str, str, str]:
    """(payload, digest, vault fields) of the row's `person.registered`."""
    fields = vault_json(row)
    personal = sha256_hex(salt.hex() + fields)
    tail = (
        f'"nik":"{row.nik}","personal_digest":"{personal}",'
        f'"region_code":"{row.region_code}","sex":"{row.sex}"'
    )
    payload = "{" + tail + "}"
    document = f'{{"event_id":"{event_id}",{tail},"type":"person.registered"}}'
    return payload, sha256_hex(document), fields


def enrolment_texts(row: OfficerRow, event_id: str, committee_json: str) -> tuple[str, str]:
    """(payload, digest) of the row's `officer.enrolled`."""
    registered = f',"registered_on":"{row.registered_on.isoformat()}"' if row.registered_on else ""
    middle = (
        f'"nik":"{row.nik}","programs":["JKK","JKM"],"region_code":"{row.region_code}"{registered},'
        f'"role":"{row.role}"'
    )
    period = f'"valid_from":"{row.valid_from.isoformat()}","valid_to":"{row.valid_to.isoformat()}"'
    payload = f'{{"committee":{committee_json},{middle},{period}}}'
    head = f'"committee":{committee_json},"event_id":"{event_id}"'
    document = f'{{{head},{middle},"type":"officer.enrolled",{period}}}'
    return payload, sha256_hex(document)


def staging_line(row: OfficerRow, context: RosterContext) -> str:
    """The row's line of COPY text for the staging table (columns of `STAGED_COLUMNS`)."""
    registration_id = f"{context.event_prefix}-{row.row}-p"
    enrolment_id = f"{context.event_prefix}-{row.row}-o"
    salt = secrets.token_bytes(32)
    registration, registration_digest, fields = registration_texts(row, registration_id, salt)
    enrolment, enrolment_digest = enrolment_texts(row, enrolment_id, context.committee_json)
    registered_on = row.registered_on.isoformat() if row.registered_on else "\\N"
    return (
        f"{row.row}\t{row.nik}\t{row.role}\t{row.region_code}\t{row.valid_from.isoformat()}\t"
        f"{row.valid_to.isoformat()}\t{registered_on}\t{registration_id}\t{registration}\t"
        f"{registration_digest}\t\\\\x{salt.hex()}\t{_copy_escaped(fields)}\t{enrolment_id}\t"
        f"{_copy_escaped(enrolment)}\t{enrolment_digest}\n"
    )
