"""`coverage-ledger import`: a local roster file with the same checks and error file as the API."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from coverage_ledger import cli_import
from coverage_ledger.cli import app
from coverage_ledger.clock import utc_now
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM, Role
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.uploads import importing, repository, running
from coverage_ledger.uploads.importing import import_file
from coverage_ledger.uploads.service import UploadOptions
from coverage_ledger.uploads.upload_queue import UploadRunner
from tests.rosters import many_officers, officer_row, roster_csv
from tests.support import committed_key, nik

runner = CliRunner()


@pytest.fixture
def cli_env(fresh_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    monkeypatch.setenv("LEDGER_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("COLUMNS", "200")  # rich would shorten the table to the runner's 80 columns
    return tmp_path


def test_import_commits_the_valid_rows_and_writes_the_errors_beside_the_file(cli_env: Path) -> None:
    roster = cli_env / "kpps.csv"
    roster.write_bytes(roster_csv([officer_row(nik()), officer_row(nik()), officer_row("3.27E+15")]))
    result = runner.invoke(
        app, ["import", str(roster), "--committee", "KPU-16.71", "--policy", "accept_valid"]
    )
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    errors = (cli_env / "kpps.csv.errors.csv").read_text().splitlines()
    assert errors[0] == "row,column,code,message"
    assert errors[1].startswith("4,nik,nik_scientific_notation,")
    assert roster.exists(), "the user's file is left where it was"
    again = runner.invoke(
        app, ["import", str(roster), "--committee", "KPU-16.71", "--policy", "accept_valid"]
    )
    assert again.exit_code == 0
    assert "already committed" in again.output


def test_an_error_file_that_cannot_be_written_does_not_turn_a_commit_into_a_failure(cli_env: Path) -> None:
    roster = cli_env / "kpps.csv"
    roster.write_bytes(roster_csv([officer_row(nik()), officer_row("3.27E+15")]))
    nowhere = cli_env / "missing-directory" / "errors.csv"
    result = runner.invoke(
        app,
        [
            "import",
            str(roster),
            "--committee",
            "KPU-16.71",
            "--policy",
            "accept_valid",
            "--errors",
            str(nowhere),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "could not write the row errors" in result.output
    assert "/errors has them" in result.output and not nowhere.exists()


def test_a_file_whose_every_row_was_refused_is_checked_again_when_sent_again(cli_env: Path) -> None:
    roster = cli_env / "late.csv"
    roster.write_bytes(roster_csv([officer_row(nik(), role="KETUA")]))
    options = ["import", str(roster), "--committee", "KPU-16.71", "--policy", "accept_valid"]
    first = runner.invoke(app, options)
    # no valid row: nothing to commit is a failure, even under accept_valid
    assert first.exit_code == 1 and "unknown_role" in (cli_env / "late.csv.errors.csv").read_text()
    again = runner.invoke(app, options)
    assert again.exit_code == 1, again.output
    assert "already committed" not in again.output  # it wrote nothing: no twin to return


def test_import_fails_with_status_1_when_a_row_is_bad_under_all_or_nothing(cli_env: Path) -> None:
    roster = cli_env / "bad.csv"
    roster.write_bytes(roster_csv([officer_row(nik()), officer_row(role="KETUA")]))
    errors = cli_env / "report.csv"
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71", "--errors", str(errors)])
    assert result.exit_code == 1, result.output
    assert "rows_rejected" in result.output
    assert "unknown_role" in errors.read_text()


def test_import_refuses_a_bad_option_with_status_2(cli_env: Path) -> None:
    roster = cli_env / "r.csv"
    roster.write_bytes(roster_csv([officer_row(nik())]))
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71", "--policy", "most"])
    assert result.exit_code == 2
    # one line, before any database work or progress bar
    assert result.output.strip().splitlines() == ["error: policy must be one of all_or_nothing, accept_valid"]
    assert not (cli_env / "uploads").exists()


def _importing(
    sessionmaker: Any,
    roster: Path,
    staging: Path,
    on_progress: Callable[[Any], Any],
    *,
    dry_run: bool = False,
    finished: list[Any] | None = None,
) -> asyncio.Task[tuple[Any, bool]]:
    """`coverage-ledger import` of an officer roster, as a task to interrupt."""
    options = UploadOptions(
        "officer_roster", "KPU-16.71", dry_run=dry_run, policy="all_or_nothing", mode="append"
    )
    return asyncio.create_task(
        import_file(
            sessionmaker,
            path=roster,
            options=options,
            principal=SYSTEM,
            clock=utc_now,
            staging_dir=staging,
            on_progress=on_progress,
            finished=finished,
        )
    )


async def test_an_interrupted_import_is_failed_and_never_resumed_by_a_server(
    fresh_database: str, tmp_path: Path
) -> None:
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session:
        head = await ledger_repository.resolve_known_at(session)
    roster = tmp_path / "big.csv"
    roster.write_bytes(roster_csv(many_officers(20_000)))
    seen: list[str] = []
    started = asyncio.Event()

    def progress(record: Any) -> None:
        seen.append(record.status)
        if record.status in {"validating", "committing"}:
            started.set()

    importing = _importing(sessionmaker, roster, tmp_path / "uploads", progress)
    await asyncio.wait_for(started.wait(), timeout=60)
    importing.cancel()  # what Ctrl-C does to `coverage-ledger import`
    with pytest.raises(asyncio.CancelledError):
        await importing
    async with sessionmaker() as session:
        assert await repository.unfinished_uploads(session) == [], "nothing is left for a server to resume"
        rows = await session.execute(text("SELECT status, problem, rows_accepted FROM upload"))
        assert [(r.status, r.problem["code"], r.rows_accepted) for r in rows] == [("failed", "cancelled", 0)]
        assert await ledger_repository.resolve_known_at(session) == head
    assert list((tmp_path / "uploads").glob("*")) == []
    runner_ = UploadRunner(sessionmaker, clock=utc_now, workers=1)
    assert await runner_.resume_unfinished() == 0
    await runner_.stop()
    await engine.dispose()


@pytest.mark.parametrize("dry_run", [False, True])
async def test_an_import_interrupted_once_its_upload_finished_keeps_and_tells_its_outcome(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    # found by a CLI probe: Ctrl-C just after the COMMIT printed "nothing was written"; and by a
    # review: a dry run interrupted so must not read as written either
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    roster = tmp_path / "r.csv"
    roster.write_bytes(roster_csv([officer_row(nik())]))
    real_run = running.run_upload

    async def run_then_linger(*args: Any, **kwargs: Any) -> None:
        await real_run(*args, **kwargs)
        await asyncio.Event().wait()  # the job's last steps after its COMMIT, still running

    monkeypatch.setattr(importing, "run_upload", run_then_linger)

    def progress(record: Any) -> None:
        if record.status == "succeeded":
            # Ctrl-C (or kill), as the bar shows the upload succeeded: the import is cancelled
            raise asyncio.CancelledError

    finished: list[Any] = []
    with pytest.raises(asyncio.CancelledError):
        await _importing(
            sessionmaker, roster, tmp_path / "uploads", progress, dry_run=dry_run, finished=finished
        )
    [record] = finished
    assert record.status == "succeeded" and record.dry_run == dry_run
    assert record.outcome["written"] is not dry_run and (record.tx_seq is None) == dry_run
    async with sessionmaker() as session:
        rows = await session.execute(text("SELECT status, rows_accepted FROM upload"))
        assert [(r.status, r.rows_accepted) for r in rows] == [("succeeded", 1)]
    await engine.dispose()


def test_import_refuses_an_error_file_that_is_the_roster_itself(cli_env: Path) -> None:
    roster = cli_env / "r.csv"
    content = roster_csv([officer_row(nik()), officer_row("3.27E+15")])
    roster.write_bytes(content)
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71", "--errors", str(roster)])
    assert result.exit_code == 2, result.output
    assert "--errors names the roster itself" in result.output
    linked = cli_env / "linked.csv"
    linked.hardlink_to(roster)
    through_a_link = runner.invoke(
        app, ["import", str(roster), "--committee", "KPU-16.71", "--errors", str(linked)]
    )
    assert through_a_link.exit_code == 2, through_a_link.output
    assert roster.read_bytes() == content


async def test_an_import_whose_command_died_is_failed_by_the_next_server_not_committed(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: `kill -TERM` (or -KILL) of `coverage-ledger import` left its upload
    validating, and the next `serve` resumed and committed it behind the operator's back."""
    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    async with sessionmaker() as session:
        head = await ledger_repository.resolve_known_at(session)
    roster = tmp_path / "big.csv"
    roster.write_bytes(roster_csv(many_officers(20_000)))
    started = asyncio.Event()

    async def killed(*args: Any) -> tuple[None, bool]:
        """A killed process runs none of its cleanup (nor learns how its upload was left)."""
        return None, True

    monkeypatch.setattr(importing, "_abandon", killed)
    job = _importing(
        sessionmaker,
        roster,
        tmp_path / "uploads",
        lambda record: started.set() if record.status in {"validating", "committing"} else None,
    )
    await asyncio.wait_for(started.wait(), timeout=60)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    await engine.dispose()  # the process is gone, and its connections with it
    assert list((tmp_path / "uploads").glob("*.import"))

    engine = create_engine_for(fresh_database, pool_size=3)
    sessionmaker = session_factory(engine)
    server = UploadRunner(sessionmaker, clock=utc_now, workers=1, directory=tmp_path / "uploads")
    assert await server.resume_unfinished() == 0
    await server.wait_idle()
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT status, problem, rows_accepted FROM upload"))).all()
        assert [(r.status, r.problem["code"], r.rows_accepted) for r in rows] == [
            ("failed", "interrupted", 0)
        ]
        assert await ledger_repository.resolve_known_at(session) == head
    assert list((tmp_path / "uploads").glob("*")) == []
    await server.stop()
    await engine.dispose()


def test_a_dry_run_that_would_not_commit_exits_with_status_1(cli_env: Path) -> None:
    roster = cli_env / "bad.csv"
    roster.write_bytes(roster_csv([officer_row(nik()), officer_row(role="KETUA")]))
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71", "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "would_commit" in result.output and "would fail" in result.output
    good = cli_env / "good.csv"
    good.write_bytes(roster_csv([officer_row(nik())]))
    rehearsed = runner.invoke(app, ["import", str(good), "--committee", "KPU-16.71", "--dry-run"])
    assert rehearsed.exit_code == 0 and "would fail" not in rehearsed.output, rehearsed.output
    # once imported, a rehearsal writes nothing and would fail on nothing
    assert runner.invoke(app, ["import", str(good), "--committee", "KPU-16.71"]).exit_code == 0
    again = runner.invoke(app, ["import", str(good), "--committee", "KPU-16.71", "--dry-run"])
    assert again.exit_code == 0, again.output


def test_import_as_a_key_applies_its_scope_and_names_it(cli_env: Path, fresh_database: str) -> None:
    asyncio.run(
        committed_key(
            fresh_database,
            name="kpu-palembang",
            role=Role.COMMITTEE,
            region="16.71",
            organisation="KPU-16.71",
        )
    )
    roster = cli_env / "kpps.csv"
    roster.write_bytes(roster_csv([officer_row(nik()), officer_row(nik(), region="16.02.01")]))
    result = runner.invoke(
        app,
        [
            "import",
            str(roster),
            "--committee",
            "KPU-16.71",
            "--policy",
            "accept_valid",
            "--key",
            "kpu-palembang",
        ],
    )
    assert result.exit_code == 0, result.output
    # the key's region holds: the row in Ogan Komering Ilir is refused
    assert (cli_env / "kpps.csv.errors.csv").read_text().splitlines()[1].startswith("3,region_code,")

    async def actor_and_uploader() -> tuple[str, str]:
        engine = create_engine_for(fresh_database, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                actor = (
                    await session.execute(text("SELECT actor FROM ledger_tx ORDER BY tx_seq DESC LIMIT 1"))
                ).scalar()
                uploader = (await session.execute(text("SELECT key_name FROM upload"))).scalar()
                return str(actor), str(uploader)
        finally:
            await engine.dispose()

    assert asyncio.run(actor_and_uploader()) == ("key:kpu-palembang", "kpu-palembang")
    unknown = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71", "--key", "nobody"])
    assert unknown.exit_code == 2 and "no key named 'nobody'" in unknown.output


def test_import_takes_the_committee_of_its_key_and_asks_for_one_without(
    cli_env: Path, fresh_database: str
) -> None:
    # DESIGN.md: "an upload's `committee` defaults to the key's" (the CLI asked for it even so)
    asyncio.run(
        committed_key(
            fresh_database, name="kpu-kota", role=Role.COMMITTEE, region="16.71", organisation="KPU-16.71"
        )
    )
    roster = cli_env / "kpps.csv"
    roster.write_bytes(roster_csv([officer_row(nik())]))
    unnamed = runner.invoke(app, ["import", str(roster)])
    assert unnamed.exit_code == 2, unnamed.output
    assert unnamed.output.strip() == "error: give --committee (or a --key, whose organisation it then is)"
    result = runner.invoke(app, ["import", str(roster), "--key", "kpu-kota"])
    assert result.exit_code == 0, result.output

    async def committee_of_the_upload() -> list[str]:
        engine = create_engine_for(fresh_database, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                rows = await session.execute(text("SELECT committee FROM upload WHERE status = 'succeeded'"))
                return [str(row[0]) for row in rows]
        finally:
            await engine.dispose()

    assert asyncio.run(committee_of_the_upload()) == ["KPU-16.71"]


def test_an_interrupt_once_the_import_has_its_outcome_tells_that_outcome(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # found by a probe: Ctrl-C as the bar closed (the engine closing, the event loop shutting
    # down) still printed "nothing was written" of a roster committed
    real = cli_import.import_with_progress

    async def then_interrupted(**kwargs: Any) -> tuple[Any, bool]:
        await real(**kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr("coverage_ledger.cli.import_with_progress", then_interrupted)
    roster = cli_env / "r.csv"
    roster.write_bytes(roster_csv([officer_row(nik())]))
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71"])
    assert result.exit_code == 0, result.output
    assert "interrupted after the upload had finished" in result.output
    assert "nothing was written" not in result.output and "succeeded" in result.output


def test_import_as_a_key_without_an_organisation_asks_for_the_committee_first(
    cli_env: Path, fresh_database: str
) -> None:
    asyncio.run(committed_key(fresh_database, name="office-16", role=Role.REGIONAL_OFFICE, region="16"))
    roster = cli_env / "r.csv"
    roster.write_bytes(roster_csv([officer_row(nik())]))
    result = runner.invoke(app, ["import", str(roster), "--key", "office-16"])
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        == "error: give --committee: the key office-16 has no organisation to take it from"
    )


def test_import_refuses_an_empty_file_as_the_api_does_recording_nothing(cli_env: Path) -> None:
    roster = cli_env / "empty.csv"
    roster.write_bytes(b"")
    result = runner.invoke(app, ["import", str(roster), "--committee", "KPU-16.71"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: the file is empty (empty_file): nothing to upload"
    assert not (cli_env / "uploads").exists() and not (cli_env / "empty.csv.errors.csv").exists()
