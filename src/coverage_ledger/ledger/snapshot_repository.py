"""The one read an append makes before the lock: everything its checks need, from one
statement, so all of it belongs to the same committed state (the snapshot's tx_seq)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database import raw
from coverage_ledger.domain.supersession import EventLinks
from coverage_ledger.ledger.projections_repository import InForceEvent, Subgraph, extend_subgraph
from coverage_ledger.ledger.repository import StoredEvent
from coverage_ledger.ledger.snapshot import RegionDefinition, Snapshot, day_of

# Force lookups are scalar subqueries with LIMIT 1 rather than EXISTS, and the tx of each event is
# a lateral lookup that OFFSET 0 keeps from being flattened: for a few keys, or with statistics
# that lag a fast-growing log, the planner otherwise scans every tx or every open interval. The
# key arrays are sent binary (`%(…)b`, see raw.execute).
_SNAPSHOT = """
WITH head AS (SELECT coalesce(max(tx_seq), 0) AS seq FROM ledger_tx)
SELECT 'head' AS kind, NULL AS key, to_jsonb(seq) AS data FROM head
UNION ALL
SELECT 'stored', e.event_id,
       jsonb_build_object('type', e.type, 'nik', e.nik, 'carried_by', e.carried_by,
                          'payload', e.payload, 'digest', e.digest, 'tx_seq', t.tx_seq,
                          'recorded_at', t.recorded_at, 'position', e.position)
  FROM ledger_event e
 CROSS JOIN LATERAL (SELECT t.tx_seq, t.recorded_at FROM ledger_tx t
                      WHERE t.tx_id = e.tx_id OFFSET 0) t
 WHERE e.event_id = ANY(%(ids)b::text[])
UNION ALL
SELECT 'region', r.code,
       jsonb_build_object('event_id', r.event_id, 'valid_from', r.valid_from, 'valid_to', r.valid_to)
  FROM region r
 WHERE r.code = ANY(%(regions)b::text[]) AND r.tx_to IS NULL
UNION ALL
SELECT 'district', r.code, NULL FROM region r
 WHERE r.level = 3 AND r.code = ANY(%(districts)b::text[]) AND r.tx_to IS NULL
UNION ALL
SELECT 'registered', k.nik,
       CASE WHEN k.nik = ANY(%(officers)b::text[]) THEN
           jsonb_build_object('event_id', k.event_id,
                              'birth_date', (SELECT v.fields->'birth_date' FROM person_vault v
                                              WHERE v.event_id = k.event_id))
       END
  FROM event_knowledge k
 WHERE k.nik = ANY(%(registered)b::text[]) AND k.type = 'person.registered' AND k.tx_to IS NULL
UNION ALL
SELECT 'node', e.event_id,
       jsonb_build_object(
           'type', e.type, 'nik', e.nik, 'carried_by', e.carried_by,
           'in_force', coalesce((SELECT true FROM event_knowledge k
                                    WHERE k.event_id = e.event_id AND k.tx_to IS NULL LIMIT 1), false),
           'carrier_in_force', coalesce((SELECT true FROM event_knowledge k
                                            WHERE k.event_id = e.carried_by AND k.tx_to IS NULL LIMIT 1),
                                          false),
           'corrected_by', ARRAY(SELECT l.correction_event_id FROM correction_link l
                                  WHERE l.target_event_id = e.event_id
                                  ORDER BY l.tx_seq, l.correction_event_id),
           'correctors_in_force', ARRAY(SELECT l.correction_event_id FROM correction_link l
                                         JOIN event_knowledge k ON k.event_id = l.correction_event_id
                                        WHERE l.target_event_id = e.event_id AND k.tx_to IS NULL),
           'supersedes', ARRAY(SELECT l.target_event_id FROM correction_link l
                                WHERE l.correction_event_id = e.event_id ORDER BY l.target_event_id),
           'replacement', (SELECT r.event_id FROM ledger_event r WHERE r.carried_by = e.event_id))
  FROM ledger_event e
 WHERE e.event_id = ANY(%(targets)b::text[])
UNION ALL
SELECT 'officer', k.event_id,
       jsonb_build_object('payload', e.payload, 'tx_seq', t.tx_seq, 'recorded_at', t.recorded_at)
  FROM event_knowledge k
  JOIN ledger_event e ON e.event_id = k.event_id
  JOIN ledger_tx t ON t.tx_id = e.tx_id
 WHERE k.nik = ANY(%(officers)b::text[]) AND k.type = 'officer.enrolled' AND k.tx_to IS NULL
UNION ALL
SELECT 'informal', k.event_id,
       jsonb_build_object('type', k.type, 'payload', e.payload, 'tx_seq', t.tx_seq,
                          'recorded_at', t.recorded_at)
  FROM event_knowledge k
  JOIN ledger_event e ON e.event_id = k.event_id
  JOIN ledger_tx t ON t.tx_id = e.tx_id
 WHERE k.nik = ANY(%(informal)b::text[]) AND k.tx_to IS NULL
   AND k.type IN ('informal.enrolled', 'contribution.paid', 'membership.reactivated')
UNION ALL
SELECT 'rule', k.event_id, e.payload
  FROM event_knowledge k JOIN ledger_event e ON e.event_id = k.event_id
 WHERE %(rules)s AND k.nik IS NULL AND k.type = 'rule.defined' AND k.tx_to IS NULL
"""


SMALL_BATCH_KEYS = 64
"""Up to this many keys the snapshot runs as a prepared statement with its generic plan."""


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def read_snapshot(
    session: AsyncSession,
    *,
    event_ids: Iterable[str],
    targets: Iterable[str],
    region_codes: Iterable[str],
    defined_codes: Iterable[str],
    district_codes: Iterable[str],
    registered_niks: Iterable[str],
    officer_niks: Iterable[str],
    informal_niks: Iterable[str],
) -> Snapshot:
    """One statement: head, named events, regions, districts, registrations, graph, officer terms."""
    target_list = list(set(targets))
    params = {
        "ids": list(set(event_ids) | set(target_list)),
        "targets": target_list,
        "regions": list(set(region_codes) | set(defined_codes)),
        "districts": list(set(district_codes)),
        "registered": list(set(registered_niks)),
        "officers": list(set(officer_niks)),
        "informal": list(set(informal_niks)),
    }
    params_rules = bool(params["informal"])
    small = sum(len(keys) for keys in params.values()) <= SMALL_BATCH_KEYS
    rows = await raw.execute(
        session, _SNAPSHOT, {**params, "rules": params_rules}, prepare=None if small else False
    )
    snapshot = Snapshot(0, {}, set(), set(), set(), Subgraph({}, {}, {}), [], [], [], {})
    graph = snapshot.graph
    frontier: set[str] = set()
    for kind, key, data in rows:
        match kind:
            case "head":
                snapshot.tx_seq = int(data)
            case "stored":
                snapshot.stored[key] = _stored(key, data)
            case "region":
                snapshot.regions_in_force.add(key)
                snapshot.region_definitions.setdefault(key, []).append(
                    RegionDefinition.of(data["event_id"], data)
                )
            case "district":
                snapshot.districts_known.add(key)
            case "registered":
                snapshot.registered_niks.add(key)
                if data is not None:
                    snapshot.registrations[key] = (data["event_id"], day_of(data["birth_date"]))
            case "node":
                node = EventLinks(
                    event_id=key,
                    carried_by=data["carried_by"],
                    corrected_by=list(data["corrected_by"]),
                    supersedes=tuple(data["supersedes"]),
                    replacement=data["replacement"],
                )
                graph.links[key] = node
                graph.kinds[key] = (data["type"], data["nik"])
                graph.force[key] = bool(data["in_force"])
                in_force_correctors = set(data["correctors_in_force"])
                for corrector in node.corrected_by:
                    graph.force.setdefault(corrector, corrector in in_force_correctors)
                if node.carried_by is not None:
                    graph.force.setdefault(node.carried_by, bool(data["carrier_in_force"]))
                frontier.update(node.supersedes)
                if node.replacement is not None:
                    frontier.add(node.replacement)
            case "officer":
                snapshot.officer_terms.append(
                    InForceEvent(
                        key,
                        "officer.enrolled",
                        data["payload"],
                        data["tx_seq"],
                        _instant(data["recorded_at"]),
                    )
                )
            case "informal":
                snapshot.informal_events.append(
                    InForceEvent(
                        key, data["type"], data["payload"], data["tx_seq"], _instant(data["recorded_at"])
                    )
                )
            case "rule":
                snapshot.rules.append(data)
    if frontier - graph.links.keys():
        # a correction of a correction: walk further down (rare, and short)
        await extend_subgraph(session, graph, frontier - graph.links.keys())
    return snapshot


def _stored(event_id: str, data: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        event_id,
        data["type"],
        data["nik"],
        data["carried_by"],
        data["payload"],
        data["digest"],
        data["tx_seq"],
        _instant(data["recorded_at"]),
        data["position"],
    )
