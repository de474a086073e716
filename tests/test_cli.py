"""The command line: keys, verify and rebuild --check against a real database."""

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from coverage_ledger.cli import app
from coverage_ledger.database.engine import libpq_url
from coverage_ledger.ledger.repository import APPEND_LOCK_KEY
from tests.databases import create_database, drop_database

runner = CliRunner()


@pytest.fixture
def cli_env(fresh_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", fresh_database)
    monkeypatch.setenv("COLUMNS", "200")  # rich would shorten the table to the runner's 80 columns
    return fresh_database


def test_keys_create_prints_the_secret_last_and_stores_its_hash(cli_env: str) -> None:
    result = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--role",
            "committee",
            "--name",
            "kpu-palembang",
            "--region",
            "16.71",
            "--org",
            "KPU-16.71",
        ],
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("clk_")
    with psycopg.connect(libpq_url(cli_env)) as conn:
        row = conn.execute(
            "SELECT role, region_prefix, organisation, secret_sha256 FROM api_key "
            "WHERE name = 'kpu-palembang'"
        ).fetchone()
    assert row is not None
    assert row[:3] == ("committee", "16.71", "KPU-16.71")
    assert secret not in row[3]
    listed = runner.invoke(app, ["keys", "list"])
    assert "kpu-palembang" in listed.output and secret not in listed.output
    # into a pipe, one tab-separated line per key (found by a probe: `keys list | grep` met
    # names folded across the lines of an 80-column table)
    assert any(
        line.startswith("kpu-palembang\tcommittee\t16.71\tKPU-16.71\t") for line in listed.output.splitlines()
    )
    assert runner.invoke(app, ["keys", "revoke", "kpu-palembang"]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "kpu-palembang"]).exit_code == 2


def test_keys_create_refuses_bad_input(cli_env: str) -> None:
    no_org = runner.invoke(app, ["keys", "create", "--role", "committee", "--name", "x"])
    assert no_org.exit_code == 2
    assert "organisation" in no_org.output
    bad_region = runner.invoke(
        app, ["keys", "create", "--role", "regional_office", "--name", "y", "--region", "99.99"]
    )
    assert bad_region.exit_code == 2
    bad_role = runner.invoke(app, ["keys", "create", "--role", "king", "--name", "z"])
    assert bad_role.exit_code == 2


def test_verify_and_rebuild_check(cli_env: str) -> None:
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("ok: 4 txs checked")  # genesis: regions, rules, benefits, holidays
    rebuilt = runner.invoke(app, ["rebuild", "--check"])
    assert rebuilt.exit_code == 0, rebuilt.output
    with psycopg.connect(libpq_url(cli_env), autocommit=True) as conn:
        archived = conn.execute("SELECT hash FROM ledger_tx WHERE tx_seq = 2").fetchone()
    assert archived is not None
    extends = runner.invoke(app, ["verify", "--from-hash", archived[0]])
    assert extends.exit_code == 0, extends.output
    assert "the archived head is tx 2: history up to it unchanged, 2 tx(s) appended since" in extends.output
    shouted = runner.invoke(app, ["verify", "--from-hash", archived[0].upper()])
    assert shouted.exit_code == 0 and "the archived head is tx 2" in shouted.output
    foreign = runner.invoke(app, ["verify", "--from-hash", "f" * 64])
    assert foreign.exit_code == 1
    assert "no tx of the verified chain has hash" in foreign.output
    with psycopg.connect(libpq_url(cli_env), autocommit=True) as conn:
        conn.execute("UPDATE region SET name = 'Palembang Lama' WHERE code = '16.71'")
        conn.execute("UPDATE event_knowledge SET tx_to = 1 WHERE event_id LIKE '%:16.71.01'")
    drifted = runner.invoke(app, ["rebuild", "--check"])
    assert drifted.exit_code == 1
    assert "16.71" in drifted.output
    with psycopg.connect(libpq_url(cli_env), autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_guard")
        conn.execute(
            "UPDATE ledger_event SET payload = jsonb_set(payload, '{name}', '\"X\"') "
            "WHERE event_id LIKE '%:16.71'"
        )
    broken = runner.invoke(app, ["verify"])
    assert broken.exit_code == 1
    assert "BROKEN at tx 1" in broken.output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--role", "admin", "--name", ""], "invalid_key_name"),
        (["--role", "admin", "--name", "<b>x</b>"], "invalid_key_name"),
        (["--role", "admin", "--name", "ok-name", "--org", "KPU-16.71"], "organisation_not_allowed"),
        # the export, the proofs and the uploads list would not honour the prefix
        (["--role", "auditor", "--name", "aud16", "--region", "16"], "region_not_allowed"),
        (["--role", "admin", "--name", "adm16", "--region", "16"], "region_not_allowed"),
        (["--role", "admin", "--name", "late", "--expires", "2020-01-01T00:00:00+07:00"], "has passed"),
        (["--role", "admin", "--name", "naive", "--expires", "2030-01-01T00:00:00"], "UTC offset"),
        # found by a date probe: a traceback from the database
        (["--role", "admin", "--name", "far", "--expires", "9999-12-31T23:59:59-14:00"], "after 9999-12-31"),
        (["--role", "admin", "--name", "far", "--expires", "9999-12-31T20:00:00+00:00"], "after 9999-12-31"),
    ],
)
def test_keys_create_refuses_what_it_cannot_keep(cli_env: str, arguments: list[str], expected: str) -> None:
    result = runner.invoke(app, ["keys", "create", *arguments])
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_verify_refuses_a_mistyped_hash_instead_of_reporting_a_break(cli_env: str) -> None:
    result = runner.invoke(app, ["verify", "--from-hash", "ABC"])
    assert result.exit_code == 2, result.output
    assert "BROKEN" not in result.output


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LEDGER_PORT": "70000"}, "LEDGER_PORT: Input should be less than or equal to 65535"),
        ({"LEDGER_PORT": "abc"}, "LEDGER_PORT: Input should be a valid integer"),
        ({"DATABASE_URL": "postgresql://nobody:x@127.0.0.1:1/nodb"}, "the database: connection failed"),
        ({"DATABASE_URL": "not a url"}, "error: DATABASE_URL: not a URL"),
        ({"DATABASE_URL": "mysql://a@b/c"}, "error: DATABASE_URL: mysql:// is not PostgreSQL"),
        ({"LEDGER_DATABASE_NAME": ""}, "error: LEDGER_DATABASE_NAME: '' is not a database name"),
        ({"LEDGER_DATABASE_NAME": 'bad"name'}, "error: LEDGER_DATABASE_NAME: 'bad\"name' is not a database"),
        ({"LEDGER_DATABASE_NAME": "x" * 64}, "error: LEDGER_DATABASE_NAME: 'xxxxxxxxxxxxxxx"),
    ],
)
def test_a_bad_environment_is_one_line_not_a_traceback(environment: dict[str, str], expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "LEDGER_PORT"}} | environment
    result = subprocess.run(
        [sys.executable, "-m", "coverage_ledger", "keys", "list"],
        env=env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result  # (1 is a broken chain's, or a failed upload's)
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_verify_of_a_database_holding_no_ledger_says_so_rather_than_a_break(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: a mistyped LEDGER_DATA_DIR made verify print a traceback and exit 1, the
    code of a broken chain."""
    name = f"empty_{os.getpid()}"
    monkeypatch.setenv("DATABASE_URL", create_database(server_url, name))
    try:
        for command in (["verify"], ["rebuild", "--check"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 2, result.output
            assert "holds no ledger" in result.output and "Traceback" not in result.output
    finally:
        drop_database(server_url, name)


def test_a_reading_command_creates_no_cluster_where_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: `verify` or `keys list` with a mistyped LEDGER_DATA_DIR made a new 46 MB
    cluster there, then said it held no ledger."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "typo"))
    for command in (["verify"], ["rebuild", "--check"], ["keys", "list"], ["keys", "revoke", "x"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "holds no ledger (no cluster there)" in " ".join(result.output.split())  # (wrapped)
    assert not (tmp_path / "typo").exists()


def test_serve_on_a_port_in_use_says_so_in_one_line_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: `serve` on a port in use started the database, logged "ready", then
    failed on uvicorn's bind error."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"cannot serve on 127.0.0.1:{port}" in " ".join(result.output.split())
    assert not (tmp_path / "data").exists()


def test_keys_create_names_a_key_itself_and_refuses_a_blank_organisation(cli_env: str) -> None:
    named = runner.invoke(app, ["keys", "create", "--role", "auditor"])
    assert named.exit_code == 0, named.output
    assert named.output.startswith("created key 'auditor-"), named.output
    for org in ("  ", "K" * 201, " KPU-16.71"):
        refused = runner.invoke(
            app, ["keys", "create", "--role", "committee", "--region", "16", "--org", org, "--name", "c"]
        )
        assert refused.exit_code == 2 and "invalid_organisation" in refused.output, refused.output


def test_a_command_does_not_wait_for_the_append_lock_a_large_upload_holds(cli_env: str) -> None:
    """Found by a fault probe: every command migrated and then took the append lock to see whether
    a projection needed catching up, so `keys revoke` of a leaked key waited behind a roster's
    commit (a million rows hold the lock for a minute or more)."""
    runner.invoke(app, ["keys", "list"])  # migrated and genesis written, as on any ledger in use
    results: list[Result] = []
    with psycopg.connect(libpq_url(cli_env)) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        command = threading.Thread(target=lambda: results.append(runner.invoke(app, ["keys", "list"])))
        command.start()
        command.join(timeout=20)
        finished_while_held = not command.is_alive()
        holder.rollback()  # let a waiting command end either way
    command.join()
    assert finished_while_held, "keys list waited for the append lock"
    assert results[0].exit_code == 0, results[0].output


def test_an_interrupt_while_the_cli_loads_ends_with_130_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from coverage_ledger import console_script

    class InterruptedWhileLoading:
        """Stands for a Ctrl-C arriving while the CLI's modules load (a second or more)."""

        def find_spec(self, name: str, *_: object) -> None:
            if name == "coverage_ledger.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "coverage_ledger.cli")
    monkeypatch.setattr(sys, "meta_path", [InterruptedWhileLoading(), *sys.meta_path])
    with pytest.raises(SystemExit) as stopped:
        console_script.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"
