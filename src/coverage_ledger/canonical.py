"""Canonical JSON (RFC 8785) and the digests of the hash chain.

The ledger's documents hold only strings, integers, booleans, null, lists and objects with ASCII
keys. For that subset RFC 8785 equals `json.dumps` with sorted keys, no whitespace and no ASCII
escaping, which is why the C encoder can be used on the append path; floats are refused so that
number formatting can never differ (tests check the equality against the `rfc8785` package).
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class NotCanonicalizable(ValueError):
    """A value outside the subset the ledger stores (a float, a non-string key...)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise NotCanonicalizable(f"{path}: floats are not stored in the ledger; use integers")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonicalizable(f"{path}: object keys must be ASCII strings")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise NotCanonicalizable(f"{path}: unsupported type {type(value).__name__}")


def canonical_json(value: Any, *, checked: bool = True) -> str:
    """The RFC 8785 text of `value` (checked for the supported subset unless told it is)."""
    if checked:
        _check(value, "$")
    return _encoder.encode(value)


def sha256_hex(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_document(event_id: str, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The document an event digest is taken over: its id, its type and its payload fields."""
    return {"event_id": event_id, "type": event_type, **payload}


def event_digest(event_id: str, event_type: str, payload: Mapping[str, Any], *, checked: bool = True) -> str:
    """sha256 of the event's canonical JSON."""
    return sha256_hex(canonical_json(event_document(event_id, event_type, payload), checked=checked))


GIVEN_HASH_TEXT = r"^[0-9a-fA-F]{64}$"
"""A tx hash as a person may give it back: 64 hex digits in either case (the ledger writes lower
case; lower it before comparing)."""

GENESIS_PREV_HASH = "0" * 64
"""`prev_hash` of the very first tx."""


def tx_hash(
    *,
    tx_seq: int,
    recorded_at: str,
    prev_hash: str,
    actor: str,
    source: str,
    backfill: bool,
    event_digests: Sequence[str],
) -> str:
    """sha256 of the canonical JSON of a tx header (DESIGN.md, "Hash chain")."""
    header = {
        "tx_seq": tx_seq,
        "recorded_at": recorded_at,
        "prev_hash": prev_hash,
        "actor": actor,
        "source": source,
        "backfill": backfill,
        "event_digests": list(event_digests),
    }
    return sha256_hex(canonical_json(header, checked=False))
