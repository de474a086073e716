"""The layering the code promises (docs/architecture.md), read from the source's imports: the
domain core is plain Python, HTTP handlers reach the database only through services, and no
service commits (the request, or the job, owns the transaction)."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "coverage_ledger"


def _modules(*globs: str) -> list[Path]:
    return sorted({path for pattern in globs for path in SOURCE.glob(pattern)})


def _imported(path: Path) -> Iterator[str]:
    """Every module name the file imports, `from a import b` giving both a and a.b."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _name(path: Path) -> str:
    return str(path.relative_to(SOURCE))


DOMAIN = _modules("domain/*.py")
HANDLERS = _modules("*/endpoints.py", "coverage/lean.py", "web/*.py", "http/*.py")
REPOSITORIES = _modules("*/*repository.py")
SERVICES = _modules("*/service.py")


def test_the_globs_find_the_layers() -> None:
    """A renamed folder would otherwise leave the checks below with nothing to check."""
    assert len(DOMAIN) >= 20 and len(HANDLERS) >= 15 and len(SERVICES) >= 7 and len(REPOSITORIES) >= 15


@pytest.mark.parametrize("path", DOMAIN, ids=_name)
def test_the_domain_core_imports_no_framework_and_no_database(path: Path) -> None:
    allowed_from_project = {"coverage_ledger.domain", "coverage_ledger.errors"}
    offending = [
        name
        for name in _imported(path)
        if name.split(".")[0] in {"fastapi", "starlette", "sqlalchemy", "psycopg", "pydantic"}
        or (
            name.startswith("coverage_ledger")
            and not any(name == a or name.startswith(a + ".") for a in allowed_from_project)
        )
    ]
    assert offending == []


@pytest.mark.parametrize("path", HANDLERS, ids=_name)
def test_http_handlers_reach_the_database_only_through_services(path: Path) -> None:
    offending = [
        name
        for name in _imported(path)
        if name.startswith("coverage_ledger")
        and (name.split(".")[-1].endswith("repository") or name == "coverage_ledger.database.raw")
    ]
    assert offending == []


def _commits_and_rollbacks(path: Path) -> list[str]:
    """The functions of a module that call `.commit()` or `.rollback()` on anything."""
    return [
        function.name
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
    ]


@pytest.mark.parametrize("path", SERVICES, ids=_name)
def test_no_service_commits_or_rolls_back(path: Path) -> None:
    assert _commits_and_rollbacks(path) == []


# the one read that commits: its mark must survive a refusal the read may still end in
REPOSITORY_COMMITS = {"ledger/asof_repository.py": ["mark_answered"]}


@pytest.mark.parametrize("path", REPOSITORIES, ids=_name)
def test_no_repository_commits_or_rolls_back_but_the_answered_mark(path: Path) -> None:
    assert _commits_and_rollbacks(path) == REPOSITORY_COMMITS.get(_name(path), [])


def _public_functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")
    ]


@pytest.mark.parametrize("path", SERVICES, ids=_name)
def test_service_functions_take_keywords_after_the_session(path: Path) -> None:
    positional = {
        function.name: [a.arg for a in function.args.posonlyargs + function.args.args if a.arg != "session"]
        for function in _public_functions(path)
    }
    assert {name: args for name, args in positional.items() if args} == {}


@pytest.mark.parametrize("path", SERVICES, ids=_name)
def test_service_functions_say_what_they_do_in_one_line(path: Path) -> None:
    docstrings = {function.name: ast.get_docstring(function) or "" for function in _public_functions(path)}
    assert {name: doc for name, doc in docstrings.items() if not doc or "\n" in doc.strip()} == {}
