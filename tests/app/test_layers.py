"""The app's core stays below the UI (DESIGN §2, §6): no Flask, no webview, no license server in it."""

import ast
import pathlib

APP = pathlib.Path(__file__).resolve().parents[2] / "app"
CORE = ["paths.py", "clock.py", "store.py", "models.py", "settings.py", "replica.py", "outbox.py", "projection.py",
        "checks.py", "sync.py", "transport.py", "syncer.py",
        "errors.py", "views.py", "backup.py", "migrations/__init__.py", "migrations/env.py",
        *(f"services/{path.name}" for path in sorted((APP / "services").glob("*.py")))]


def test_only_the_clock_module_reads_the_wall_clock():
    for name in CORE:
        if name != "clock.py":
            source = (APP / name).read_text()
            assert "time.time(" not in source and "datetime.now(" not in source, name


def test_no_app_test_sleeps_to_wait_for_time():
    """Time is injected (DESIGN §7): a test moves a clock or waits on an event, never on a timer."""
    tests = pathlib.Path(__file__).resolve().parent
    for path in sorted(tests.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                assert name != "sleep", f"{path.name}:{node.lineno} sleeps"


#: The use cases (DESIGN §6): they work through the repositories a unit of work hands out, never with SQL.
USE_CASES = [*(f"services/{path.name}" for path in sorted((APP / "services").glob("*.py"))), "sync.py", "syncer.py",
             "transport.py"]


def _sql_in(source: str) -> list[str]:
    """What in source reaches past the repositories: the ORM's session, a query builder, the tables."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("session", "_session"):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ("session", "Session", "select", "text"):
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            if (module.startswith("sqlalchemy") and module != "sqlalchemy.exc") or module.endswith("models"):
                found.append(f"line {node.lineno}: from {module} import ...")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
    return found


def test_the_use_cases_run_no_sql_they_ask_the_repositories_of_their_unit_of_work():
    assert len(USE_CASES) >= 7
    for name in USE_CASES:
        assert _sql_in((APP / name).read_text()) == [], name


def test_the_sql_check_finds_a_query_written_in_a_use_case():
    """The check above can fail: a use case that queries the tables itself is caught."""
    leaky = ("from sqlalchemy import select\nfrom ..models import AccountReplica\n\n"
             "def names(uow):\n    return uow.session.scalars(select(AccountReplica.name))\n")
    assert len(_sql_in(leaky)) == 4
