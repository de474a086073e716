"""Statements run through `database/raw.py`: the plan each kind gets."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.database import raw

MODE = "SELECT current_setting('plan_cache_mode') AS mode, %(keys)b::text[] AS keys"


async def test_an_unprepared_statement_is_planned_for_its_arguments(session: AsyncSession) -> None:
    """The sessions force generic plans (engine.py), which PostgreSQL applies to unprepared
    statements too: a statement that may get thousands of keys was planned for ten."""
    keys = [f"k{i}" for i in range(1_000)]
    unprepared = (await raw.execute(session, MODE, {"keys": keys}, prepare=False)).one()
    assert (unprepared.mode, len(unprepared.keys)) == ("force_custom_plan", 1_000)
    after = (await raw.execute(session, MODE, {"keys": keys[:3]})).one()
    assert after.mode == "force_generic_plan"
    counted = await raw.execute_count(session, "SELECT 1 FROM ledger_tx WHERE false", prepare=False)
    assert counted == 0
    assert (await raw.execute(session, MODE, {"keys": []})).one().mode == "force_generic_plan"


async def test_a_transactions_first_statement_is_planned_for_its_arguments(engine: AsyncEngine) -> None:
    """psycopg begins a transaction with its first statement: the append path's snapshot read,
    always first, ran on the generic plan while the guard waited for a begun transaction."""
    async with AsyncSession(engine) as fresh, fresh.begin():
        first = (await raw.execute(fresh, MODE, {"keys": ["a", "b"]}, prepare=False)).one()
        assert first.mode == "force_custom_plan"
        assert (await raw.execute(fresh, MODE, {"keys": []})).one().mode == "force_generic_plan"
