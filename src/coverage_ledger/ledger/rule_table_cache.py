"""The rule table in force at a tx, built once for each state of the rules. A lookup of a BPU
member read and parsed every rule definition for each request (about 2 ms, which also told a key
outside the member's region, by the time of its 404, that the person was a BPU member)."""

from collections import OrderedDict

from coverage_ledger.database import raw
from coverage_ledger.domain.rule_table import RuleTable, rule_table
from coverage_ledger.ledger import projections_repository

CACHED_STATES = 32
"""Rule tables kept: one per state of the rules recently asked for (rules change a few times a year)."""

_tables: OrderedDict[tuple[int, str], RuleTable] = OrderedDict()


async def rule_table_at(session: raw.Db, *, tx_seq: int) -> RuleTable:
    """The rule table in force at tx `tx_seq` (`RuleTableIncomplete` if the ledger has none)."""
    state = await projections_repository.rules_state(session, tx_seq=tx_seq)
    table = _tables.get(state)
    if table is not None:
        _tables.move_to_end(state)
        return table
    table = rule_table(await projections_repository.rule_definitions(session, tx_seq=tx_seq))
    _tables[state] = table
    if len(_tables) > CACHED_STATES:
        _tables.popitem(last=False)
    return table
