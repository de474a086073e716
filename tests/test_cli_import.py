"""`coverage-ledger import`: a local roster file with the same checks and error file as the API."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coverage_ledger.cli import app
from tests.rosters import officer_row, roster_csv
from tests.support import nik

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
    assert "policy must be one of" in result.output
    assert os.listdir(cli_env / "uploads") == []
