"""Settings read from the environment (see README, "Configuration")."""

import os
import re
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_DATABASE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,63}")


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("coverage-ledger") / "postgres"


def _default_upload_dir() -> Path:
    return platformdirs.user_data_path("coverage-ledger") / "uploads"


class Settings(BaseSettings):
    """Runtime configuration; every field can be set by the environment variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of a real server. Unset: the embedded cluster in LEDGER_DATA_DIR.",
    )
    ledger_data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory of the embedded PostgreSQL cluster (created on first start).",
    )
    ledger_port: int = Field(
        default=8000, ge=1, le=65535, description="HTTP port of `coverage-ledger serve`."
    )
    ledger_host: str = Field(default="127.0.0.1", description="Interface `serve` binds to.")
    ledger_database_name: str = Field(
        default="coverage_ledger", description="Database created inside the embedded cluster."
    )
    ledger_pool_size: int = Field(
        default=10,
        ge=1,
        description="Connections kept open per process, for the API's sessions and again for the lean reads.",
    )
    ledger_opentelemetry: bool = Field(
        default=False,
        description="Let FastAPI's built-in OpenTelemetry instrumentation trace requests with the "
        "globally configured providers (off: no per-request check for them).",
    )
    ledger_lean_reads: bool = Field(
        default=True,
        description="Serve single coverage lookups without FastAPI's per-request machinery (the same "
        "answer, some two and a half times the throughput); false sends them through the FastAPI route.",
    )
    ledger_upload_dir: Path = Field(
        default_factory=_default_upload_dir,
        description="Where uploaded roster files wait on disk until processed (removed afterwards).",
    )
    ledger_upload_max_bytes: int = Field(
        default=1 << 30, ge=1, description="Largest roster file accepted, in bytes (413 beyond it)."
    )
    ledger_request_max_bytes: int = Field(
        default=32 << 20,
        ge=1,
        description="Largest request body other than an uploaded file, in bytes (413 beyond it): "
        "a batch of 10,000 events fits in a few megabytes.",
    )
    ledger_upload_workers: int = Field(default=1, ge=1, description="Uploads processed at the same time.")
    ledger_append_wait_seconds: float = Field(
        default=30,
        gt=0,
        le=2_147_483,  # PostgreSQL's largest lock_timeout
        allow_inf_nan=False,
        description="How long `POST /v1/events` waits for a lock (the append lock while another tx is "
        "numbered: a large roster holds it for up to a minute a million rows) before answering 503 "
        "`ledger-busy` with Retry-After; nothing is written. Uploads always wait.",
    )

    @field_validator("database_url")
    @classmethod
    def _a_postgresql_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a URL; expected postgresql://user:password@host:port/database") from None
        backend, _, driver = url.drivername.partition("+")
        if backend not in ("postgresql", "postgres"):
            raise ValueError(f"{url.drivername}:// is not PostgreSQL; expected postgresql://…")
        if driver not in ("", "psycopg", "psycopg2"):  # psycopg (3) is used for either name
            raise ValueError(f"the driver {driver} is not one this service uses; write postgresql://…")
        return value

    @field_validator("ledger_database_name")
    @classmethod
    def _a_database_name(cls, value: str, info: ValidationInfo) -> str:
        # found by a probe: an empty name failed with a traceback from CREATE DATABASE "", and a
        # quote or space made a database no one would type again (PostgreSQL cuts a name past
        # 63 bytes); with DATABASE_URL set no database is created by this name
        if not info.data.get("database_url") and not _DATABASE_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a database name: letters, digits, _, - and . only, at most 63"
            )
        return value

    @field_validator("ledger_data_dir", "ledger_upload_dir")
    @classmethod
    def _a_directory_that_can_be(cls, value: Path, info: ValidationInfo) -> Path:
        # checked here, without creating anything, so that a mistyped path is one line at start
        # and not a traceback when the cluster starts or the first upload arrives
        if info.field_name == "ledger_data_dir" and info.data.get("database_url"):
            return value  # no embedded cluster is started: where it would live does not matter
        path = value.expanduser()
        existing = path
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"{path}: {existing} is a file, not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"{path}: {existing} is not writable")
        return value


class SettingsError(ValueError):
    """An environment variable that does not give a valid setting; one line per variable."""


def get_settings() -> Settings:
    """Settings as the environment gives them now; SettingsError naming the variables that are wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"{str(error['loc'][0]).upper() if error['loc'] else 'a setting'}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        ]
        raise SettingsError("\n".join(lines)) from None
