"""Settings from the environment: a wrong value is one line naming its variable, before anything
is started (found by a probe: tracebacks for a malformed DATABASE_URL and for directories that
cannot be made)."""

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from coverage_ledger.database.engine import libpq_url
from coverage_ledger.settings import SettingsError, get_settings


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url", "DATABASE_URL: not a URL; expected postgresql://user:password@host:port/database"),
        ("mysql://a@b/c", "DATABASE_URL: mysql:// is not PostgreSQL; expected postgresql://…"),
        ("postgresql+asyncpg://u@h/d", "DATABASE_URL: the driver asyncpg is not one this service uses"),
    ],
)
def test_a_database_url_that_is_not_postgresql_is_named(
    monkeypatch: pytest.MonkeyPatch, url: str, said: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert str(refused.value).startswith(said)


@pytest.mark.parametrize(
    "url", ["postgresql://u:p@h:5432/d", "postgres://u@h/d", "postgresql+psycopg://u@h/d"]
)
def test_postgresql_urls_are_taken(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert get_settings().database_url == url


@pytest.mark.parametrize("variable", ["LEDGER_DATA_DIR", "LEDGER_UPLOAD_DIR"])
def test_a_directory_under_a_file_is_named_without_creating_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    afile = tmp_path / "afile"
    afile.write_text("")
    for value in (afile, afile / "sub"):
        monkeypatch.setenv(variable, str(value))
        with pytest.raises(SettingsError) as refused:
            get_settings()
        assert str(refused.value) == f"{variable}: {value}: {afile} is a file, not a directory"
    monkeypatch.setenv(variable, str(tmp_path / "new" / "dir"))
    get_settings()
    assert not (tmp_path / "new").exists()
    if variable == "LEDGER_DATA_DIR":  # unused with a real server: not judged (found by a probe)
        monkeypatch.setenv(variable, str(afile / "sub"))
        monkeypatch.setenv("DATABASE_URL", "postgresql://ledger@db.example/coverage_ledger")
        assert get_settings().ledger_data_dir == afile / "sub"


def test_a_password_with_spaces_or_signs_reaches_libpq_whole() -> None:
    """Found by a backup probe: a password with a space (`pa%20ss` in DATABASE_URL) came back from
    SQLAlchemy with the space as is, which libpq refuses: every command failed with a traceback."""
    for url, expected in (
        ("postgresql://office:pa%20ss@127.0.0.1:5999/ledger", {"password": "pa ss", "port": "5999"}),
        ("postgresql+psycopg://u:p%40s%3As@[::1]/db?sslmode=require", {"password": "p@s:s", "host": "::1"}),
        ("postgres://postgres:@/r3?host=/run/pg%20sockets", {"host": "/run/pg sockets", "dbname": "r3"}),
    ):
        parts = conninfo_to_dict(libpq_url(url))
        assert {key: parts.get(key) for key in expected} == expected, url
